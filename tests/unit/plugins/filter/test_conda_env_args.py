# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""conda_env_args: the role's environment entries as conda_env arguments (defaults, PyTorch builds, channels)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.condafleet.conda.plugins.filter import conda_env_args as cea
from ansible_collections.condafleet.conda.plugins.filter.torch_build import choose_torch_build
from ansible_collections.condafleet.conda.tests.unit.plugins.filter.test_torch_build import TEMPLATE_SCRIPT

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
GPU_124 = {"has_nvidia_gpu": True, "driver_loaded": True, "driver_version": "550.54.15", "cuda_driver_max": "12.4"}
NO_GPU = {"has_nvidia_gpu": False, "driver_loaded": False, "driver_version": None, "cuda_driver_max": None}
BASE_ARGS = {"prefix": "/opt/conda", "state": "present", "packages": [], "pip": [], "channels": [],
             "override_channels": False, "prune": False, "environment": {}}


def args(**changes):
    out = dict(BASE_ARGS)
    out.update(changes)
    return out


# (entry, keyword arguments of the filter, expected args)
CASES = [
    pytest.param({"name": "web"}, {}, args(name="web"), id="defaults"),
    pytest.param({"name": "web", "python": 3.1, "packages": ["fastapi", 2], "pip": ["tinyjson==0.1"]}, {},
                 args(name="web", python="3.1", packages=["fastapi", "2"], pip=["tinyjson==0.1"]),
                 id="python-and-packages-as-strings"),
    pytest.param({"name": "web", "packages": None, "pip": None, "environment": None}, {}, args(name="web"),
                 id="null-takes-the-default"),
    pytest.param({"name": "web", "state": "latest", "prune": True, "override_channels": True, "channels": ["bioconda"]},
                 {}, args(name="web", state="latest", prune=True, override_channels=True, channels=["bioconda"]),
                 id="entry-options"),
    pytest.param({"name": "web", "environment": {"PIP_NO_CACHE_DIR": "1", "http_proxy": "http://own:3128"}},
                 {"proxy_environment": {"http_proxy": "http://proxy:3128", "HTTP_PROXY": "http://proxy:3128"}},
                 args(name="web", environment={"http_proxy": "http://own:3128", "HTTP_PROXY": "http://proxy:3128",
                                               "PIP_NO_CACHE_DIR": "1"}),
                 id="entry-environment-over-proxy"),
    pytest.param({"name": "old", "state": "absent", "packages": ["x"], "pip": ["y"], "channels": ["c"],
                  "prune": True, "cuda": "auto", "file": "env.yml", "environment": {"A": "1"}},
                 {"proxy_environment": {"https_proxy": "http://proxy:3128"}},
                 {"name": "old", "prefix": "/opt/conda", "state": "absent",
                  "environment": {"https_proxy": "http://proxy:3128", "A": "1"}},
                 id="absent-reduced-to-removal"),
    pytest.param({"name": "vision", "packages": ["pytorch", "opencv"], "cuda": "auto"}, {"gpu_info": GPU_124},
                 args(name="vision", packages=["opencv", "pytorch=*=*cuda*", "cuda-version=12.4"]),
                 id="bare-pytorch-swapped-for-the-cuda-build"),
    pytest.param({"name": "vision", "packages": ["pytorch=2.4", "opencv"], "cuda": "AUTO"}, {"gpu_info": NO_GPU},
                 args(name="vision", packages=["pytorch=2.4", "opencv", "pytorch=*=*cpu*"]),
                 id="pinned-pytorch-kept-cpu-build-without-gpu"),
    pytest.param({"name": "vision", "packages": ["pytorch"], "cuda": "auto"}, {},
                 args(name="vision", packages=["pytorch=*=*cpu*"]), id="no-gpu-info-cpu-build"),
    pytest.param({"name": "vision", "packages": ["pytorch"], "cuda": "none"}, {"gpu_info": GPU_124},
                 args(name="vision", packages=["pytorch"]), id="cuda-none-leaves-pytorch"),
    pytest.param({"name": "gpu", "cuda": 12.4, "pytorch_version": "2.5"}, {"override_cuda": True},
                 args(name="gpu", packages=["pytorch=2.5.*=*cuda*", "cuda-version=12.4"],
                      environment={"CONDA_OVERRIDE_CUDA": "12.4"}),
                 id="explicit-cuda-with-override"),
    pytest.param({"name": "gpu", "cuda": "auto", "environment": {"CONDA_OVERRIDE_CUDA": "11.8"}},
                 {"override_cuda": True, "gpu_info": GPU_124},
                 args(name="gpu", packages=["pytorch=*=*cuda*", "cuda-version=12.4"],
                      environment={"CONDA_OVERRIDE_CUDA": "12.4"}),
                 id="build-environment-last"),
    # channels: the user's, as given; the build's channel names only when no channel at all is configured
    pytest.param({"name": "t", "cuda": "auto"}, {"gpu_info": GPU_124, "style": "pytorch", "channels": []},
                 args(name="t", packages=["pytorch=*=*cuda*", "pytorch-cuda=12.4"], channels=["pytorch", "nvidia"]),
                 id="no-channels-at-all-legacy-channels-added"),
    pytest.param({"name": "t", "cuda": "auto"}, {"gpu_info": GPU_124, "channels": []},
                 args(name="t", packages=["pytorch=*=*cuda*", "cuda-version=12.4"], channels=["conda-forge"]),
                 id="no-channels-at-all-conda-forge-added"),
    pytest.param({"name": "t", "cuda": "auto", "override_channels": True},
                 {"gpu_info": GPU_124, "channels": ["https://m.example.org/x"]},
                 args(name="t", packages=["pytorch=*=*cuda*", "cuda-version=12.4"], override_channels=True,
                      channels=["conda-forge"]),
                 id="override-channels-without-entry-channels-is-no-channel"),
    pytest.param({"name": "t", "cuda": "auto"}, {"gpu_info": GPU_124, "style": "pytorch"},
                 args(name="t", packages=["pytorch=*=*cuda*", "pytorch-cuda=12.4"]),
                 id="legacy-channels-not-added-to-the-installations"),
    pytest.param({"name": "t", "cuda": "auto", "channels": ["https://mirror.example.org/c/pytorch"]},
                 {"gpu_info": GPU_124, "style": "pytorch"},
                 args(name="t", packages=["pytorch=*=*cuda*", "pytorch-cuda=12.4"],
                      channels=["https://mirror.example.org/c/pytorch"]),
                 id="entry-url-channel-as-given"),
    pytest.param({"name": "t", "cuda": "auto"}, {"gpu_info": GPU_124},
                 args(name="t", packages=["pytorch=*=*cuda*", "cuda-version=12.4"]),
                 id="conda-forge-is-the-installation-channel"),
    pytest.param({"name": "t", "cuda": "auto"}, {"gpu_info": GPU_124, "channels": ["http://127.0.0.1:8731/conda-forge"]},
                 args(name="t", packages=["pytorch=*=*cuda*", "cuda-version=12.4"]),
                 id="installation-channel-url"),
    pytest.param({"name": "t", "cuda": "auto"},
                 {"gpu_info": GPU_124, "channels": ["https://artifacts.example.org/api/conda/cf-remote"]},
                 args(name="t", packages=["pytorch=*=*cuda*", "cuda-version=12.4"]),
                 id="installation-mirror-url-not-named-conda-forge"),
    pytest.param({"name": "t", "cuda": "auto"}, {"gpu_info": NO_GPU, "channels": ["file:///srv/channels/internal"]},
                 args(name="t", packages=["pytorch=*=*cpu*"]),
                 id="installation-file-channel"),
    pytest.param({"name": "t", "cuda": "auto", "channels": ["file:///srv/channels/torch"]},
                 {"gpu_info": GPU_124, "channels": []},
                 args(name="t", packages=["pytorch=*=*cuda*", "cuda-version=12.4"],
                      channels=["file:///srv/channels/torch"]),
                 id="entry-file-channel-alone"),
    pytest.param({"name": "t", "cuda": "auto", "override_channels": True,
                  "channels": ["https://artifacts.example.org/api/conda/cf-remote"]},
                 {"gpu_info": GPU_124},
                 args(name="t", packages=["pytorch=*=*cuda*", "cuda-version=12.4"], override_channels=True,
                      channels=["https://artifacts.example.org/api/conda/cf-remote"]),
                 id="override-channels-mirror-url-alone"),
    pytest.param({"name": "t", "cuda": "auto", "override_channels": True, "channels": ["bioconda"]},
                 {"gpu_info": GPU_124},
                 args(name="t", packages=["pytorch=*=*cuda*", "cuda-version=12.4"], override_channels=True,
                      channels=["bioconda"]),
                 id="override-channels-as-given"),
    pytest.param({"name": "t", "cuda": "auto"}, {"gpu_info": GPU_124, "channels": ["bioconda"]},
                 args(name="t", packages=["pytorch=*=*cuda*", "cuda-version=12.4"]),
                 id="installation-without-conda-forge"),
    pytest.param({"name": "t", "cuda": "auto"},
                 {"gpu_info": GPU_124, "channels": [], "mirror_url": "https://mirror.example.org/conda"},
                 args(name="t", packages=["pytorch=*=*cuda*", "cuda-version=12.4"]),
                 id="mirror-without-channels"),
    pytest.param({"name": "t", "cuda": "auto", "override_channels": True},
                 {"gpu_info": GPU_124, "style": "pytorch", "mirror_url": "https://mirror.example.org/conda"},
                 args(name="t", packages=["pytorch=*=*cuda*", "pytorch-cuda=12.4"], override_channels=True),
                 id="mirror-with-override-channels"),
    pytest.param({"name": "t", "cuda": "auto"}, {"gpu_info": GPU_124, "channels": [], "mirror_url": ""},
                 args(name="t", packages=["pytorch=*=*cuda*", "cuda-version=12.4"], channels=["conda-forge"]),
                 id="empty-mirror-url-is-no-mirror"),
    pytest.param({"name": "t", "channels": ["bioconda"]}, {"channels": ["x"]},
                 args(name="t", channels=["bioconda"]), id="no-cuda-channels-as-given"),
]


