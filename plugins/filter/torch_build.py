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

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.condafleet.conda.plugins.module_utils._nvidia import (
    cuda_driver_max,
    cuda_version_tuple,
    normalize_cuda_version,
)

STYLES = ("conda-forge", "pytorch")
DEFAULT_SUPPORTED_CUDA = {
    "conda-forge": ("11.8", "12.0", "12.1", "12.4", "12.6", "12.8", "12.9", "13.0"),
    "pytorch": ("11.8", "12.1", "12.4"),
}
CHANNELS = {
    ("conda-forge", "cuda"): ["conda-forge"],
    ("conda-forge", "cpu"): ["conda-forge"],
    ("pytorch", "cuda"): ["pytorch", "nvidia"],
    ("pytorch", "cpu"): ["pytorch"],
}
LEGACY_LAST_RELEASE = (2, 5)
LEGACY_WARNING = ("the pytorch channel has had no release after PyTorch 2.5 (pytorch/pytorch#138506); "
                  "its CUDA builds stop at pytorch-cuda 12.4. Prefer style=conda-forge")

_PLAIN_VERSION_RE = re.compile(r"^\d+(?:\.\d+)*(?:\.\*)?$")
_VERSION_SPEC_RE = re.compile(r"^[0-9A-Za-z.*!<>=~,|+_-]+$")
_OPERATOR_RE = re.compile(r"[<>=!~,|]")
_LETTERED_VERSION_RE = re.compile(r"^(\d+(?:\.\d+)*)[0-9A-Za-z.*+_-]*$")  # 2.5.0rc1, 2.5.1.post1


def _bad(name, value, why):
    return AnsibleFilterError("torch_build: invalid %s %r: %s" % (name, value, why))


def _cuda_or_error(name, value):
    try:
        return normalize_cuda_version(value)
    except ValueError:
        raise _bad(name, value, "expected a CUDA version X.Y")


def _version_pin(pytorch_version):
    """Return ``(version_field, plain_tuple)`` for the spec; ``plain_tuple`` is None for operator specs."""
    if pytorch_version is None:
        return None, None
    if isinstance(pytorch_version, float):
        text = repr(pytorch_version)
    elif isinstance(pytorch_version, (str, int)) and not isinstance(pytorch_version, bool):
        text = str(pytorch_version).strip()
    else:
        raise _bad("pytorch_version", pytorch_version, "expected a version string")
    if not text or not _VERSION_SPEC_RE.match(text):
        raise _bad("pytorch_version", pytorch_version, "expected a version such as 2.4, 2.4.1 or >=2.4,<2.6")
    if _PLAIN_VERSION_RE.match(text):
        parts = text.rstrip("*").rstrip(".").split(".")
        if not text.endswith("*") and len(parts) <= 2:
            text = text + ".*"
        return text, tuple(int(p) for p in parts)
    if _OPERATOR_RE.search(text):
        return text, None
    match = _LETTERED_VERSION_RE.match(text)
    if not match:
        raise _bad("pytorch_version", pytorch_version, "expected a version such as 2.4, 2.4.1 or >=2.4,<2.6")
    return text, tuple(int(p) for p in match.group(1).split("."))


def _pytorch_spec(version, build):
    if version is None:
        return "pytorch=*=%s" % build
    if _OPERATOR_RE.search(version):
        return "pytorch[version='%s',build='%s']" % (version, build)
    return "pytorch=%s=%s" % (version, build)


def _facts_driver(facts):
    """Return ``(cuda_max, gpu_usable, has_gpu)`` from the facts dict."""
    cuda_max = facts.get("cuda_driver_max")
    if cuda_max in (None, ""):
        cuda_max = cuda_driver_max(facts.get("driver_version"))
    else:
        try:
            cuda_max = normalize_cuda_version(cuda_max)
        except ValueError:
            raise _bad("cuda_driver_max", facts.get("cuda_driver_max"), "expected a CUDA version X.Y")
    has_gpu = facts.get("has_nvidia_gpu")
    usable = cuda_max is not None and has_gpu is not False and facts.get("driver_loaded") is not False
    return cuda_max, usable, has_gpu


