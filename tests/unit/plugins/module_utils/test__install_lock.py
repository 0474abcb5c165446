# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""The locks: conda_install's prefix lock and conda_env's installation lock, with real flocks taken by real processes."""
from __future__ import annotations

import multiprocessing
import os
import pwd
import time

import pytest

from ansible_collections.condafleet.conda.plugins.module_utils._install_lock import (
    InstallationLock, LockError, LockTimeout, PrefixLock, lock_path)

from recordings import make_env


@pytest.mark.parametrize("prefix, path", [
    ("/opt/conda", "/opt/.conda.condafleet-install.lock"),
    ("/opt/conda/", "/opt/.conda.condafleet-install.lock"),
    ("/srv/a b/miniforge3", "/srv/a b/.miniforge3.condafleet-install.lock"),
    ("/conda", "/.conda.condafleet-install.lock"),
])
def test_lock_path_is_next_to_the_prefix(prefix, path):
    assert lock_path(prefix) == path


def _hold(prefix, seconds, log, timeout=30):
    with PrefixLock(prefix, timeout):
        with open(log, "a", encoding="utf-8") as handle:
            handle.write("in %d %f\n" % (os.getpid(), time.monotonic()))
        time.sleep(seconds)
        with open(log, "a", encoding="utf-8") as handle:
            handle.write("out %d %f\n" % (os.getpid(), time.monotonic()))


def _spawn(target, *args):
    proc = multiprocessing.get_context("fork").Process(target=target, args=args)
    proc.start()
    return proc


def test_runs_on_one_prefix_take_turns_and_leave_no_file(tmp_path):
    prefix, log = str(tmp_path / "conda"), str(tmp_path / "log")
    procs = [_spawn(_hold, prefix, 0.5, log) for _i in range(4)]
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    events = [line.split()[:2] for line in open(log, encoding="utf-8").read().splitlines()]
    # never two holders at once: every "in" is followed by the same process's "out"
    assert len(events) == 8
    for i in range(0, 8, 2):
        assert events[i][0] == "in" and events[i + 1] == ["out", events[i][1]], events
    assert os.listdir(str(tmp_path)) == ["log"]  # neither the prefix nor the lock file is left behind


def test_a_waiter_whose_file_was_removed_takes_the_new_one(tmp_path):
    """The holder removes the file before it lets go; the waiter then locks the current file, not the old inode."""
    prefix = str(tmp_path / "conda")
    first = PrefixLock(prefix, 5)
    first.__enter__()
    waiter = PrefixLock(prefix, 5)
    fd = os.open(lock_path(prefix), os.O_RDWR)  # what a waiter holds while it waits
    first.__exit__(None, None, None)
    assert not os.path.exists(lock_path(prefix))
    os.close(fd)
    with waiter:
        assert os.path.exists(lock_path(prefix)) and waiter.where == lock_path(prefix)
        third = PrefixLock(prefix, 0.5)
        with pytest.raises(LockTimeout, match="held %s for more than 0.5s" % lock_path(prefix)):
            third.__enter__()


def test_timeout_names_the_lock(tmp_path):
    prefix, log = str(tmp_path / "conda"), str(tmp_path / "log")
    holder = _spawn(_hold, prefix, 3, log)
    deadline = time.monotonic() + 20
    while not os.path.exists(log) and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    with pytest.raises(LockTimeout) as exc:
        with PrefixLock(prefix, 1):
            pass
    assert 0.9 < time.monotonic() - started < 2.5
    assert lock_path(prefix) in str(exc.value) and "lock_timeout" in str(exc.value)
    holder.join(30)


def test_missing_parents_are_created_with_the_umask(tmp_path):
    prefix = str(tmp_path / "a" / "b" / "conda")
    with PrefixLock(prefix, 5, umask=0o077):
        assert os.path.isfile(lock_path(prefix))
    assert oct(os.stat(str(tmp_path / "a" / "b")).st_mode & 0o777) == "0o700"
    assert os.listdir(str(tmp_path / "a" / "b")) == []


def _as_nobody(prefix, conn):
    nobody = pwd.getpwnam("nobody")
    os.setgid(nobody.pw_gid)
    os.setuid(nobody.pw_uid)
    try:
        with PrefixLock(prefix, 5) as lock:
            conn.send("locked %s" % lock.where)
    except LockError as exc:
        conn.send("error %s" % exc)


@pytest.fixture
def root_owned_dir(shared_dir):
    """A directory that ``nobody`` can reach (not below pytest's 0700 tmp) but not write."""
    return shared_dir(0o755)


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to act as another user")
@pytest.mark.parametrize("prefix_exists", [True, False])
def test_a_user_who_cannot_write_the_parent_locks_the_prefix_itself(root_owned_dir, prefix_exists):
    prefix = os.path.join(root_owned_dir, "conda")
    if prefix_exists:
        os.mkdir(prefix)
        nobody = pwd.getpwnam("nobody")
        os.chown(prefix, nobody.pw_uid, nobody.pw_gid)
    here, there = multiprocessing.Pipe()
    proc = _spawn(_as_nobody, prefix, there)
    assert here.poll(30)
    text = here.recv()
    proc.join(30)
    if prefix_exists:
        assert text == "locked %s" % prefix
    else:
        assert text.startswith("error cannot create the install lock %s" % lock_path(prefix)), text
        assert "does not exist" in text
    assert os.listdir(root_owned_dir) == (["conda"] if prefix_exists else [])


def test_installation_lock_serializes(tmp_path):
    base = make_env(tmp_path / "conda")
    with InstallationLock(str(base), timeout=5):
        with pytest.raises(LockTimeout):
            with InstallationLock(str(base), timeout=0.3):
                pass
    with InstallationLock(str(base), timeout=0.3):
        pass
    assert not (base / "conda-meta" / ".condafleet.lock").exists()  # the directory itself is locked


def test_installation_lock_needs_no_write_access(tmp_path):
    """A user who can only read the base (root's shared install) still takes the lock: it is a read-only
    open of conda-meta, so nothing is created there."""
    base = make_env(tmp_path / "conda")
    meta = base / "conda-meta"
    meta.chmod(0o555)
    try:
        with InstallationLock(str(base), timeout=1):
            pass
    finally:
        meta.chmod(0o755)
