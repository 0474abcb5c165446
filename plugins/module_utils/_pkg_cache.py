# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""A lock's packages fetched once for the fleet: a verified cache on the controller, an archive for each host.

``conda_lock_fetch`` fills the cache (each package downloaded once, checked against the lock's MD5 or SHA-256
before it is kept) and packs the lock's packages into one uncompressed tar; ``conda_env``
(``package_archive``) unpacks it into the installation's package cache and lists the URLs in ``urls.txt``,
which is how conda recognises a package file it did not download itself: it then installs without fetching.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tarfile
import tempfile

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.condafleet.conda.plugins.module_utils._secrets import mask_text

CHUNK = 1 << 20
_PACKAGE_SUFFIXES = (".conda", ".tar.bz2")


class CacheError(Exception):
    """A package could not be fetched, does not match the lock, or the cache cannot be written (masked)."""

    def __init__(self, msg):
        super().__init__(mask_text(msg))


class _Mismatch(Exception):
    """A source's file does not match the lock (it is not taken)."""


#: The name prefix of unpack()'s temporary files in conda's package cache. Only unpack() writes them there, and only
#: under the installation's lock, so one that unpack() finds there is what an unpack killed half-way left.
UNPACK_PART = ".condafleet-unpack."


@contextlib.contextmanager
def _replacing(dest, mode=0o644, prefix=".part."):
    """An open temporary file next to ``dest``, renamed to ``dest`` (with ``mode``) when the block succeeds and
    removed when it raises: a reader never sees a partial file."""
    fd, part = tempfile.mkstemp(dir=os.path.dirname(dest) or ".", prefix=prefix)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        os.chmod(part, mode)
        os.replace(part, dest)
        part = None
    finally:
        if part is not None and os.path.exists(part):
            os.unlink(part)


def _copy(source, out, digest=None):
    for chunk in iter(lambda: source.read(CHUNK), b""):
        if digest is not None:
            digest.update(chunk)
        out.write(chunk)


def file_name(entry):
    return entry["url"].rsplit("/", 1)[1]


def digest_of(path, algorithm):
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def expected(entry):
    """``(algorithm, hex digest)`` the lock gives for a package; a lock entry without one is refused."""
    if entry.get("sha256"):
        return "sha256", entry["sha256"].lower()
    if entry.get("md5"):
        return "md5", entry["md5"].lower()
    raise CacheError("the lock gives no checksum for %s: its package cannot be verified" % entry["url"])


def cache_path(cache_dir, entry):
    """Where the cache keeps a package: ``<cache_dir>/<subdir>/<file name>``."""
    return os.path.join(cache_dir, entry["subdir"], file_name(entry))


def matches(path, entry):
    algorithm, digest = expected(entry)
    return os.path.isfile(path) and digest_of(path, algorithm) == digest


def fetch(opener, entry, dest):
    """Download ``entry``'s URL to ``dest``, verified while written; nothing is kept when it does not match."""
    algorithm, want = expected(entry)
    digest = hashlib.new(algorithm)
    with _replacing(dest) as out:
        try:
            resp = opener(entry["url"])
            try:
                _copy(resp, out, digest)
            finally:
                resp.close()
        except Exception as exc:  # pylint: disable=broad-except
            raise CacheError("downloading %s failed: %s" % (entry["url"], to_native(exc)))
        if digest.hexdigest() != want:
            raise CacheError("%s does not match the lock: expected %s:%s, got %s:%s"
                             % (entry["url"], algorithm, want, algorithm, digest.hexdigest()))


def take(sources, entry, dest):
    """Put ``entry``'s file into ``dest`` from the first of ``sources`` (directories, tar archives) that has it
    matching the lock: hard-linked from a directory on the same file system, else copied. Whether it was found."""
    name = file_name(entry)
    algorithm, want = expected(entry)
    for source in sources:
        if os.path.isdir(source):
            path = os.path.join(source, name)
            if not (os.path.isfile(path) and not os.path.islink(path) and digest_of(path, algorithm) == want):
                continue
            part = "%s.part.%d" % (dest, os.getpid())
            try:
                os.link(path, part)
                os.replace(part, dest)
            except OSError:
                if os.path.lexists(part):
                    os.unlink(part)
                with open(path, "rb") as src, _replacing(dest) as out:
                    _copy(src, out)
            return True
        if os.path.isfile(source):
            try:
                with tarfile.open(source, "r:") as tar:
                    try:
                        member = tar.getmember(name)
                    except KeyError:
                        continue
                    if not member.isfile():
                        continue
                    digest = hashlib.new(algorithm)
                    with _replacing(dest) as out:
                        _copy(tar.extractfile(member), out, digest)
                        if digest.hexdigest() != want:
                            raise _Mismatch(name)
            except _Mismatch:
                continue
            except tarfile.TarError as exc:
                raise CacheError("cannot read %s: %s" % (source, exc))
            return True
    return False


