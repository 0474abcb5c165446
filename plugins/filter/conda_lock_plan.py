# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: conda_lock_plan
short_description: Which host of a class solves an environment for the fleet, and which install from its lock
version_added: 0.3.0
author:
  - condafleet maintainers (@condafleet)
description:
  - Fleet locks (the C(condafleet.conda.conda) role's C(conda_env_solve=fleet)) solve an environment once per class of
    host and keep the result on the controller as an C(@EXPLICIT) lock. M(condafleet.conda.conda_probe) names each
    environment's lock file (RV(condafleet.conda.conda_probe#module:environments[].lock)) and says whether the
    controller already had it.
  - Given every host's probe answers, returns for one host, per environment in its order, what it does.
    V(host), solved on the host, as without fleet locks (not lockable). V(locked), installed from the lock the
    controller had. V(solve), the first host of the play that needs a lock nobody had solves and writes it.
    V(follow), the other hosts of that class install from the lock the solver writes.
  - In check mode nothing is written, so a lock nobody had yet is predicted on each host (V(host)).
  - The filter runs on the controller and is a pure function of its input.
positional: _input, host
options:
  _input:
    description:
      - The probe's environment answers of every host of the play, by host name, in play order.
    type: dict
    required: true
  host:
    description: The host to plan for.
    type: str
    required: true
  check_mode:
    description: Whether the run is in check mode.
    type: bool
    default: false
  solvers:
    description:
      - Return instead, by lock file name, the host that solves each lock no host had (the first of the play that
        needs it), for the hosts that follow it to know whom they wait for.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Plan each environment of this host
  ansible.builtin.set_fact:
    env_plan: >-
      {{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, 'probe')
                                        | map(attribute='environments')))
         | condafleet.conda.conda_lock_plan(inventory_hostname, check_mode=ansible_check_mode) }}
  # host1 (first of its class): [solve, host]; host2: [follow, host]
"""

RETURN = r"""
_value:
  description:
    - One of V(host), V(locked), V(solve) and V(follow) per environment of the host, in order.
    - With O(solvers), a dict of host names by lock file name.
  type: raw
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.condafleet.conda.plugins.module_utils._fleet_plan import lock_plan, lock_solvers


def conda_lock_plan(answers, host, check_mode=False, solvers=False):
    """The ``condafleet.conda.conda_lock_plan`` filter."""
    if not isinstance(answers, dict):
        raise AnsibleFilterError("conda_lock_plan: expected a dict of probe answers by host, got %r" % (answers,))
    answers = dict((to_text(name), value) for name, value in answers.items())
    if solvers:
        return lock_solvers(answers)
    return lock_plan(to_text(host), answers, check_mode=bool(check_mode))


class FilterModule(object):
    """condafleet.conda filters: conda_lock_plan."""

    def filters(self):
        return {"conda_lock_plan": conda_lock_plan}
