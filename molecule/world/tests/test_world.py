# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""testinfra: the world's Miniconda installer and the real conda it installs, per release.

The installer lays the real conda over the host's Python: conda 25.3.1 (classic solver)
on bullseye's Python 3.9, conda 26.7.1 (rattler solver) on bookworm's 3.11 and trixie's
3.13. Everything conda solves comes from the world's conda-forge channel.
"""

import json

import pytest

PREFIX = "/opt/world-conda"
CHANNEL = "http://127.0.0.1:8731/conda-forge"
#: host -> (conda version, host python, solver)
RELEASES = {
    "condafleet-bullseye": ("25.3.1", "3.9", "classic"),
    "condafleet-bookworm": ("26.7.1", "3.11", "rattler"),
    "condafleet-trixie": ("26.7.1", "3.13", "rattler"),
}
ENVIRONMENTS = {
    "finance": ("3.9", {"python", "pandas", "scikit-learn", "numpy", "pip"}),
    "vision": ("3.11", {"python", "pytorch", "opencv", "numpy", "pip"}),
    "webdev": ("3.12", {"python", "fastapi", "pip"}),
}


@pytest.fixture
def release(host):
    return RELEASES[host.backend.get_hostname()]


def _conda_json(host, *args):
    out = host.run("%s/bin/conda %s --json" % (PREFIX, " ".join(args)))
    assert out.stdout.strip(), out.stderr
    return out.rc, json.loads(out.stdout)


def test_installation_layout(host):
    for path in ("bin/conda", "condabin/conda", "etc/profile.d/conda.sh", "conda-meta/history",
                 ".condarc", "pkgs", "envs"):
        assert host.file("%s/%s" % (PREFIX, path)).exists, path


def test_conda_version_of_the_release(host, release):
    assert host.check_output("%s/bin/conda --version" % PREFIX) == "conda %s" % release[0]
    records = host.check_output("ls %s/conda-meta" % PREFIX).split()
    assert [r for r in records if r.startswith("conda-%s-" % release[0]) and r.endswith(".json")], records


def test_conda_is_the_real_package_over_the_host_python(host, release):
    version, python = release[:2]
    out = host.check_output(
        "%s/bin/python -c 'import conda, sys; print(conda.__version__, conda.__file__, sys.base_prefix)'" % PREFIX)
    got_version, location, base_prefix = out.split()
    assert got_version == version
    assert location == "%s/lib/python%s/site-packages/conda/__init__.py" % (PREFIX, python)
    assert base_prefix == "/usr"


def test_conda_info(host, release):
    version, python, solver = release
    rc, info = _conda_json(host, "info")
    assert rc == 0
    assert info["conda_version"] == version
    assert info["python_version"].startswith(python + ".")
    assert info["platform"] == "linux-64"
    assert info["root_prefix"] == PREFIX
    assert info["sys_rc_path"] == "%s/.condarc" % PREFIX
    assert info["solver"]["name"] == solver
    assert info["channels"] == ["%s/linux-64" % CHANNEL, "%s/noarch" % CHANNEL]
    assert ("__conda", version, "0") in [tuple(v) for v in info["virtual_pkgs"]]
    assert {PREFIX} | {"%s/envs/%s" % (PREFIX, name) for name in ENVIRONMENTS} <= set(info["envs"])


@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_environment_python_prints_its_version(host, name):
    want = ENVIRONMENTS[name][0]
    out = host.run("%s/envs/%s/bin/python --version" % (PREFIX, name))
    assert out.rc == 0, out.stderr
    assert (out.stdout + out.stderr).strip().startswith("Python %s." % want)


@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_environment_packages_from_the_world_channel(host, name):
    rc, listing = _conda_json(host, "list", "-n", name)
    assert rc == 0
    assert ENVIRONMENTS[name][1] <= {record["name"] for record in listing}
    assert {record["base_url"] for record in listing} == {CHANNEL}


def test_env_list_names_all_three(host):
    rc, listed = _conda_json(host, "env", "list")
    assert rc == 0
    assert {PREFIX} | {"%s/envs/%s" % (PREFIX, name) for name in ENVIRONMENTS} <= set(listed["envs"])


def test_create_list_remove_on_the_world_channel(host, release):
    # The world's python packages run the host's interpreter of their version: with the
    # host's python, conda's noarch install of fastapi must be importable.
    probe = "/tmp/world-probe"
    host.run("rm -rf %s" % probe)
    rc, created = _conda_json(host, "create", "-p", probe, "-y", "-q", "python=" + release[1], "fastapi")
    assert rc == 0, created
    assert created["success"] is True
    linked = {record["name"] for record in created["actions"]["LINK"]}
    assert {"python", "fastapi", "pip"} <= linked
    rc, listing = _conda_json(host, "list", "-p", probe)
    assert rc == 0
    assert linked == {record["name"] for record in listing}
    assert host.check_output("%s/bin/python -c 'import fastapi; print(fastapi.__file__)'" % probe) == (
        "%s/lib/python%s/site-packages/fastapi/__init__.py" % (probe, release[1]))
    rc, removed = _conda_json(host, "remove", "-p", probe, "--all", "-y", "-q")
    assert rc == 0, removed
    assert not host.file("%s/conda-meta" % probe).exists


def test_missing_package_is_an_error(host):
    rc, error = _conda_json(host, "create", "-n", "nosuch", "--dry-run", "nosuchpkg-condafleet")
    assert rc == 1
    # conda 25.3.1: PackagesNotFoundError; 26.7.1: its subclass PackagesNotFoundInChannelsError
    assert error["exception_name"].startswith("PackagesNotFound"), error
    assert error["packages"] == ["nosuchpkg-condafleet"]
    assert not host.file("%s/envs/nosuch" % PREFIX).exists
