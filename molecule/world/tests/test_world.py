# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""testinfra: the world's installer and conda double on each Debian release."""

import json

import pytest

PREFIX = "/opt/world-conda"
ENVIRONMENTS = {
    "finance": ("3.9", {"python", "pandas", "scikit-learn", "numpy", "pip"}),
    "vision": ("3.11", {"python", "pytorch", "opencv", "numpy", "pip"}),
    "webdev": ("3.12", {"python", "fastapi", "pip"}),
}


def test_installation_layout(host):
    for path in ("bin/conda", "conda-meta/history", ".condarc", "pkgs", "envs"):
        assert host.file("%s/%s" % (PREFIX, path)).exists, path
    version = host.check_output("%s/bin/conda --version" % PREFIX)
    assert version == "conda 26.7.1"


@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_environment_python_prints_its_version(host, name):
    want = ENVIRONMENTS[name][0]
    out = host.run("%s/envs/%s/bin/python --version" % (PREFIX, name))
    assert out.rc == 0, out.stderr
    assert (out.stdout + out.stderr).strip().startswith("Python %s." % want)


@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_environment_packages(host, name):
    wanted = ENVIRONMENTS[name][1]
    listing = json.loads(host.check_output("%s/bin/conda list -n %s --json" % (PREFIX, name)))
    assert wanted <= {record["name"] for record in listing}


def test_env_list_names_all_three(host):
    envs = json.loads(host.check_output("%s/bin/conda env list --json" % PREFIX))["envs"]
    assert {"%s/envs/%s" % (PREFIX, name) for name in ENVIRONMENTS} <= set(envs)
    assert PREFIX in envs