@pytest.mark.parametrize("entry, kwargs, expected", CASES)
def test_args(entry, kwargs, expected):
    [spec] = cea.conda_env_args([entry], **kwargs)
    assert spec["args"] == expected
    assert spec["name"] == expected["name"]


def test_torch_is_torch_builds_choice_for_cuda_managed_only():
    specs = cea.conda_env_args(
        [{"name": "a", "cuda": "auto", "pytorch_version": "2.4"}, {"name": "b"},
         {"name": "c", "cuda": "auto", "state": "absent"}],
        gpu_info=GPU_124, style="pytorch", supported_cuda=["12.1"], override_cuda=True)
    assert specs[0]["torch"] == choose_torch_build(GPU_124, style="pytorch", cuda="auto", supported_cuda=["12.1"],
                                                   pytorch_version="2.4", override_cuda=True)
    assert specs[0]["torch_check"][:2] == ["/opt/conda/envs/a/bin/python", "-c"]
    assert specs[0]["torch_check"][2] == cea.TORCH_CHECK_CODE
    assert [s["torch"] for s in specs[1:]] == [None, None]
    assert [s["torch_check"] for s in specs[1:]] == [None, None]


def test_torch_check_code_prints_one_json_line(tmp_path):
    """The check's code against a stand-in torch module: one JSON line with the four keys."""
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "__init__.py").write_text(
        "__version__ = '2.5.1'\n"
        "class cuda:\n    is_available = staticmethod(lambda: False)\n    device_count = staticmethod(lambda: 0)\n"
        "class version:\n    cuda = None\n")
    out = subprocess.run([sys.executable, "-c", cea.TORCH_CHECK_CODE], cwd=tmp_path, capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out) == {"torch": "2.5.1", "cuda_available": False, "cuda_build": None, "device_count": 0}


