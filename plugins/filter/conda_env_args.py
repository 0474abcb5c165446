# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: conda_env_args
short_description: Turn the conda role's environment entries into conda_env arguments
version_added: 0.1.0
author:
  - condafleet maintainers (@condafleet)
description:
  - Takes a list of environment entries as the C(condafleet.conda.conda) role's C(conda_environments) holds them and
    returns, for each, the options of M(condafleet.conda.conda_env) that converge it, in the same order.
  - The role and C(playbooks/report.yml) both build their specs with this filter, so the report's drift is measured
    against the spec the role installs.
  - Every optional key of an entry gets the role's default (C(state=present), no packages, no pip requirements, no
    channels, C(cuda=none), ...).
  - For an entry with C(cuda) set to V(auto) or a CUDA version, the PyTorch build is chosen by the
    P(condafleet.conda.torch_build#filter) filter from O(gpu_info). Its specs join the packages (a bare C(pytorch)
    entry is dropped, the build's spec replaces it) and its environment variables join the environment.
  - The channels are the user's. The entry's C(channels) are passed as they are, whatever their names or URLs (an
    internal mirror, a C(file://) channel). The build's channel names (the C(channels) of
    P(condafleet.conda.torch_build#filter), that is C(conda-forge), or C(pytorch) and C(nvidia)) are never added
    when the user configured channels, that is entry C(channels), O(channels) (unless the entry sets
    C(override_channels)) or a O(mirror_url). The packages then come from those channels, which must carry the build.
  - Only when the user configured no channel at all for the environment, so that conda's defaults would fetch from
    public channels anyway, the entry gets the build's channel names.
  - An entry with C(state=absent) is reduced to what its removal needs (name, prefix, state and environment).
  - An option given as V(null) takes its default, so that a playbook can pass a variable that may be unset with
    C(default(none)).
  - The filter runs on the controller and is a pure function of its input; nothing is probed or read.
positional: _input
options:
  _input:
    description:
      - The environment entries (the role's C(conda_environments)); each a dict with at least C(name). See the
        role's argument spec for the keys (C(state), C(python), C(packages), C(pip), C(channels),
        C(override_channels), C(file), C(lock), C(prune), C(cuda), C(pytorch_version), C(environment)).
    type: list
    elements: dict
    required: true
  prefix:
    description: The conda installation (the role's C(conda_prefix)).
    type: str
    default: /opt/conda
  channels:
    description:
      - The installation's channels (the role's C(conda_channels)); only used to tell whether the user configured
        channels for a CUDA-managed environment (see above).
    type: list
    elements: str
    default: [conda-forge]
  mirror_url:
    description:
      - The channel mirror of the installation (the role's C(conda_mirror_url)), which
        M(condafleet.conda.conda_config) writes as C(channel_alias), C(default_channels) and C(custom_channels).
        When set, channel names resolve through the mirror and the build's channel names are never added.
      - Only tells whether a mirror is set; the URL is not used otherwise.
    type: str
  gpu_info:
    description:
      - What M(condafleet.conda.nvidia_gpu_info) found on the host, passed to P(condafleet.conda.torch_build#filter).
        Without it (V(null) or V({})), C(cuda=auto) chooses the CPU build.
    type: dict
  style:
    description: The PyTorch build style (the role's C(conda_pytorch_style)), as in P(condafleet.conda.torch_build#filter).
    type: str
    choices: [conda-forge, pytorch]
    default: conda-forge
  supported_cuda:
    description: The CUDA versions to choose from (the role's C(conda_pytorch_supported_cuda)); default is the
      P(condafleet.conda.torch_build#filter) filter's list for the style.
    type: list
    elements: str
  override_cuda:
    description: Set C(CONDA_OVERRIDE_CUDA) for the CUDA-managed environments (the role's C(conda_cuda_override)).
    type: bool
    default: false
  proxy_environment:
    description: Proxy variables for conda and pip (C(http_proxy), C(HTTPS_PROXY), ...); an entry's own
      C(environment) and the PyTorch build's variables come after them.
    type: dict
    default: {}
seealso:
  - plugin: condafleet.conda.torch_build
    plugin_type: filter
  - module: condafleet.conda.conda_env
"""

EXAMPLES = r"""
- name: Converge the environments as the conda role does
  condafleet.conda.conda_env:
    name: "{{ env.args.name }}"
    prefix: "{{ env.args.prefix }}"
    state: "{{ env.args.state }}"
    python: "{{ env.args.python | default(omit) }}"
    packages: "{{ env.args.packages | default(omit) }}"
    pip: "{{ env.args.pip | default(omit) }}"
    channels: "{{ env.args.channels | default(omit) }}"
    override_channels: "{{ env.args.override_channels | default(omit) }}"
    prune: "{{ env.args.prune | default(omit) }}"
    environment: "{{ env.args.environment }}"
    spec_content: "{{ lookup('ansible.builtin.file', env.spec_path) if env.spec_path else omit }}"
  loop: "{{ range(specs | length) | list }}"
  loop_control:
    label: "{{ env.name }}"
  vars:
    env: "{{ specs[item] }}"
    specs: >-
      {{ [{'name': 'vision', 'python': '3.11', 'packages': ['pytorch', 'opencv'], 'cuda': 'auto'}]
         | condafleet.conda.conda_env_args(prefix='/opt/conda', gpu_info=gpu) }}
  # driver 550.54.15 (CUDA 12.4) -> args.packages: [opencv, 'pytorch=*=*cuda*', 'cuda-version=12.4']

- name: The same specs for a drift report
  ansible.builtin.set_fact:
    listed: "{{ conda_environments | condafleet.conda.conda_env_args | rejectattr('args.state', 'equalto', 'absent') }}"
"""

RETURN = r"""
_value:
  description: One dict per entry, in the order of the input.
  type: list
  elements: dict
  contains:
    name:
      description: The environment's name.
      type: str
      sample: vision
    args:
      description:
        - The options of M(condafleet.conda.conda_env) for the environment, except C(spec_content) (see RV(_value.spec_path)).
        - C(python) is present only when the entry sets it. For C(state=absent) only C(name), C(prefix), C(state) and
          C(environment).
      type: dict
      sample:
        name: vision
        prefix: /opt/conda
        state: present
        python: "3.11"
        packages: [opencv, "pytorch=*=*cuda*", "cuda-version=12.4"]
        pip: []
        channels: []
        override_channels: false
        prune: false
        environment: {}
    spec_path:
      description: The entry's C(lock), else its C(file), to read on the controller into C(spec_content); V(null)
        without one and for C(state=absent).
      type: str
    torch:
      description: The P(condafleet.conda.torch_build#filter) result for a CUDA-managed environment (C(cuda) not
        V(none), C(state) not V(absent)); V(null) otherwise.
      type: dict
    torch_check:
      description: For a CUDA-managed environment, the command (argv) that imports C(torch) in it and prints one JSON
        line (C(torch), C(cuda_available), C(cuda_build), C(device_count)); V(null) otherwise.
      type: list
      elements: str
    prediction:
      description:
        - What a real run does to the environment on a host where conda is not installed yet, for check mode,
          where M(condafleet.conda.conda_env) cannot run without an installation.
        - C(changed) is V(true) for an environment the real run creates (C(state) V(present) or V(latest)).
      type: dict
      contains:
        changed:
          description: Whether the real run creates the environment.
          type: bool
        prefix:
          description: Path of the environment.
          type: str
          sample: /opt/conda/envs/vision
        msg:
          description: The prediction in words.
          type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.condafleet.conda.plugins.module_utils._env_args import (  # noqa: F401 pylint: disable=unused-import
    ENTRY_DEFAULTS,
    TORCH_CHECK_CODE,
    EnvArgsError,
)
from ansible_collections.condafleet.conda.plugins.module_utils._env_args import conda_env_args as _env_args
from ansible_collections.condafleet.conda.plugins.module_utils._torch import TorchBuildError


def conda_env_args(environments, prefix="/opt/conda", channels=None, gpu_info=None, style="conda-forge",
                   supported_cuda=None, override_cuda=False, proxy_environment=None, mirror_url=None):
    """The ``condafleet.conda.conda_env_args`` filter (module_utils._env_args), its errors as filter errors."""
    try:
        return _env_args(environments, prefix=prefix, channels=channels, gpu_info=gpu_info, style=style,
                         supported_cuda=supported_cuda, override_cuda=override_cuda,
                         proxy_environment=proxy_environment, mirror_url=mirror_url)
    except (EnvArgsError, TorchBuildError) as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule(object):
    """condafleet.conda filters: conda_env_args."""

    def filters(self):
        return {"conda_env_args": conda_env_args}
