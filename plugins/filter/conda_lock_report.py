# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: conda_lock_report
short_description: Each fleet lock and which hosts have its builds
version_added: 0.3.0
author:
  - condafleet maintainers (@condafleet)
description:
  - Fleet locks (the C(condafleet.conda.conda) role's C(conda_env_solve=fleet)) keep one solution per environment and
    class of host on the controller. Given every host's M(condafleet.conda.conda_probe) environment answers (the probe
    given the controller's locks), returns one row per lock with the hosts whose environment has exactly the lock's
    builds, those whose builds differ, and those that need a lock the controller does not have yet.
  - C(playbooks/report.yml) prints it.
  - The filter runs on the controller and is a pure function of its input.
positional: _input
options:
  _input:
    description: The probe's environment answers by host name.
    type: dict
    required: true
  locks:
    description: The lock files the controller has (file names); a lock no host needs is listed too.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Which hosts differ from their lock
  ansible.builtin.debug:
    msg: "{{ answers | condafleet.conda.conda_lock_report(locks=lock_files) }}"
  vars:
    # each host registered its conda_probe result (given the locks) as "probe"
    answers: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, ['probe', 'environments']))) }}"
    lock_files: "{{ query('ansible.builtin.fileglob', playbook_dir ~ '/conda-locks/*.lock') | map('basename') | list }}"
  run_once: true
  # [{lock: vision.linux-64.5f0c2a9d41b7e3c8.lock, identical: [gpu01, gpu02], differ: [gpu03], missing: []}]
"""

RETURN = r"""
_value:
  description: One row per lock file, sorted by name.
  type: list
  elements: dict
  contains:
    lock:
      description: The lock's file name.
      type: str
    identical:
      description: Hosts whose environment has exactly the lock's builds.
      type: list
      elements: str
    differ:
      description: Hosts of the class whose builds differ from the lock.
      type: list
      elements: str
    missing:
      description: Hosts of the class that need this lock, which the controller does not have yet.
      type: list
      elements: str
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.condafleet.conda.plugins.module_utils._fleet_plan import lock_report


def conda_lock_report(answers, locks=None):
    """The ``condafleet.conda.conda_lock_report`` filter."""
    if not isinstance(answers, dict):
        raise AnsibleFilterError("conda_lock_report: expected a dict of probe answers by host, got %r" % (answers,))
    return lock_report(dict((to_text(name), value) for name, value in answers.items()),
                       [to_text(name) for name in locks or []])


class FilterModule(object):
    """condafleet.conda filters: conda_lock_report."""

    def filters(self):
        return {"conda_lock_report": conda_lock_report}
