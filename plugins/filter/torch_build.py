# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: torch_build
short_description: Choose the PyTorch build (CUDA or CPU) and its conda specs for a host
version_added: 0.1.0
author:
  - condafleet maintainers (@condafleet)
description:
  - Takes what M(condafleet.conda.nvidia_gpu_info) found on a host and a policy, and returns the PyTorch variant
    (V(cuda) or V(cpu)), the CUDA version, the conda match specs, the channels and the environment variables to
    install it with.
  - With O(cuda=auto) the chosen CUDA version is the newest of O(supported_cuda) that is not above the newest CUDA
    the driver supports (the input's C(cuda_driver_max), else derived from C(driver_version) with NVIDIA's
    driver-branch table). Without a usable driver, or when every supported CUDA version is above it, the CPU build
    is chosen, with a warning when an NVIDIA GPU is present.
  - O(style=conda-forge) (the default) selects C(pytorch) builds by build string (C(pytorch=*=*cuda*) or
    C(pytorch=*=*cpu*)) and pins C(cuda-version=X.Y); on conda-forge, C(cuda-version) caps the CUDA minor version
    the CUDA packages are built for.
  - O(style=pytorch) uses the legacy C(pytorch) channel (C(pytorch-cuda=X.Y) from the C(pytorch) and C(nvidia)
    channels, C(pytorch-mutex=*=cpu) for CPU). That channel has had no release after PyTorch 2.5; the result
    always carries a warning saying so.
  - The filter runs on the controller and is a pure function of its input; nothing is probed.
positional: _input
options:
  _input:
    description:
      - The result of M(condafleet.conda.nvidia_gpu_info), or a dict with some of its keys
        (C(cuda_driver_max), C(driver_version), C(has_nvidia_gpu), C(driver_loaded)).
      - C(cuda_driver_max) wins over C(driver_version). C(has_nvidia_gpu=false) or C(driver_loaded=false) mean no
        usable GPU for O(cuda=auto); a missing key is not taken as V(false).
    type: dict
    required: true
  style:
    description:
      - V(conda-forge) installs the conda-forge C(pytorch) package.
      - V(pytorch) installs from the legacy C(pytorch) channel (deprecated, last release PyTorch 2.5).
    type: str
    choices: [conda-forge, pytorch]
    default: conda-forge
  cuda:
    description:
      - V(auto) chooses from the driver (see above). V(none) always chooses the CPU build.
      - An explicit C(X.Y) (one of O(supported_cuda)) chooses that CUDA build whatever the driver says; a warning
        tells when this host's driver cannot run it. Use it with O(override_cuda=true) to build CUDA environments
        on hosts without a GPU.
    type: str
    default: auto
  supported_cuda:
    description:
      - The CUDA versions (C(X.Y)) to choose from, the CUDA builds the channel has.
      - Default for V(conda-forge) is V(11.8), V(12.0), V(12.1), V(12.4), V(12.6), V(12.8), V(12.9), V(13.0)
        (the CUDA versions conda-forge has built PyTorch for, and the C(cuda-version) pins 12.1 and 12.4; on
        conda-forge a C(cuda-version=X.Y) pin also accepts builds made for an older minor of the same major).
      - Default for V(pytorch) is V(11.8), V(12.1), V(12.4) (the last C(pytorch-cuda) build matrix, PyTorch 2.4 and
        2.5).
    type: list
    elements: str
  pytorch_version:
    description:
      - Pin the PyTorch version. A plain version with one dot (V(2.4)) means that minor release series
        (C(2.4.*)); a version with two or more dots (V(2.4.1), V(2.5.0rc1)) means that release; a version with an
        operator (V(>=2.4,<2.6)) is used as given.
      - With O(style=pytorch), a version above 2.5 gets a warning, as the channel never had it.
    type: str
  override_cuda:
    description:
      - Whether to return C(CONDA_OVERRIDE_CUDA) in RV(_value.environment). For a CUDA build it is the chosen
        CUDA version, so that conda solves as if the driver supported it (needed on hosts without a driver, such
        as image builders); for the CPU build it is the empty string, which hides C(__cuda) from the solver.
    type: bool
    default: false
seealso:
  - module: condafleet.conda.nvidia_gpu_info
  - name: conda-forge docs, NVIDIA CUDA packages
    description: C(cuda-version), C(__cuda) and CUDA builds on conda-forge.
    link: https://conda-forge.org/docs/user/cuda/
  - name: Deprecating PyTorch's official Anaconda channel
    description: The announcement that PyTorch 2.5 is the last release on the C(pytorch) channel.
    link: https://github.com/pytorch/pytorch/issues/138506
"""

EXAMPLES = r"""
- name: Detect the GPU
  condafleet.conda.nvidia_gpu_info:
  register: gpu

- name: Choose the conda-forge PyTorch build for this host
  ansible.builtin.set_fact:
    torch: "{{ gpu | condafleet.conda.torch_build }}"
  # driver 550.54.15 (CUDA 12.4) ->
  #   variant: cuda, cuda_version: '12.4', channels: [conda-forge],
  #   specs: ['pytorch=*=*cuda*', 'cuda-version=12.4'], environment: {}, warnings: []
  # no GPU ->
  #   variant: cpu, cuda_version: null, specs: ['pytorch=*=*cpu*'], channels: [conda-forge]

