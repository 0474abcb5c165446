# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""torch_build: the PyTorch/CUDA build choice across the driver table, both styles, explicit/none, bad policy."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.condafleet.conda.plugins.filter import torch_build as tb

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
choose = tb.choose_torch_build
LEGACY = tb.LEGACY_WARNING


def gpu_host(driver, cuda_max=None):
    """Facts as nvidia_gpu_info returns them for a loaded driver."""
    return {"has_nvidia_gpu": True, "driver_loaded": True, "driver_version": driver, "cuda_driver_max": cuda_max,
            "gpus": [{"index": 0, "name": "GPU", "uuid": None, "driver_version": driver,
                      "memory_total_mib": None, "compute_cap": None}], "source": "procfs"}


NO_GPU = {"has_nvidia_gpu": False, "driver_loaded": False, "driver_version": None, "cuda_driver_max": None,
          "gpus": [], "source": "none"}
GPU_NO_DRIVER = {"has_nvidia_gpu": True, "driver_loaded": False, "driver_version": None, "cuda_driver_max": None,
                 "gpus": [{"index": 0}], "source": "sysfs"}


# --- auto, across the driver table edges (driver version only: the table decides) ----------------------------

CONDA_FORGE_EDGES = [
    ("470.182.03", None),      # CUDA 11.4: older than every build
    ("519.99", None),          # just below R520
    ("520.61.05", "11.8"),     # R520 -> 11.8
    ("524.99", "11.8"),
    ("525.60.13", "12.0"),
    ("529.99", "12.0"),
    ("530.30.02", "12.1"),
    ("535.104.05", "12.1"),    # 12.2 is not a build -> 12.1
    ("549.99", "12.1"),
    ("550.54.14", "12.4"),
    ("559.99", "12.4"),
    ("560.28.03", "12.6"),
    ("565.57.01", "12.6"),     # reports 12.7, no 12.7 build
    ("569.99", "12.6"),
    ("570.26", "12.8"),
    ("574.99", "12.8"),
    ("575.51.03", "12.9"),
    ("579.99", "12.9"),
    ("580.65.06", "13.0"),
    ("590.44.01", "13.0"),
]


@pytest.mark.parametrize("driver, cuda", CONDA_FORGE_EDGES)
def test_auto_conda_forge_driver_edges(driver, cuda):
    result = choose(gpu_host(driver))
    assert result["cuda_version"] == cuda
    if cuda:
        assert result["variant"] == "cuda"
        assert result["specs"] == ["pytorch=*=*cuda*", "cuda-version=%s" % cuda]
        assert result["warnings"] == []
    else:
        assert result["variant"] == "cpu" and result["specs"] == ["pytorch=*=*cpu*"]
        assert len(result["warnings"]) == 1 and "older than every supported CUDA build" in result["warnings"][0]
    assert result["channels"] == ["conda-forge"] and result["environment"] == {}


LEGACY_EDGES = [
    ("519.99", None),
    ("520.61.05", "11.8"),
    ("529.99", "11.8"),
    ("530.30.02", "12.1"),
    ("549.99", "12.1"),
    ("550.54.14", "12.4"),
    ("580.65.06", "12.4"),     # newer drivers still get the last pytorch-cuda
]


@pytest.mark.parametrize("driver, cuda", LEGACY_EDGES)
def test_auto_legacy_driver_edges(driver, cuda):
    result = choose(gpu_host(driver), style="pytorch")
    assert result["cuda_version"] == cuda
    assert result["warnings"][0] == LEGACY
    if cuda:
        assert result["specs"] == ["pytorch=*=*cuda*", "pytorch-cuda=%s" % cuda]
        assert result["channels"] == ["pytorch", "nvidia"]
    else:
        assert result["specs"] == ["pytorch=*=*cpu*", "pytorch-mutex=*=cpu"]
        assert result["channels"] == ["pytorch"]


