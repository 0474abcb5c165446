# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""The locks that serialize the runs of this collection on one host.

``InstallationLock``: a ``flock`` on an installation's ``conda-meta``, which
``conda_env`` holds while it changes environments of that installation.

``PrefixLock``: the lock that serializes ``conda_install`` runs on one prefix.

The prefix may not exist yet, so the lock is a file next to it, in its parent
directory: ``PARENT/.NAME.condafleet-install.lock`` (``flock``). It exists only
while a run holds it: the holder removes it before letting go, and a waiter
that wakes up on a file that is no longer the one at that path (removed, or
replaced by a newer run's) tries again, so that two runs never hold two
different files. Nothing is ever written inside the prefix. A run killed
outright leaves the file behind (its flock dies with it); the next run that
takes the lock removes it.

A run that cannot write the parent directory (a prefix prepared by an
administrator in a root-owned ``/opt``) locks the existing prefix directory
itself (a read-only ``flock`` on it), which serializes the runs of such users.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time

from ansible_collections.condafleet.conda.plugins.module_utils._prefix import CONDA_META

LOCK_SUFFIX = ".condafleet-install.lock"
_POLL = 0.2


class LockTimeout(Exception):
    """Another run held the lock for longer than the time given to wait."""


class LockError(Exception):
    """The lock cannot be taken (not a wait: a path that cannot hold one)."""


def lock_path(prefix):
    """``PARENT/.NAME.condafleet-install.lock`` for ``prefix`` (an absolute path; a trailing slash is ignored)."""
    prefix = prefix.rstrip("/")
    parent, name = os.path.split(prefix)
    return os.path.join(parent or "/", ".%s%s" % (name, LOCK_SUFFIX))


class PrefixLock:
    """Exclusive lock of one prefix for the length of a ``with`` block; ``timeout`` seconds of waiting at most.

    ``umask`` applies to the parent directories it has to create (an install
    would create them anyway). ``where`` is the path locked, once taken.
    Raises :class:`LockTimeout` or :class:`LockError`.
    """

    def __init__(self, prefix, timeout, umask=0o022):
        self.prefix = prefix.rstrip("/")
        self.path = lock_path(self.prefix)
        self.timeout = timeout
        self.umask = umask
        self.fd = None
        self.where = None

    def __enter__(self):
        deadline = time.monotonic() + self.timeout
        parent = os.path.dirname(self.path)
        if not os.path.isdir(parent):
            old = os.umask(self.umask)
            try:
                os.makedirs(parent, exist_ok=True)
            except OSError as exc:
                raise LockError("cannot create %s for the install lock: %s" % (parent, exc.strerror))
            finally:
                os.umask(old)
        while True:
            fd, where = self._open(parent)
            if not self._flock(fd, deadline):
                os.close(fd)
                raise LockTimeout("another conda_install run has held %s for more than %ss (lock_timeout)"
                                  % (where, self.timeout))
            if where == self.prefix or self._still_there(fd):
                self.fd, self.where = fd, where
                return self
            os.close(fd)  # the run before removed (or replaced) it while this one waited: take the current one

    def _open(self, parent):
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600), self.path
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS) or os.path.lexists(self.path):
                raise LockError("cannot open the install lock %s: %s" % (self.path, exc.strerror))
            if not os.path.isdir(self.prefix):
                raise LockError("cannot create the install lock %s (%s), and %s does not exist to be locked instead"
                                % (self.path, exc.strerror, self.prefix))
        try:
            return os.open(self.prefix, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC), self.prefix
        except OSError as exc:
            raise LockError("cannot lock %s (%s) nor create %s in %s" % (self.prefix, exc.strerror, self.path, parent))

    @staticmethod
    def _flock(fd, deadline):
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                    raise
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL)

    def _still_there(self, fd):
        try:
            st = os.stat(self.path, follow_symlinks=False)
        except OSError:
            return False
        mine = os.fstat(fd)
        return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)

    def __exit__(self, *exc):
        try:
            if self.where == self.path:
                try:
                    os.unlink(self.path)  # before letting go: a waiter on it then sees that it is gone
                except OSError:
                    pass
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            os.close(self.fd)
            self.fd = None
        return False


class InstallationLock:
    """An exclusive ``flock`` on the installation's ``conda-meta`` directory, so that two runs on one host serialize.

    The directory is opened read-only, so any user who can use the installation can
    take the lock (a non-root user's environment in their home, over a root-owned
    shared base). Raises :class:`LockTimeout` after ``timeout`` seconds.
    """

    def __init__(self, base_prefix, timeout=600):
        self.path = os.path.join(base_prefix, CONDA_META)
        self.timeout = timeout
        self.fd = None

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDONLY)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except OSError:
                if time.monotonic() >= deadline:
                    os.close(self.fd)
                    raise LockTimeout("another run holds %s for more than %ss" % (self.path, self.timeout))
                time.sleep(_POLL)

    def __exit__(self, *exc):
        try:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            os.close(self.fd)
        return False
