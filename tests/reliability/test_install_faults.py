# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""conda_install under faults and hostile input, with the world's installers of the real conda.

The installer (the world's, with its ``CONDAFLEET_INSTALLER_SLEEP`` hook) is
killed at several moments, with the whole ansible-playbook process group; a
mirror is unreachable or serves an installer whose digest does not match; two
runs race on one prefix; the prefix is on a full tmpfs or under a read-only
bind mount. After each fault a rerun must repair, ``absent`` must remove only
the installation this collection made, and the user's files next to it and
in a foreign directory must be as they were.
"""
from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

import reliability_harness as harness

MODULE = "condafleet.conda.conda_install"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

pytestmark = [pytest.mark.reliability, pytest.mark.world, pytest.mark.slow]


#: tests/integration/test_conda_install.py: its ``Installers`` (the world's installers and their arguments)
_INSTALL_TESTS = harness.load_module("condafleet_integration_test_conda_install",
                                     os.path.join(ROOT, "tests", "integration", "test_conda_install.py"))
assert_installed = _INSTALL_TESTS.assert_installed


@pytest.fixture
def installers(world, world_server):
    return _INSTALL_TESTS.Installers(world, world_server)


def surroundings(rel, tmp_path):
    """A foreign directory with the user's content and files beside the prefix: never touched."""
    foreign = tmp_path / "projects"
    rel.sentinels.file(foreign / "notes.txt", "do not lose me\n")
    rel.sentinels.directory(foreign / "bin", mode=0o755)
    rel.sentinels.directory(foreign)
    rel.sentinels.file(tmp_path / "README.site", "next to the installation\n", mode=0o644)
    rel.sentinels.directory(tmp_path / "empty", mode=0o700)
    return str(foreign)


def refuses_foreign(rel, installers, foreign):
    for state in ("present", "absent"):
        result = rel.run(MODULE, installers.args(foreign, installers.old, state=state))
        assert result.failed and "not a conda installation" in result["msg"] and harness.no_traceback(result), \
            result.result


def start_playbook(rel, tmp_path, args, environment):
    """ansible-playbook with one conda_install task, in its own process group (to be killed as a whole)."""
    play = [{"hosts": "localhost", "gather_facts": False,
             "tasks": [{"name": "install", MODULE: args, "environment": environment}]}]
    path = tmp_path / "killed.yml"
    path.write_text(json.dumps(play))
    log = tmp_path / "killed-playbook.out"
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_PYTHON_INTERPRETER=_INSTALL_TESTS.MANAGED_PYTHON, ANSIBLE_LOCAL_TEMP=str(tmp_path / "ltmp"),
               ANSIBLE_LOG_PATH=str(tmp_path / "killed-ansible.log"))
    handle = open(str(log), "wb")  # pylint: disable=consider-using-with
    proc = subprocess.Popen([os.path.join(_INSTALL_TESTS.BIN, "ansible-playbook"), "-vvv", "-i", "localhost,", "-c",
                             "local", str(path)], cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
                            start_new_session=True)
    rel.inputs += 1
    return proc, handle, log


#: when the installer is killed: (what must exist first, the installer's sleep hook)
KILL_POINTS = {
    "after-the-marker": (".condafleet-install", None),
    "mid-payload": ("lib/python3.11/site-packages/conda", None),
    "before-history": (".installer.info", "60"),
}