@pytest.mark.parametrize("cuda_max, legacy, conda_forge", [
    ("11.4", None, None),       # transcript 22: too old for pytorch-cuda
    ("11.8", "11.8", "11.8"),
    ("12.0", "11.8", "12.0"),
    ("12.1", "12.1", "12.1"),
    ("12.2", "12.1", "12.1"),   # transcript 21: CONDA_OVERRIDE_CUDA=12.2 solves pytorch-cuda=12.1
    ("12.3", "12.1", "12.1"),
    ("12.4", "12.4", "12.4"),
    ("12.5", "12.4", "12.4"),
    ("13.1", "12.4", "13.0"),
])
def test_auto_from_cuda_driver_max(cuda_max, legacy, conda_forge):
    facts = {"cuda_driver_max": cuda_max}
    assert choose(facts, style="pytorch")["cuda_version"] == legacy
    assert choose(facts)["cuda_version"] == conda_forge


def test_cuda_driver_max_wins_over_driver_version():
    # banner said 12.4 while the table for this driver would say 12.2
    assert choose(gpu_host("535.104.05", cuda_max="12.4"))["cuda_version"] == "12.4"
    assert choose({"cuda_driver_max": 12.4})["cuda_driver_max"] == "12.4"   # a YAML float


def test_offline_test_channel_versions_are_choosable_in_both_styles():
    for style in ("conda-forge", "pytorch"):
        for cuda in ("11.8", "12.1", "12.4"):
            assert choose({"cuda_driver_max": cuda}, style=style)["cuda_version"] == cuda
            assert choose({}, style=style, cuda=cuda)["cuda_version"] == cuda


# --- no driver, GPU without driver --------------------------------------------------------------------------

@pytest.mark.parametrize("style", ["conda-forge", "pytorch"])
def test_no_gpu_is_cpu_without_warning(style):
    result = choose(NO_GPU, style=style)
    assert result["variant"] == "cpu" and result["cuda_version"] is None and result["cuda_driver_max"] is None
    assert result["warnings"] == ([LEGACY] if style == "pytorch" else [])
    assert choose({}, style=style)["variant"] == "cpu"


def test_gpu_without_loaded_driver_is_cpu_with_warning():
    result = choose(GPU_NO_DRIVER)
    assert result["variant"] == "cpu" and result["specs"] == ["pytorch=*=*cpu*"]
    assert result["warnings"] == ["an NVIDIA GPU is present but no usable NVIDIA driver is loaded; choosing the "
                                  "CPU build"]


def test_driver_reported_not_loaded_or_no_gpu_means_cpu():
    facts = gpu_host("550.54.15", cuda_max="12.4")
    assert choose(dict(facts, driver_loaded=False))["variant"] == "cpu"
    assert choose(dict(facts, has_nvidia_gpu=False, gpus=[]))["variant"] == "cpu"
    assert choose(dict(facts, has_nvidia_gpu=False, gpus=[]))["warnings"] == []


# --- explicit cuda, none ------------------------------------------------------------------------------------

def test_explicit_cuda_on_host_without_driver_needs_override():
    plain = choose(NO_GPU, cuda="12.8")
    assert plain["variant"] == "cuda" and plain["specs"] == ["pytorch=*=*cuda*", "cuda-version=12.8"]
    assert "CONDA_OVERRIDE_CUDA" in plain["warnings"][0] and plain["environment"] == {}
    overridden = choose(NO_GPU, cuda="12.8", override_cuda=True)
    assert overridden["environment"] == {"CONDA_OVERRIDE_CUDA": "12.8"} and overridden["warnings"] == []


def test_explicit_cuda_above_driver_warns_and_is_kept():
    result = choose(gpu_host("535.104.05"), style="pytorch", cuda="12.4")
    assert result["cuda_version"] == "12.4" and result["specs"] == ["pytorch=*=*cuda*", "pytorch-cuda=12.4"]
    assert result["warnings"][1] == ("CUDA 12.4 requested but the driver supports CUDA 12.2 at most; the "
                                     "environment will not run on this host's GPU")


def test_explicit_cuda_within_driver_has_no_warning():
    result = choose(gpu_host("580.65.06"), cuda=12.8)   # a YAML float
    assert result["cuda_version"] == "12.8" and result["warnings"] == []