@pytest.mark.parametrize("entry, path", [
    ({"name": "a", "file": "env.yml"}, "env.yml"),
    ({"name": "a", "lock": "a.lock", "file": "env.yml"}, "a.lock"),
    ({"name": "a"}, None),
    ({"name": "a", "file": "env.yml", "state": "absent"}, None),
])
def test_spec_path(entry, path):
    assert cea.conda_env_args([entry])[0]["spec_path"] == path


def test_prediction_without_an_installation():
    specs = cea.conda_env_args([{"name": "web"}, {"name": "new", "state": "latest"}, {"name": "old", "state": "absent"}],
                               prefix="/srv/conda/")
    assert [s["prediction"]["changed"] for s in specs] == [True, True, False]
    assert [s["prediction"]["prefix"] for s in specs] == [
        "/srv/conda/envs/web", "/srv/conda/envs/new", "/srv/conda/envs/old"]
    assert "creates the environment web" in specs[0]["prediction"]["msg"]
    assert "no environment old to remove" in specs[2]["prediction"]["msg"]


def test_order_and_empty_input():
    names = ["z", "a", "m"]
    assert [s["name"] for s in cea.conda_env_args([{"name": n} for n in names])] == names
    assert cea.conda_env_args([]) == [] and cea.conda_env_args(None) == []