@pytest.mark.parametrize("point", sorted(KILL_POINTS))
def test_an_install_killed_is_repaired_and_absent_removes_only_the_installation(rel, installers, tmp_path, point):
    foreign = surroundings(rel, tmp_path)
    prefix = tmp_path / "conda"
    sign, sleep = KILL_POINTS[point]
    environment = {"CONDAFLEET_INSTALLER_SLEEP": sleep} if sleep else {}
    started = harness.now_ns()
    proc, handle, log = start_playbook(rel, tmp_path, installers.args(prefix, installers.old), environment)
    try:
        deadline = time.time() + 180
        while time.time() < deadline and not (prefix / sign).exists() and proc.poll() is None:
            time.sleep(0.01)
        assert (prefix / sign).exists(), "the install never reached %s" % sign
    finally:
        harness.kill_tree(proc.pid)
        proc.wait()
        handle.close()
    rel.fault()
    rel.scan({"playbook": log.read_text(errors="replace")}, started, "killed install")
    assert not (prefix / "conda-meta" / "history").exists() or not (prefix / "bin" / "conda").exists(), \
        "the installer finished before it was killed"
    predicted = rel.run(MODULE, installers.args(prefix, installers.old), check=True)
    assert predicted.changed and predicted["action"] == "reinstall", predicted.result
    repaired = rel.run(MODULE, installers.args(prefix, installers.old))
    assert repaired.changed and repaired["action"] == "reinstall", repaired.result
    assert_installed(prefix, installers.conda(installers.old))
    assert not rel.run(MODULE, installers.args(prefix, installers.old)).changed
    refuses_foreign(rel, installers, foreign)
    gone = rel.run(MODULE, {"prefix": str(prefix), "state": "absent"})
    assert gone.changed and not prefix.exists(), gone.result
    rel.assert_safe()


@pytest.mark.parametrize("target", ["new", "empty-dir"])
def test_a_checksum_mismatch_is_refused_before_anything_is_written(rel, installers, tmp_path, target):
    surroundings(rel, tmp_path)
    prefix = tmp_path / "conda"
    if target == "empty-dir":
        rel.sentinels.directory(prefix, mode=0o2770)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    rel.fault()
    for check in (True, False):
        result = rel.run(MODULE, installers.args(prefix, installers.old, checksum="sha256:" + "0" * 64,
                                                 tmp_dir=str(downloads)), check=check)
        if check:  # check mode downloads nothing, so it cannot know; it predicts the install
            assert not result.failed and result.changed, result.result
            continue
        assert result.failed and "checksum mismatch" in result["msg"] and harness.no_traceback(result), result.result
    assert os.listdir(str(downloads)) == []
    assert (os.listdir(str(prefix)) == []) if target == "empty-dir" else not prefix.exists()
    rel.assert_safe()


def test_an_unreachable_mirror_fails_clearly_with_credentials_unseen(rel, installers, tmp_path):
    surroundings(rel, tmp_path)
    prefix = tmp_path / "conda"
    port = harness.closed_port()
    rel.fault()
    args = installers.args(prefix, installers.old, mirror_url="http://127.0.0.1:%d/installers" % port,
                           url_username=harness.BASIC.user, url_password=harness.BASIC.value, force_basic_auth=True)
    for state in ("present", "latest"):
        result = rel.run(MODULE, dict(args, state=state))
        assert result.failed and harness.no_traceback(result), result.result
        assert "127.0.0.1:%d" % port in result["msg"], result["msg"]
        assert not prefix.exists()
    rel.assert_safe()


@pytest.mark.parametrize("password", ["right", "wrong"])
def test_an_authenticated_mirror_keeps_a_hostile_password_unseen(rel, installers, tmp_path, basic_server, password):
    surroundings(rel, tmp_path)
    prefix = tmp_path / "conda"
    secret = harness.BASIC.value if password == "right" else harness.BASIC.value[::-1] + harness.BASIC.core
    args = installers.args(prefix, installers.old, mirror_url=basic_server.url + "/installers",
                           url_username=harness.BASIC.user, url_password=secret, force_basic_auth=True)
    predicted = rel.run(MODULE, args, check=True)
    assert harness.no_traceback(predicted), predicted.result
    result = rel.run(MODULE, args)
    assert result.failed == (password == "wrong") and harness.no_traceback(result), result.result
    if password == "right":
        assert_installed(prefix, installers.conda(installers.old))
    else:
        assert not prefix.exists()
    rel.assert_safe()