@pytest.mark.parametrize("style, specs, channels", [
    ("conda-forge", ["pytorch=*=*cpu*"], ["conda-forge"]),
    ("pytorch", ["pytorch=*=*cpu*", "pytorch-mutex=*=cpu"], ["pytorch"]),
])
def test_cuda_none_on_gpu_host(style, specs, channels):
    result = choose(gpu_host("580.65.06"), style=style, cuda="none", override_cuda=True)
    assert result["variant"] == "cpu" and result["specs"] == specs and result["channels"] == channels
    assert result["environment"] == {"CONDA_OVERRIDE_CUDA": ""}


def test_override_cuda_auto_gpu_host():
    result = choose(gpu_host("550.54.15"), override_cuda=True)
    assert result["environment"] == {"CONDA_OVERRIDE_CUDA": "12.4"}
    assert choose(gpu_host("550.54.15"), override_cuda="yes")["environment"] == {"CONDA_OVERRIDE_CUDA": "12.4"}


# --- supported_cuda, pytorch_version ------------------------------------------------------------------------

def test_supported_cuda_custom_list_is_sorted_and_deduplicated():
    facts = {"driver_version": "570.133.20"}
    assert choose(facts, supported_cuda=["12.8", "12.6", 12.6])["cuda_version"] == "12.8"
    assert choose(facts, supported_cuda=["12.9", "13.0"])["variant"] == "cpu"
    assert choose({"cuda_driver_max": "12.9"}, supported_cuda=("11.8", "12.10", "12.9"))["cuda_version"] == "12.9"


def test_default_supported_lists():
    assert tb.DEFAULT_SUPPORTED_CUDA["pytorch"] == ("11.8", "12.1", "12.4")
    assert {"11.8", "12.1", "12.4", "12.9", "13.0"} <= set(tb.DEFAULT_SUPPORTED_CUDA["conda-forge"])


@pytest.mark.parametrize("pin, cuda_spec, cpu_spec", [
    ("2.4", "pytorch=2.4.*=*cuda*", "pytorch=2.4.*=*cpu*"),
    (2.4, "pytorch=2.4.*=*cuda*", "pytorch=2.4.*=*cpu*"),
    ("2", "pytorch=2.*=*cuda*", "pytorch=2.*=*cpu*"),
    ("2.4.1", "pytorch=2.4.1=*cuda*", "pytorch=2.4.1=*cpu*"),
    ("2.4.*", "pytorch=2.4.*=*cuda*", "pytorch=2.4.*=*cpu*"),
    ("2.5.0rc1", "pytorch=2.5.0rc1=*cuda*", "pytorch=2.5.0rc1=*cpu*"),
    (">=2.4,<2.6", "pytorch[version='>=2.4,<2.6',build='*cuda*']", "pytorch[version='>=2.4,<2.6',build='*cpu*']"),
])
def test_pytorch_version_pin(pin, cuda_spec, cpu_spec):
    assert choose({"cuda_driver_max": "12.4"}, pytorch_version=pin)["specs"][0] == cuda_spec
    assert choose({}, pytorch_version=pin)["specs"][0] == cpu_spec


def test_legacy_warns_for_versions_never_published():
    result = choose({"cuda_driver_max": "12.4"}, style="pytorch", pytorch_version="2.7")
    assert result["warnings"] == [LEGACY, "pytorch_version 2.7 was never published on the pytorch channel "
                                          "(last: 2.5)"]
    assert choose({}, style="pytorch", pytorch_version="2.5.1")["warnings"] == [LEGACY]
    assert choose({}, style="pytorch", pytorch_version="<2.6")["warnings"] == [LEGACY]
    assert len(choose({}, style="pytorch", pytorch_version="2.6.0rc3")["warnings"]) == 2