@pytest.mark.parametrize("value, why", [
    ("web", "expected a list of environments"),
    ({"name": "web"}, "expected a list of environments"),
    (["web"], "environment #1: expected a dict"),
    ([{"name": "a"}, {"python": "3.12"}], "environment #2: no name"),
    ([{"name": "a", "state": "gone"}], "state 'gone' is not one of present, latest, absent"),
    ([{"name": "a", "packages": "numpy"}], "packages must be a list"),
    ([{"name": "a", "environment": ["A=1"]}], "environment must be a dict"),
    ([{"name": "a", "cuda": "11.0"}], "torch_build: invalid cuda"),
])
def test_bad_input(value, why):
    with pytest.raises(AnsibleFilterError, match=why.replace("(", r"\(")):
        cea.conda_env_args(value)


def test_null_options_take_the_defaults():
    entry = [{"name": "t", "cuda": "auto"}]
    assert cea.conda_env_args(entry, channels=None, style=None, override_cuda=None, gpu_info=GPU_124) == \
        cea.conda_env_args(entry, gpu_info=GPU_124)


def test_defaults_are_the_roles():
    """The filter's defaults (used by playbooks/report.yml without the role) are the role's."""
    with open(os.path.join(ROOT, "roles", "conda", "defaults", "main.yml"), encoding="utf-8") as handle:
        defaults = yaml.safe_load(handle)
    with open(os.path.join(ROOT, "roles", "conda", "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        spec = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    entry_options = spec["conda_environments"]["options"]
    for key, value in cea.ENTRY_DEFAULTS.items():
        assert entry_options[key].get("default") == value, key
    assert set(entry_options) == set(cea.ENTRY_DEFAULTS) | {"name"}
    [spec_] = cea.conda_env_args([{"name": "t", "cuda": "auto"}], gpu_info=GPU_124)
    assert spec_ == cea.conda_env_args([{"name": "t", "cuda": "auto"}], gpu_info=GPU_124,
                                       prefix=defaults["conda_prefix"], channels=defaults["conda_channels"],
                                       style=defaults["conda_pytorch_style"],
                                       override_cuda=defaults["conda_cuda_override"])[0]


def test_filter_module_and_templar():
    assert set(cea.FilterModule().filters()) == {"conda_env_args"}
    collections = os.path.join(ROOT, ".cache", "collections")
    variables = {"envs": [{"name": "vision", "packages": ["pytorch"], "cuda": "auto"}], "gpu": GPU_124}
    proc = subprocess.run(
        [sys.executable, "-c", TEMPLATE_SCRIPT, collections, json.dumps(variables),
         "{{ envs | condafleet.conda.conda_env_args(gpu_info=gpu, prefix='/srv/conda') }}",
         "{{ 'vision' | condafleet.conda.conda_env_args }}"],
        cwd=ROOT, capture_output=True, text=True, check=True)
    specs, error = json.loads(proc.stdout.strip().splitlines()[-1])
    assert specs[0]["args"]["packages"] == ["pytorch=*=*cuda*", "cuda-version=12.4"]
    assert specs[0]["args"]["prefix"] == "/srv/conda"
    assert "conda_env_args: expected a list of environments" in error
