# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""Replacing a user's configuration file (``.condarc``, ``.bashrc``) in place, atomically.

* A symlink is followed: the file it points to is what gets replaced, in its own
  directory (temporary file, fsync, rename), so the link stays a link and the
  target keeps its owner and mode, as ``ansible.builtin.copy`` does with
  ``follow: true``. A dangling link, or (for root) a link that a non-root user
  made to a file of someone else, is refused: writing through it would create
  or rewrite a file that its owner never pointed there.
* Only a regular file is read or replaced (a FIFO would block the read, a
  directory or a device is nobody's configuration file).
* ``write_problem()`` tells, before anything is changed and in check mode too,
  why this process could not write the file (permissions, owner to keep).
* ``write_private()`` writes a file that may hold a secret (``0600`` from the
  start); ``parse_umask()`` reads the umask option of the files a module creates.
"""

from __future__ import annotations

import os
import pwd
import re
import stat
import tempfile


class FileError(Exception):
    """A file that may not or cannot be replaced; the message names it and says why."""


def _who(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return "uid %d" % uid


def _kind(mode):
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"


def resolve(path):
    """The file that writing ``path`` replaces: ``path`` itself or, for a symlink, the file at the end of it.

    Raises FileError for a dangling link, a link made by a non-root user to another user's file (when running
    as root), and anything that exists but is not a regular file.
    """
    target = path
    if os.path.islink(path):
        target = os.path.realpath(path)
        if not os.path.lexists(target) or os.path.islink(target):
            raise FileError("%s is a symlink to %s, which does not exist; nothing is written through a dangling "
                            "link (create the file it points to, or remove the link)" % (path, target))
        link_uid = os.lstat(path).st_uid
        if os.geteuid() == 0 and link_uid != 0 and link_uid != os.stat(target).st_uid:
            raise FileError("%s is a symlink made by %s to %s, which belongs to %s; it is not followed as root "
                            "(replace the link with a file of its own)"
                            % (path, _who(link_uid), target, _who(os.stat(target).st_uid)))
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise FileError("cannot read %s as %s: %s" % (path, _who(os.geteuid()), exc.strerror or exc))
    if not stat.S_ISREG(mode):
        raise FileError("%s is %s, not a file that can hold configuration" % (path, _kind(mode)))
    return target


def read_text(path):
    """(text, os.stat of the file) of the UTF-8 file at ``path`` (symlinks followed), or ("", None) when absent.

    Raises FileError for what ``resolve()`` refuses, an unreadable file, and bytes that are not UTF-8.
    """
    target = resolve(path)
    try:
        with open(target, "rb") as handle:
            raw = handle.read()
            info = os.fstat(handle.fileno())
    except FileNotFoundError:
        return "", None
    except OSError as exc:
        raise FileError("cannot read %s as %s: %s" % (path, _who(os.geteuid()), exc.strerror or exc))
    try:
        return raw.decode("utf-8"), info
    except UnicodeDecodeError as exc:
        raise FileError("%s is not UTF-8 text (byte 0x%02x at offset %d); it is left as it is"
                        % (path, raw[exc.start], exc.start))


def write_private(path, text):
    """Write ``text`` to ``path``, readable by this user only (0600 from the start): files that may hold secrets."""
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def parse_umask(value, option="umask"):
    """An octal umask string (``'0022'``, ``'027'``) as an int; ValueError naming the option and the value."""
    text = str(value if value is not None else "")
    if not re.match(r"^0?[0-7]{3}$", text):
        raise ValueError("%s must be an octal string such as '0022', got %r" % (option, value))
    return int(text, 8)


def _existing_dir(directory):
    while directory and not os.path.isdir(directory):
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return directory or "."


def write_problem(path, new_owner=None):
    """Why this process cannot replace (or create) ``path`` keeping its owner, or None when it can.

    ``new_owner`` is the (uid, gid) a new file is to get. Read-only: nothing is created or changed.
    """
    try:
        target = resolve(path)
    except FileError as exc:
        return str(exc)
    euid = os.geteuid()
    me = _who(euid)
    directory = _existing_dir(os.path.dirname(target) or ".")
    if not os.access(directory, os.W_OK | os.X_OK, effective_ids=os.access in os.supports_effective_ids):
        return ("%s cannot be written as %s: %s is not writable by %s (run the task as its owner, or with "
                "become)" % (path, me, directory, me))
    if euid == 0:
        return None
    try:
        old = os.stat(target)
    except FileNotFoundError:
        if new_owner and new_owner[0] != euid:
            return ("%s is to belong to %s, which %s cannot give it (run the task as %s, or with become)"
                    % (path, _who(new_owner[0]), me, _who(new_owner[0])))
        return None
    if old.st_uid != euid:
        return ("%s belongs to %s; as %s it could only be replaced by a file of %s's (run the task as %s, or "
                "with become)" % (path, _who(old.st_uid), me, me, _who(old.st_uid)))
    if old.st_gid != os.getegid() and old.st_gid not in os.getgroups():
        return ("%s has group %d, which %s is not in and so cannot keep on a new file (run the task as root, or "
                "with become)" % (path, old.st_gid, me))
    return None


def chmod(path, mode):
    """Set the mode of the file at ``path`` (symlinks followed); FileError names it when that fails."""
    target = resolve(path)
    try:
        os.chmod(target, mode)
    except OSError as exc:
        raise FileError("cannot set the mode of %s to %04o as %s: %s"
                        % (path, mode, _who(os.geteuid()), exc.strerror or exc))
    return target


def write_atomic(path, data, mode=None, new_owner=None):
    """Replace the file at ``path`` (a symlink's target) by ``data`` (bytes), atomically.

    The temporary file is made in the target's directory (mode 0600 from the start), fsynced, given ``mode``
    (default: the old file's, else 0644) and the old file's owner (else ``new_owner`` when running as root),
    then renamed over the target; the directory is fsynced. Returns the path written. Raises FileError.
    """
    target = resolve(path)
    directory = os.path.dirname(target) or "."
    try:
        old = os.stat(target)
    except FileNotFoundError:
        old = None
    if mode is None:
        mode = (old.st_mode & 0o7777) if old else 0o644
    owner = (old.st_uid, old.st_gid) if old else (new_owner if os.geteuid() == 0 else None)
    tmp = None
    try:
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(target) + ".", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            if owner and owner != (os.geteuid(), os.getegid()):
                os.fchown(handle.fileno(), owner[0], owner[1])
            os.fchmod(handle.fileno(), mode)
        os.rename(tmp, target)
        tmp = None
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise FileError("cannot write %s as %s: %s" % (path, _who(os.geteuid()), exc.strerror or exc))
    finally:
        if tmp is not None and os.path.lexists(tmp):
            os.unlink(tmp)
    return target
