# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""Getting a conda installer and its digest: the I/O that carries out ``_installer.acquisition()``'s plan.

One path for both sides of ``condafleet.conda.conda_install``: the module (a download on the host) and the
action plugin (the controller's cache). Each hands in an ``opener``, a function of a URL that returns an
open response (``read``, ``close``, ``geturl``) or raises: the module's wraps ``fetch_url``, the plugin's is
``open_url``. An installer is downloaded in chunks into a temporary file next to its destination, hashed
while it is written, compared with the expected digest and only then renamed into place. Every message
names URLs with their credentials masked (``_secrets.mask``).
"""

from __future__ import annotations

import hashlib
import os
import tempfile

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.condafleet.conda.plugins.module_utils import _installer as inst
from ansible_collections.condafleet.conda.plugins.module_utils._files import FileError, write_atomic
from ansible_collections.condafleet.conda.plugins.module_utils._secrets import mask

#: download and hashing block; also the most that is read of a checksum file
CHUNK = 1 << 20
#: the most that is read of an installer to find its version line (``# VER:``, ``INSTALLER_VER=``)
PROBE_BYTES = 64 * 1024


class AcquireError(Exception):
    """The installer or its digest could not be had, or does not match; the message is masked."""

    def __init__(self, msg):
        super().__init__(mask(msg))


def _open(opener, url, doing):
    try:
        return opener(url)
    except Exception as exc:  # pylint: disable=broad-except
        raise AcquireError("%s %s failed: %s" % (doing, url, to_native(exc)))


def _read(resp, size, doing, url):
    try:
        return resp.read(size)
    except Exception as exc:  # pylint: disable=broad-except
        raise AcquireError("%s %s failed: %s" % (doing, url, to_native(exc)))


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(expected, actual, display):
    """Return ``actual``; raise when an ``expected`` digest (``None``: unverified) differs from it."""
    if expected is not None and actual != expected:
        raise AcquireError("checksum mismatch for %s: expected sha256:%s, got sha256:%s; nothing was installed"
                           % (display, expected, actual))
    return actual


def verify_file(path, expected, display=None):
    """The sha256 of the file at ``path``, checked against ``expected``."""
    return verify(expected, sha256_file(path), display or path)


def discover_release(plan, opener):
    """The release (``26.3.2-3``) the planned installer brings, read without downloading it.

    For a URL: the file name it redirects to (Miniforge's ``latest`` URLs), else the version line in its
    first ``PROBE_BYTES``; for a file: its version line, else its name. Raises ``AcquireError``.
    """
    if plan["kind"] == "file":
        try:
            with open(plan["path"], "rb") as handle:
                head = handle.read(PROBE_BYTES)
        except OSError as exc:
            raise AcquireError("cannot read installer_src %s: %s" % (plan["path"], exc.strerror or exc))
        release = inst.release_from_header(head.decode("latin-1")) or inst.release_from_filename(plan["name"])[0]
    else:
        resp = _open(opener, plan["url"], "reading")
        try:
            final = resp.geturl() if hasattr(resp, "geturl") else None
            release = inst.release_from_filename(inst.url_basename(final or plan["url"]))[0]
            if not release:
                release = inst.release_from_header(_read(resp, PROBE_BYTES, "reading", plan["url"]).decode("latin-1"))
        finally:
            resp.close()
    if not release:
        raise AcquireError("cannot tell which conda version %s installs (no version in its name, nor a '# VER:' or "
                           "INSTALLER_VER= line in its header); pin version instead of latest" % plan["display"])
    return release


def check_checksum(plan, local):
    """Fail before anything is fetched or changed when the plan can have no digest.

    ``local``: the plan's ``installer_src`` is on this machine, so a missing ``.sha256`` beside it is seen here.
    """
    checksum = plan["checksum"]
    if checksum["kind"] == "error":
        raise AcquireError(checksum["value"])
    if checksum["kind"] == "file" and local and checksum["missing"] and not os.path.isfile(checksum["value"]):
        raise AcquireError(checksum["missing"])


def expected_digest(plan, opener, cached=None):
    """The digest to trust for the planned installer, or ``None`` (``allow_unverified``).

    A checksum URL is read (at most ``CHUNK`` bytes) through ``opener``; with ``cached`` (a path), a copy
    kept there is used instead and a fetched one is kept there. Raises ``AcquireError``.
    """
    checksum = plan["checksum"]
    kind, origin = checksum["kind"], checksum["value"]
    if kind == "literal":
        return origin
    if kind == "none":
        return None
    check_checksum(plan, local=True)
    if kind == "file":
        if not os.path.isfile(origin):
            return None  # allow_unverified (check_checksum failed otherwise)
        with open(origin, "r", encoding="utf-8") as handle:
            text = handle.read()
    elif cached and os.path.isfile(cached):
        with open(cached, "r", encoding="utf-8") as handle:
            text = handle.read()
    else:
        resp = _open(opener, origin, "downloading")
        try:
            text = _read(resp, CHUNK, "downloading", origin).decode("utf-8", "replace")
        finally:
            resp.close()
    try:
        digest = inst.parse_sidecar(text, plan["name"])
    except inst.InstallerError as exc:
        raise AcquireError("%s (%s)" % (exc, origin))
    if kind == "url" and cached and not os.path.isfile(cached):
        keep(cached, "%s  %s\n" % (digest, plan["name"]))
    return digest


def fetch_verified(plan, opener, dest, expected):
    """Download the planned URL to ``dest``, verified against ``expected``; return its sha256.

    Chunks go into a temporary file in ``dest``'s directory, hashed as they are written; the file is renamed
    to ``dest`` only when the digest matches (``expected=None``: unverified), and removed otherwise.
    Raises ``AcquireError`` (download, mismatch) or ``OSError`` (writing).
    """
    digest = hashlib.sha256()
    fd, part = tempfile.mkstemp(dir=os.path.dirname(dest) or ".", prefix=".part.")
    try:
        with os.fdopen(fd, "wb") as out:
            resp = _open(opener, plan["url"], "downloading")
            try:
                while True:
                    chunk = _read(resp, CHUNK, "downloading", plan["url"])
                    if not chunk:
                        break
                    digest.update(chunk)
                    out.write(chunk)
            finally:
                resp.close()
        verify(expected, digest.hexdigest(), plan["display"])
        os.chmod(part, 0o644)
        os.replace(part, dest)
        part = None
    finally:
        if part is not None and os.path.exists(part):
            os.unlink(part)
    return digest.hexdigest()


def keep(path, text):
    """Write a world-readable cache file (``source.json``, a sidecar), masked: no credential reaches it."""
    try:
        write_atomic(path, mask(text).encode("utf-8"), mode=0o644)
    except FileError as exc:
        raise AcquireError(str(exc))