# --- invalid policy -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, needle", [
    ({"style": "pip"}, "style 'pip'"),
    ({"style": None}, "style None"),
    ({"cuda": "latest"}, "cuda 'latest'"),
    ({"cuda": "12.2"}, "cuda '12.2': not in supported_cuda"),
    ({"cuda": "12.6", "style": "pytorch"}, "cuda '12.6': not in supported_cuda (11.8, 12.1, 12.4)"),
    ({"cuda": None}, "cuda None"),
    ({"supported_cuda": "12.4"}, "supported_cuda '12.4'"),
    ({"supported_cuda": []}, "supported_cuda []"),
    ({"supported_cuda": ["12.4", "twelve"]}, "supported_cuda entry 'twelve'"),
    ({"pytorch_version": "2.4; rm -rf /"}, "pytorch_version '2.4; rm -rf /'"),
    ({"pytorch_version": "latest"}, "pytorch_version 'latest'"),
    ({"pytorch_version": "2.4 cuda*"}, "pytorch_version '2.4 cuda*'"),
    ({"pytorch_version": ["2.4"]}, "pytorch_version ['2.4']"),
    ({"override_cuda": "maybe"}, "override_cuda 'maybe'"),
])
def test_invalid_policy_names_the_value(kwargs, needle):
    with pytest.raises(AnsibleFilterError) as err:
        choose({"cuda_driver_max": "12.4"}, **kwargs)
    assert needle in str(err.value)


def test_invalid_input():
    with pytest.raises(AnsibleFilterError, match="input 'nvidia'"):
        choose("nvidia")
    with pytest.raises(AnsibleFilterError, match="cuda_driver_max 'twelve'"):
        choose({"cuda_driver_max": "twelve"})
    assert choose(None)["variant"] == "cpu"


# --- the plugin ---------------------------------------------------------------------------------------------

def test_filter_module_exposes_torch_build():
    filters = tb.FilterModule().filters()
    assert set(filters) == {"torch_build"}
    assert filters["torch_build"](gpu_host("550.54.15"), style="pytorch")["specs"] == [
        "pytorch=*=*cuda*", "pytorch-cuda=12.4"]


TEMPLATE_SCRIPT = r"""
import json, sys
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
_AnsibleCollectionFinder(paths=[sys.argv[1]])._install()
from ansible.errors import AnsibleError
from ansible.template import Templar
try:
    from ansible.template import trust_as_template  # ansible-core 2.19+
except ImportError:  # 2.17, 2.18: every string is a template
    trust_as_template = str
variables = json.loads(sys.argv[2])
out = []
for expr in sys.argv[3:]:
    try:
        out.append(Templar(loader=None, variables=variables).template(trust_as_template(expr)))
    except AnsibleError as exc:
        out.append("error: %s" % exc)
print(json.dumps(out))
"""


def test_filter_through_templar():
    """The filter as a playbook calls it: by FQCN, keyword arguments, a ** policy, errors shown to the user.

    Runs in a child Python so that the collection loader it installs does not leak into other tests.
    """
    collections = os.path.join(ROOT, ".cache", "collections")
    variables = {"gpu": gpu_host("535.104.05", cuda_max="12.2"), "policy": {"style": "pytorch", "override_cuda": True}}
    proc = subprocess.run(
        [sys.executable, "-c", TEMPLATE_SCRIPT, collections, json.dumps(variables),
         "{{ gpu | condafleet.conda.torch_build(**policy) }}",
         "{{ {'driver_version': '570.26'} | condafleet.conda.torch_build(cuda='none') }}",
         "{{ gpu | condafleet.conda.torch_build(style='pip') }}"],
        cwd=ROOT, capture_output=True, text=True, check=True)
    legacy, cpu, error = json.loads(proc.stdout.strip().splitlines()[-1])
    assert legacy["cuda_version"] == "12.1" and legacy["environment"] == {"CONDA_OVERRIDE_CUDA": "12.1"}
    assert legacy["specs"] == ["pytorch=*=*cuda*", "pytorch-cuda=12.1"]
    assert cpu["variant"] == "cpu" and cpu["specs"] == ["pytorch=*=*cpu*"]
    assert "torch_build: invalid style 'pip'" in error
