# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""Reading a conda installation from disk, without running conda.

Everything here is a pure read of files conda itself maintains: the
``conda-meta`` records of a prefix and its ``history``. Converged checks use
these so that a host already in the desired state never starts a conda
process.
"""

from __future__ import annotations

import json
import os
import re

CONDA_META = "conda-meta"
HISTORY = os.path.join(CONDA_META, "history")

_RECORD_NAME_RE = re.compile(r"^(?P<name>.+)-(?P<version>[^-]+)-(?P<build>[^-]+)\.json$")


def read_json_file(path):
    """Return the parsed JSON at ``path``, or ``None`` when it is missing or unreadable."""
    try:
        with open(path, "r", encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def conda_meta_records(prefix):
    """Return the package records of ``prefix`` (the ``conda-meta/*.json`` files), sorted by name.

    Files that are not valid records are skipped: conda itself ignores them.
    """
    meta = os.path.join(prefix, CONDA_META)
    try:
        names = sorted(os.listdir(meta))
    except OSError:
        return []
    records = []
    for filename in names:
        if not filename.endswith(".json"):
            continue
        record = read_json_file(os.path.join(meta, filename))
        if isinstance(record, dict) and record.get("name") and record.get("version") is not None:
            records.append(record)
    records.sort(key=lambda rec: rec["name"])
    return records


def find_record(prefix, name):
    """Return the record of package ``name`` installed in ``prefix``, or ``None``.

    Looks at file names first (``NAME-VERSION-BUILD.json``) so that only the
    matching record is parsed.
    """
    meta = os.path.join(prefix, CONDA_META)
    try:
        names = os.listdir(meta)
    except OSError:
        return None
    for filename in sorted(names):
        match = _RECORD_NAME_RE.match(filename)
        if not match or match.group("name") != name:
            continue
        record = read_json_file(os.path.join(meta, filename))
        if isinstance(record, dict) and record.get("name") == name:
            return record
    return None


def is_conda_prefix(path):
    """True when ``path`` is a conda environment (it has ``conda-meta/history``)."""
    return os.path.isfile(os.path.join(path, HISTORY))


def conda_version(prefix):
    """Return the version of the ``conda`` package installed in ``prefix``, or ``None``."""
    record = find_record(prefix, "conda")
    return record.get("version") if record else None


def version_tuple(version):
    """Return the leading numeric components of ``version`` as a tuple of ints (``'25.5.1'`` -> ``(25, 5, 1)``)."""
    parts = []
    for piece in re.split(r"[.\-_+]", str(version or "")):
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return tuple(parts)


def installation_state(prefix):
    """Describe the base installation at ``prefix`` from disk alone.

    Returns a dict with:

    - ``exists``: the path exists;
    - ``empty``: it is a directory with nothing in it (or does not exist);
    - ``conda_meta``: it has a ``conda-meta`` directory (something conda-like was started there);
    - ``history``: ``conda-meta/history`` exists;
    - ``conda_exe``: ``bin/conda`` exists;
    - ``version``: the conda version from ``conda-meta/conda-*.json``, or ``None``;
    - ``state``: ``absent`` (nothing there, or an empty directory), ``installed``
      (history, bin/conda and a conda record), ``incomplete`` (conda-meta present
      but the install did not finish), or ``foreign`` (a non-empty directory that
      is not a conda installation, or a file).
    """
    info = {
        "exists": os.path.lexists(prefix),
        "empty": True,
        "conda_meta": False,
        "history": False,
        "conda_exe": False,
        "version": None,
        "state": "absent",
    }
    if not info["exists"]:
        return info
    if not os.path.isdir(prefix) or os.path.islink(prefix):
        info["empty"] = False
        info["state"] = "foreign"
        return info
    try:
        info["empty"] = not os.listdir(prefix)
    except OSError:
        info["empty"] = False
    info["conda_meta"] = os.path.isdir(os.path.join(prefix, CONDA_META))
    info["history"] = os.path.isfile(os.path.join(prefix, HISTORY))
    info["conda_exe"] = os.path.isfile(os.path.join(prefix, "bin", "conda"))
    info["version"] = conda_version(prefix) if info["conda_meta"] else None
    if info["empty"]:
        info["state"] = "absent"
    elif info["history"] and info["conda_exe"] and info["version"]:
        info["state"] = "installed"
    elif info["conda_meta"] or _looks_like_partial_install(prefix):
        info["state"] = "incomplete"
    else:
        info["state"] = "foreign"
    return info


def _looks_like_partial_install(prefix):
    """An installer killed before it wrote ``conda-meta`` leaves its payload markers behind."""
    markers = ("pkgs", "_conda", "install.sh", ".installer.info")
    return any(os.path.lexists(os.path.join(prefix, marker)) for marker in markers) and not any(
        entry for entry in os.listdir(prefix) if entry not in markers + ("bin", "lib", "envs", "etc", "condabin", "conda-meta")
    )