def choose_torch_build(facts, style="conda-forge", cuda="auto", supported_cuda=None, pytorch_version=None,
                       override_cuda=False):
    """Decide the PyTorch build for a host. See the filter's documentation for the contract."""
    if facts is None:
        facts = {}
    if not isinstance(facts, dict):
        raise _bad("input", facts, "expected the dict nvidia_gpu_info returns")
    if style not in STYLES:
        raise _bad("style", style, "expected one of %s" % ", ".join(STYLES))
    try:
        override_cuda = boolean(override_cuda, strict=True)
    except TypeError:
        raise _bad("override_cuda", override_cuda, "expected a boolean")

    if supported_cuda is None:
        supported = list(DEFAULT_SUPPORTED_CUDA[style])
    elif isinstance(supported_cuda, (str, bytes, dict)) or not hasattr(supported_cuda, "__iter__"):
        raise _bad("supported_cuda", supported_cuda, "expected a list of CUDA versions X.Y")
    else:
        supported = sorted(set(_cuda_or_error("supported_cuda entry", v) for v in supported_cuda),
                           key=cuda_version_tuple)
        if not supported:
            raise _bad("supported_cuda", supported_cuda, "expected at least one CUDA version")

    if isinstance(cuda, str) and cuda.strip().lower() in ("auto", "none"):
        mode, wanted = cuda.strip().lower(), None
    else:
        mode, wanted = "explicit", _cuda_or_error("cuda", cuda)
        if wanted not in supported:
            raise _bad("cuda", cuda, "not in supported_cuda (%s)" % ", ".join(supported))

    version, plain = _version_pin(pytorch_version)
    cuda_max, usable, has_gpu = _facts_driver(facts)
    warnings = []
    if style == "pytorch":
        warnings.append(LEGACY_WARNING)
        if plain is not None and plain[:2] > LEGACY_LAST_RELEASE:
            warnings.append("pytorch_version %s was never published on the pytorch channel (last: 2.5)"
                            % pytorch_version)

    chosen = None
    if mode == "explicit":
        chosen = wanted
        if cuda_max is None:
            if not override_cuda:
                warnings.append("CUDA %s requested but this host has no usable NVIDIA driver; conda refuses CUDA "
                                "builds without __cuda unless CONDA_OVERRIDE_CUDA is set (override_cuda=true)"
                                % chosen)
        elif cuda_version_tuple(chosen) > cuda_version_tuple(cuda_max):
            warnings.append("CUDA %s requested but the driver supports CUDA %s at most; the environment will not "
                            "run on this host's GPU" % (chosen, cuda_max))
    elif mode == "auto":
        if usable:
            fitting = [v for v in supported if cuda_version_tuple(v) <= cuda_version_tuple(cuda_max)]
            if fitting:
                chosen = fitting[-1]
            else:
                warnings.append("the driver supports CUDA %s at most, older than every supported CUDA build (%s); "
                                "choosing the CPU build" % (cuda_max, ", ".join(supported)))
        elif has_gpu:
            warnings.append("an NVIDIA GPU is present but no usable NVIDIA driver is loaded; choosing the CPU build")

    variant = "cuda" if chosen else "cpu"
    if variant == "cuda":
        specs = [_pytorch_spec(version, "*cuda*")]
        specs.append(("cuda-version=%s" if style == "conda-forge" else "pytorch-cuda=%s") % chosen)
    else:
        specs = [_pytorch_spec(version, "*cpu*")]
        if style == "pytorch":
            specs.append("pytorch-mutex=*=cpu")
    environment = {}
    if override_cuda:
        environment["CONDA_OVERRIDE_CUDA"] = chosen or ""
    return {
        "variant": variant,
        "cuda_version": chosen,
        "cuda_driver_max": cuda_max,
        "style": style,
        "specs": specs,
        "channels": list(CHANNELS[(style, variant)]),
        "environment": environment,
        "warnings": warnings,
    }


def torch_build(facts, style="conda-forge", cuda="auto", supported_cuda=None, pytorch_version=None,
                override_cuda=False):
    """The ``condafleet.conda.torch_build`` filter."""
    return choose_torch_build(facts, style=style, cuda=cuda, supported_cuda=supported_cuda,
                              pytorch_version=pytorch_version, override_cuda=override_cuda)


class FilterModule(object):
    """condafleet.conda filters: torch_build."""

    def filters(self):
        return {"torch_build": torch_build}
