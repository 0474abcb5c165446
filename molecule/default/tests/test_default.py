# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""testinfra: the lab setup converged by the role on each Debian release.

bullseye (Python 3.9) runs conda 25.3.1, which knows base auto-activation as
auto_activate_base; bookworm and trixie run conda 26.7.1 and its auto_activate.
"""

import json

import pytest

PREFIX = "/opt/conda"
CHANNEL = "http://127.0.0.1:8731/conda-forge"
#: host -> (conda version, the auto-activation key that conda reads)
RELEASES = {
    "condafleet-bullseye": ("25.3.1", "auto_activate_base"),
    "condafleet-bookworm": ("26.7.1", "auto_activate"),
    "condafleet-trixie": ("26.7.1", "auto_activate"),
}
ENVIRONMENTS = {
    "finance": ("3.9", {"pandas", "scikit-learn"}),
    "vision": ("3.11", {"pytorch", "opencv"}),
    "webdev": ("3.12", {"fastapi"}),
    "research-exp": ("3.11.9", {"numpy", "pandas", "scikit-learn", "pip"}),
}


@pytest.fixture
def release(host):
    return RELEASES[host.backend.get_hostname()]


def test_conda_version(host, release):
    assert host.check_output("%s/bin/conda --version" % PREFIX) == "conda %s" % release[0]


@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_environment_python_prints_its_version(host, name):
    out = host.run("%s/envs/%s/bin/python --version" % (PREFIX, name))
    assert out.rc == 0, out.stderr
    assert (out.stdout + out.stderr).strip().startswith("Python %s" % ENVIRONMENTS[name][0])


@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_environment_packages(host, name):
    listing = json.loads(host.check_output("%s/bin/conda list -n %s --json" % (PREFIX, name)))
    assert ENVIRONMENTS[name][1] <= {record["name"] for record in listing}


def test_condarc(host, release):
    key = release[1]
    condarc = host.file("%s/.condarc" % PREFIX)
    assert condarc.exists
    content = condarc.content_string
    assert CHANNEL in content
    assert "%s: false" % key in content.splitlines()
    assert "defaults" not in content.replace("nodefaults", "")
    shown = json.loads(host.check_output("%s/bin/conda config --show --json" % PREFIX))
    assert shown["channels"] == [CHANNEL]
    assert shown[key] is False
    assert shown["channel_priority"] == "strict"
    assert shown["default_channels"] == []


def test_system_shell_init_gives_every_user_conda(host, release):
    """conda_system_shell_init: a user the role never listed, with no ~/.bashrc block, has conda at login."""
    profile = host.file("/etc/profile.d/conda.sh")
    assert profile.is_file and profile.user == "root" and profile.group == "root" and profile.mode == 0o644
    assert profile.content_string.splitlines()[0] == (
        "# Written by the condafleet.conda.conda role (conda_system_shell_init); do not edit.")
    out = host.run("runuser -u nobody -- env -i PATH=/usr/bin:/bin HOME=/tmp "
                   "bash -lc 'type conda && conda --version && echo ENV=${CONDA_DEFAULT_ENV:-none}'")
    assert out.rc == 0, out.stderr
    assert "conda is a function" in out.stdout
    assert "conda %s" % release[0] in out.stdout
    # conda_auto_activate is false: the login shell activates no environment
    assert "ENV=none" in out.stdout