- name: Create the environment with the chosen build
  condafleet.conda.conda_env:
    prefix: /opt/miniforge3
    name: torch
    python: "3.12"
    packages: "{{ torch.specs }}"
    channels: "{{ torch.channels }}"
    override_channels: true
    environment: "{{ torch.environment }}"

- name: Build a CUDA 12.8 environment on an image builder without a GPU
  ansible.builtin.set_fact:
    torch: "{{ gpu | condafleet.conda.torch_build(cuda='12.8', override_cuda=true, pytorch_version='2.7') }}"
  # -> specs: ['pytorch=2.7.*=*cuda*', 'cuda-version=12.8'], environment: {CONDA_OVERRIDE_CUDA: '12.8'}

- name: Legacy pytorch channel, CUDA build chosen from the driver
  ansible.builtin.set_fact:
    torch: "{{ gpu | condafleet.conda.torch_build(style='pytorch', pytorch_version='2.4') }}"
  # driver 535.104.05 (CUDA 12.2) ->
  #   variant: cuda, cuda_version: '12.1', channels: [pytorch, nvidia],
  #   specs: ['pytorch=2.4.*=*cuda*', 'pytorch-cuda=12.1'],
  #   warnings: ['the pytorch channel has had no release after PyTorch 2.5 ...']

- name: Policy from a variable, with the CUDA versions a private mirror carries
  vars:
    torch_policy:
      style: conda-forge
      cuda: auto
      supported_cuda: ['12.6', '12.8']
  ansible.builtin.set_fact:
    torch: "{{ {'driver_version': '570.133.20'} | condafleet.conda.torch_build(**torch_policy) }}"
  # -> cuda_version: '12.8'
"""

RETURN = r"""
_value:
  description: The chosen build.
  type: dict
  contains:
    variant:
      description: V(cuda) or V(cpu).
      type: str
      sample: cuda
    cuda_version:
      description: The chosen CUDA version (C(X.Y)), V(null) for the CPU build.
      type: str
      sample: "12.4"
    cuda_driver_max:
      description: The newest CUDA version the host's driver supports, as the filter understood its input; V(null) without a driver.
      type: str
      sample: "12.4"
    style:
      description: The O(style) used.
      type: str
      sample: conda-forge
    specs:
      description:
        - conda match specs to install, in addition to the environment's other packages.
        - "V(conda-forge): C(pytorch=*=*cuda*) and C(cuda-version=X.Y), or C(pytorch=*=*cpu*)."
        - "V(pytorch): C(pytorch=*=*cuda*) and C(pytorch-cuda=X.Y), or C(pytorch=*=*cpu*) and C(pytorch-mutex=*=cpu)."
        - The C(*) version becomes the O(pytorch_version) pin when one is given.
      type: list
      elements: str
      sample: ["pytorch=*=*cuda*", "cuda-version=12.4"]
    channels:
      description:
        - The names of the public channels the PyTorch packages come from, in priority order. They are names, not
          URLs. Where the user configured channels (an internal mirror, a C(file://) channel), those are used as
          they are and these names only say what they must carry; P(condafleet.conda.conda_env_args#filter) adds
          them only to an environment for which no channel at all is configured.
        - V(conda-forge) style gives C([conda-forge]). V(pytorch) style gives C([pytorch, nvidia]) for CUDA and
          C([pytorch]) for CPU; the base packages (python, numpy) come from the environment's other channels.
      type: list
      elements: str
      sample: [conda-forge]
    environment:
      description:
        - Environment variables for the conda run. When O(override_cuda=true), C(CONDA_OVERRIDE_CUDA) set to the
          chosen C(X.Y) for a CUDA build and to the empty string for the CPU build; empty otherwise.
      type: dict
      sample: {}
    warnings:
      description: Things to tell the user (legacy channel, GPU without a usable driver, driver too old, ...).
      type: list
      elements: str
      sample: []
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.condafleet.conda.plugins.module_utils._torch import (  # noqa: F401 pylint: disable=unused-import
    CHANNELS,
    DEFAULT_SUPPORTED_CUDA,
    LEGACY_WARNING,
    STYLES,
    TorchBuildError,
)
from ansible_collections.condafleet.conda.plugins.module_utils._torch import choose_torch_build as _choose


def choose_torch_build(facts, style="conda-forge", cuda="auto", supported_cuda=None, pytorch_version=None,
                       override_cuda=False):
    """module_utils._torch.choose_torch_build, its errors as the filter error Ansible shows."""
    try:
        return _choose(facts, style=style, cuda=cuda, supported_cuda=supported_cuda,
                       pytorch_version=pytorch_version, override_cuda=override_cuda)
    except TorchBuildError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def torch_build(facts, style="conda-forge", cuda="auto", supported_cuda=None, pytorch_version=None,
                override_cuda=False):
    """The ``condafleet.conda.torch_build`` filter."""
    return choose_torch_build(facts, style=style, cuda=cuda, supported_cuda=supported_cuda,
                              pytorch_version=pytorch_version, override_cuda=override_cuda)


class FilterModule(object):
    """condafleet.conda filters: torch_build."""

    def filters(self):
        return {"torch_build": torch_build}
