# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""The PyTorch build a host gets: CUDA (which version) or CPU, from what nvidia_gpu_info found.

A pure function of its input. The ``torch_build`` and ``conda_env_args`` filters use it on the controller,
``conda_probe`` on the host, so that both choose the same build from the same facts.
"""

from __future__ import annotations

import re

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


class TorchBuildError(ValueError):
    """An input the build choice cannot use; the message names the input and its value."""


def _bad(name, value, why):
    return TorchBuildError("torch_build: invalid %s %r: %s" % (name, value, why))


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
    """Decide the PyTorch build for a host (see the ``condafleet.conda.torch_build`` filter for the contract)."""
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
