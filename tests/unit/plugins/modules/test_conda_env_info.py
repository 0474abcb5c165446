# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""conda_env_info on fake installations: environments from disk, history specs, comparison; never runs a process."""
from __future__ import annotations

import json
import os

import pytest
from ansible.module_utils import basic
from core_compat import patch_module_args

from ansible_collections.condafleet.conda.plugins.modules import conda_env_info

from recordings import make_env

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "data", "conda")


@pytest.fixture
def installation(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    base = make_env(tmp_path / "conda", [{"name": "python", "version": "3.12.4", "build": "h0_0_cpython",
                                          "channel": "https://conda.anaconda.org/conda-forge/linux-64"},
                                         {"name": "conda", "version": "26.7.1", "build": "py312_0",
                                          "channel": "https://conda.anaconda.org/conda-forge/linux-64"}])
    os.makedirs(os.path.join(base, "bin"))
    with open(os.path.join(base, "bin", "conda"), "w", encoding="utf-8") as handle:
        handle.write("#!/bin/sh\nexit 99\n")  # what makes it an installation (never run)
    with open(os.path.join(DATA, "files-vision-conda-meta-numpy.json"), encoding="utf-8") as handle:
        numpy = json.load(handle)
    with open(os.path.join(DATA, "files-vision-history.txt"), encoding="utf-8") as handle:
        history = handle.read()
    records = [numpy, {"name": "python", "version": "3.11.9", "build": "h0_0_cpython", "depends": [],
                       "channel": "file:///srv/conda-channel/linux-64"},
               {"name": "opencv", "version": "4.9.0", "build": "h0_0", "depends": ["numpy >=1.21"],
                "channel": "file:///srv/conda-channel/linux-64"}]
    make_env(base / "envs" / "vision", records, history)
    return base


@pytest.fixture
def run(monkeypatch, capsys):
    def _run(args):
        def fake(self, cmd, **kwargs):
            raise AssertionError("conda_env_info ran %r" % (cmd,))
        monkeypatch.setattr(basic.AnsibleModule, "run_command", fake)
        with patch_module_args(dict(args, _ansible_check_mode=True)):
            with pytest.raises(SystemExit):
                conda_env_info.main()
        return json.loads(capsys.readouterr().out)
    return _run


def test_lists_every_environment(run, installation):
    result = run({"prefix": str(installation)})
    assert not result["changed"]
    envs = result["environments"]
    assert [(e["name"], e["base"]) for e in envs] == [("base", True), ("vision", False)]
    vision = envs[1]
    assert vision["python_version"] == "3.11.9"
    assert {"name": "numpy", "version": "2.1.0", "build": "py311_0", "channel": "conda-channel"} in vision["packages"]
    assert vision["requested_specs"] == {"python": "python=3.11", "numpy": "numpy", "opencv": "opencv"}


def test_compares_one_environment(run, installation):
    result = run({"prefix": str(installation), "name": "vision", "python": "3.12",
                  "packages": ["numpy", "pandas"], "include_packages": False})
    assert result["exists"] and "packages" not in result["environments"][0]
    comparison = result["comparison"]
    assert comparison["missing"] == ["pandas"]
    assert comparison["unsatisfied"] == [{"spec": "python=3.12", "installed": "python 3.11.9 h0_0_cpython"}]
    assert comparison["extra"] == ["opencv"] and comparison["satisfied"] is False


def test_missing_environment(run, installation):
    result = run({"prefix": str(installation), "name": "nope", "packages": ["numpy"]})
    assert result["exists"] is False and result["environments"] == []
    assert result["comparison"]["missing"] == ["numpy"]


def test_bad_spec_is_named(run, installation):
    result = run({"prefix": str(installation), "name": "vision", "packages": ["numpy=<>1"]})
    assert result["failed"] and "'numpy=<>1'" in result["msg"]