def test_two_installs_on_one_prefix_both_end_well_with_one_installer(rel, installers, tmp_path):
    surroundings(rel, tmp_path)
    prefix = tmp_path / "conda"
    before = installers.downloads(installers.old)
    results = harness.at_once(rel, MODULE, installers.args(prefix, installers.old))
    assert [r.failed for r in results] == [False, False], [r.result for r in results]
    assert sorted(r.changed for r in results) == [False, True], [r.result for r in results]
    assert installers.downloads(installers.old) - before == 1
    assert_installed(prefix, installers.conda(installers.old))
    with open(str(prefix / "conda-meta" / "history"), encoding="utf-8") as handle:
        assert handle.read().count("==> ") == 1  # one installer wrote the installation
    rel.assert_safe()


def test_a_full_disk_fails_clearly_and_absent_cleans_up_only_the_installation(rel, installers, tmp_path, scratch_mount):
    surroundings(rel, tmp_path)
    disk = scratch_mount("disk", size="20m")
    rel.sentinels.file(disk / "data.csv", "a,b\n1,2\n")
    rel.sentinels.directory(disk / "results", mode=0o750)
    prefix = disk / "conda"
    rel.fault()
    failed = rel.run(MODULE, installers.args(prefix, installers.old, tmp_dir=str(tmp_path)))
    assert failed.failed and harness.no_traceback(failed), failed.result
    assert "No space left on device" in failed["msg"] + failed.get("stderr", ""), failed.result  # why, for the user
    if prefix.exists():
        gone = rel.run(MODULE, {"prefix": str(prefix), "state": "absent"})
        assert not gone.failed and not prefix.exists(), gone.result
    rel.assert_safe()


def test_a_read_only_parent_fails_clearly_and_loses_nothing(rel, installers, tmp_path, read_only):
    surroundings(rel, tmp_path)
    parent = tmp_path / "opt"
    rel.sentinels.file(parent / "other-tool" / "run.sh", "#!/bin/sh\n", mode=0o755)
    read_only(parent)
    rel.fault()
    prefix = parent / "conda"
    for check in (True, False):
        result = rel.run(MODULE, installers.args(prefix, installers.old), check=check)
        if check:
            assert harness.no_traceback(result), result.result
            continue
        assert result.failed and harness.no_traceback(result) and str(prefix) in result["msg"], result.result
    assert not prefix.exists()
    rel.assert_safe()


def test_a_read_only_installation_is_left_as_it_was(rel, installers, tmp_path, read_only):
    surroundings(rel, tmp_path)
    prefix = tmp_path / "conda"
    made = rel.run(MODULE, installers.args(prefix, installers.old))
    assert made.changed and not made.failed, made.result
    rel.sentinels.environment(prefix)
    read_only(prefix)
    rel.fault()
    for args in (installers.args(prefix, installers.new), {"prefix": str(prefix), "state": "absent"}):
        result = rel.run(MODULE, args)
        assert result.failed and harness.no_traceback(result), result.result
        assert str(prefix) in result["msg"], result["msg"]
    assert_installed(prefix, installers.conda(installers.old))
    rel.assert_safe()


def _hostile_prefixes(tmp_path):
    a_file = tmp_path / "a-file"
    loop = tmp_path / "loop"
    os.symlink(str(loop), str(loop))
    return {"relative": "relative/conda", "a-file": str(a_file), "symlink-loop": str(loop),
            "newline": str(tmp_path / "new\nline"), "root": "/", "dot-dot-into-foreign": str(tmp_path / "x" / ".." / "projects")}


@pytest.mark.parametrize("which", ["relative", "a-file", "symlink-loop", "newline", "root", "dot-dot-into-foreign"])
def test_hostile_prefixes(rel, installers, tmp_path, which):
    surroundings(rel, tmp_path)
    path = _hostile_prefixes(tmp_path)[which]
    if which == "a-file":
        rel.sentinels.file(path, "a user's file\n")
    for state in ("present", "absent"):
        result = rel.run(MODULE, installers.args(path, installers.old, state=state))
        assert harness.no_traceback(result), result.result
        if result.failed:
            assert harness.names_value(result["msg"], path) or harness.names_value(result["msg"], os.path.normpath(path)), \
                result["msg"]
        elif state == "present":
            assert_installed(path, installers.conda(installers.old))
    rel.assert_safe()