def fill(cache_dir, entries, opener, check_mode=False, sources=()):
    """Each package of ``entries`` in the cache, when missing or not matching taken from ``sources`` (see
    :func:`take`) or else downloaded; returns ``(downloaded, taken)``, the file names of each.

    Concurrent runs (one per host of the fleet, on the controller) take turns on ``<cache_dir>/.lock``: the first
    downloads, the others find the packages there.
    """
    try:
        os.makedirs(cache_dir, exist_ok=True)
        lock = open(os.path.join(cache_dir, ".lock"), "a")
    except OSError as exc:
        raise CacheError("cannot use the package cache %s: %s" % (cache_dir, exc))
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        fetched, taken = [], []
        for entry in entries:
            dest = cache_path(cache_dir, entry)
            if matches(dest, entry):
                continue
            if check_mode:
                fetched.append(file_name(entry))
                continue
            try:
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                found = take(sources, entry, dest)
            except OSError as exc:
                raise CacheError("cannot write the package cache %s: %s" % (cache_dir, exc))
            if found:
                taken.append(file_name(entry))
            else:
                fetch(opener, entry, dest)
                fetched.append(file_name(entry))
        return fetched, taken


def archive_name(entries):
    """The archive of a set of packages, named by what it holds: the same lock reuses it."""
    names = "\n".join(sorted("%s#%s" % (file_name(e), ":".join(expected(e))) for e in entries))
    return "packages-%s.tar" % hashlib.sha256(names.encode("utf-8")).hexdigest()[:16]


def pack(cache_dir, entries):
    """An uncompressed tar of the packages (conda's files are compressed already), made once; its path."""
    path = os.path.join(cache_dir, "archives", archive_name(entries))
    if os.path.isfile(path):
        return path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with _replacing(path) as out, tarfile.open(fileobj=out, mode="w") as tar:
        for entry in entries:
            tar.add(cache_path(cache_dir, entry), arcname=file_name(entry), recursive=False)
    return path


def unpack(archive, pkgs_dir, entries):
    """Put the archive's packages that the lock lists into ``pkgs_dir`` and name their URLs in ``urls.txt``.

    Only regular files whose name is a lock entry's file name are taken, never a path; a package conda already has
    there is left as it is. Returns the file names placed. The caller holds the installation's lock: the temporary
    files of an earlier unpack that was killed (:data:`UNPACK_PART`) are removed first.
    """
    by_name = dict((file_name(e), e) for e in entries)
    placed = []
    try:
        for name in os.listdir(pkgs_dir):
            stale = os.path.join(pkgs_dir, name)
            if name.startswith(UNPACK_PART) and os.path.isfile(stale) and not os.path.islink(stale):
                os.unlink(stale)
        with tarfile.open(archive, "r:") as tar:
            for member in tar.getmembers():
                entry = by_name.get(member.name)
                if entry is None or not member.isfile() or not member.name.endswith(_PACKAGE_SUFFIXES):
                    continue
                dest = os.path.join(pkgs_dir, member.name)
                if os.path.exists(dest):
                    continue
                with _replacing(dest, 0o664 & ~_umask(), prefix=UNPACK_PART) as out:
                    _copy(tar.extractfile(member), out)
                placed.append(member.name)
        urls = os.path.join(pkgs_dir, "urls.txt")
        known = set()
        if os.path.exists(urls):
            with open(urls) as handle:
                known = set(line.strip() for line in handle)
        with open(urls, "a") as handle:
            for name in sorted(by_name):
                if by_name[name]["url"] not in known and os.path.exists(os.path.join(pkgs_dir, name)):
                    handle.write(by_name[name]["url"] + "\n")
    except (OSError, tarfile.TarError) as exc:
        raise CacheError("cannot put the packages of %s into %s: %s" % (archive, pkgs_dir, exc))
    return placed


def _umask():
    current = os.umask(0)
    os.umask(current)
    return current
