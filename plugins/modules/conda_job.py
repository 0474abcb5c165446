#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: conda_job
short_description: Wait for a conda transaction that runs as an async job, showing which and for how long
version_added: 0.3.0
description:
  - Waits for a job started with C(async) and C(poll=0) (a long M(condafleet.conda.conda_env) transaction, such as a
    CUDA environment of several gigabytes) by polling it with M(ansible.builtin.async_status), soon after it started
    (a converged environment's job ends within a second), then less and less often, up to every 5 seconds (or
    O(poll), if less).
  - "Every O(poll) seconds while the job runs it prints which host and which job (O(label), for example the
    environment's name) is running and for how long, for example C(vision on gpu01: running for 12m 05s)."
  - A poll that fails because the connection dropped is tried again on a fresh connection; the job goes on on the host
    whatever happens to the connection. If the controller itself goes away, the job still finishes on the host;
    M(condafleet.conda.conda_env) of the next run waits for it (the installation lock) and then finds the environment
    converged.
  - When the job has finished, its job file is removed (O(cleanup)) and the result is the job's own (V(changed),
    V(diff), V(failed), V(msg)...), with RV(elapsed).
  - This is an action plugin. It runs on the controller and polls the host with M(ansible.builtin.async_status).
author:
  - condafleet.conda contributors (@condafleet)
options:
  jid:
    description: The job id, C(ansible_job_id) in the result of the task that started it.
    type: str
    required: true
  label:
    description: What the progress lines call the job, for example the environment's name. Defaults to O(jid).
    type: str
  results_file:
    description:
      - The job's status file, C(results_file) in the result of the task that started it. The
        job writes it under its own C($HOME), which may differ from the home Ansible finds for the user (C(~user));
        without it, the file is looked for in the C(async_dir) of the shell plugin.
    type: str
  timeout:
    description:
      - Seconds to wait at most; then the task fails and the job goes on on the host. V(0) waits without a limit.
      - The job's own limit is the C(async) of the task that started it.
    type: int
    default: 3600
  poll:
    description: Seconds between two progress lines (and the most between two polls, if less than 5).
    type: int
    default: 10
  cleanup:
    description: Remove the job's file (C(async_status mode=cleanup)) once the job has finished.
    type: bool
    default: true
attributes:
  action:
    description: Runs on the controller and polls the host.
    support: full
  async:
    description: It waits for async jobs; it does not run as one.
    support: none
  check_mode:
    description: Only reads the job's state; the job itself ran in check mode or not.
    support: full
  diff_mode:
    description: Returns the job's diff.
    support: full
  platform:
    description: The target systems it works on.
    support: full
    platforms: posix
seealso:
  - module: ansible.builtin.async_status
  - module: condafleet.conda.conda_env
"""

EXAMPLES = r"""
- name: Start the CUDA environment's transaction
  condafleet.conda.conda_env:
    name: vision
    python: "3.11"
    packages: [pytorch, torchvision]
  async: 7200
  poll: 0
  register: vision_job

- name: Wait for it  # vision on gpu01: running for 12m 05s
  condafleet.conda.conda_job:
    jid: "{{ vision_job.ansible_job_id }}"
    results_file: "{{ vision_job.results_file }}"
    label: vision
    timeout: 7200
    poll: 15
"""

RETURN = r"""
ansible_job_id:
  description: The job id.
  returned: always
  type: str
  sample: j123456789012.4711
elapsed:
  description: Seconds the task waited for the job.
  returned: always
  type: int
  sample: 725
"""
