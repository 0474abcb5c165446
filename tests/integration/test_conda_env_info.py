# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""condafleet.conda.conda_env_info through ansible-playbook on a real installation of the conda double."""
from __future__ import annotations

import os
import stat

import pytest

pytestmark = [pytest.mark.world, pytest.mark.slow]


def test_lists_and_compares_without_running_conda(run_module, conda_base, tmp_path):
    made = run_module("condafleet.conda.conda_env", {"prefix": conda_base, "name": "vision", "python": "3.11",
                                                     "packages": ["numpy", "opencv", "pandas=2.2"]})
    assert made.changed and not made.failed, made.result
    conda = os.path.join(conda_base, "bin", "conda")
    os.rename(conda, conda + ".real")  # any conda process would now fail loudly
    with open(conda, "w", encoding="utf-8") as handle:
        handle.write("#!/bin/sh\necho conda_env_info must not run conda >&2\nexit 99\n")
    os.chmod(conda, stat.S_IRWXU)

    info = run_module("condafleet.conda.conda_env_info", {"prefix": conda_base})
    assert not info.failed and not info.changed, info.result
    envs = dict((env["name"], env) for env in info["environments"])
    assert envs["base"]["base"] is True and envs["base"]["prefix"] == conda_base
    vision = envs["vision"]
    assert vision["prefix"] == os.path.join(conda_base, "envs", "vision")
    assert vision["python_version"].startswith("3.11.")
    numpy = [p for p in vision["packages"] if p["name"] == "numpy"][0]
    assert numpy["version"] and numpy["build"] and numpy["channel"] == "conda-forge"
    assert vision["requested_specs"] == {"python": "python=3.11", "numpy": "numpy", "opencv": "opencv",
                                         "pandas": "pandas=2.2"}

    compared = run_module("condafleet.conda.conda_env_info", {
        "prefix": conda_base, "name": "vision", "include_packages": False,
        "python": "3.12", "packages": ["numpy", "opencv", "scikit-learn"]}, check=True)
    assert not compared.failed, compared.result
    comparison = compared["comparison"]
    assert comparison["missing"] == ["scikit-learn"]
    assert [u["spec"] for u in comparison["unsatisfied"]] == ["python=3.12"]
    assert comparison["extra"] == ["pandas"] and comparison["satisfied"] is False
    assert "packages" not in compared["environments"][0]
