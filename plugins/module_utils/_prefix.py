# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""Reading a conda prefix from disk, without running conda.

Everything here is a pure read of files conda and its installers maintain in a
prefix: the ``conda-meta`` package records (the conda and Python versions
among them) and what makes a directory a conda installation. Converged checks
use these so that a host already in the desired state never starts a conda
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


def package_records(prefix, full_names=None):
    """The packages of ``prefix`` for a converged check, cheaply.

    Name, version and build of every package come from the ``conda-meta`` file
    names (``NAME-VERSION-BUILD.json``); only the records of ``full_names`` (all
    of them when ``None``) are parsed. A record that cannot be read is skipped,
    as in :func:`conda_meta_records`. Sorted by name.
    """
    if full_names is None:
        return conda_meta_records(prefix)
    meta = os.path.join(prefix, CONDA_META)
    try:
        names = os.listdir(meta)
    except OSError:
        return []
    wanted = set(full_names)
    records = []
    for filename in names:
        match = _RECORD_NAME_RE.match(filename)
        if not match:
            continue
        if match.group("name") in wanted:
            record = read_json_file(os.path.join(meta, filename))
            if isinstance(record, dict) and record.get("name") and record.get("version") is not None:
                records.append(record)
        else:
            records.append({"name": match.group("name"), "version": match.group("version"),
                            "build": match.group("build")})
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


def is_package_record(meta, filename):
    """Whether ``meta/filename`` is a package record conda wrote (``NAME-VERSION-BUILD.json`` whose content says so)."""
    match = _RECORD_NAME_RE.match(filename)
    if not match:
        return False
    record = read_json_file(os.path.join(meta, filename))
    return isinstance(record, dict) and \
        (record.get("name"), str(record.get("version")), record.get("build")) == match.group("name", "version", "build")


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


def python_version(records):
    for record in records:
        if record.get("name") == "python":
            return str(record.get("version"))
    return None


def torn_records(prefix):
    """The ``conda-meta`` records conda did not finish writing (a kill mid-write): named ``NAME-VERSION-BUILD.json``
    and not JSON. conda refuses an environment holding one (CorruptedEnvironmentError)."""
    meta = os.path.join(prefix, CONDA_META)
    try:
        names = sorted(os.listdir(meta))
    except OSError:
        return []
    return [name for name in names if _RECORD_NAME_RE.match(name) and read_json_file(os.path.join(meta, name)) is None]


def meta_fingerprint(prefix):
    """Names, sizes and mtimes of ``conda-meta`` files: cheap evidence that a failed run left it alone."""
    meta = os.path.join(prefix, CONDA_META)
    out = {}
    try:
        names = os.listdir(meta)
    except OSError:
        return None
    for name in names:
        try:
            st = os.stat(os.path.join(meta, name))
        except OSError:
            continue
        out[name] = (st.st_size, st.st_mtime_ns)
    return out


#: Written by ``conda_install`` into a prefix before its installer runs and removed once
#: the installation is complete: the positive evidence that a half-made prefix is an
#: install (or upgrade) this collection started, and so may be repaired or removed.
INSTALL_MARKER = ".condafleet-install"


def installation_state(prefix):
    """Describe the base installation at ``prefix`` from disk alone.

    Returns a dict with:

    - ``exists``: the path exists (a symlink to a directory is followed);
    - ``empty``: it is a directory with nothing in it (or does not exist);
    - ``conda_meta``, ``history``, ``conda_exe``: ``conda-meta/``, ``conda-meta/history``
      and ``bin/conda`` exist;
    - ``version``: the conda version from ``conda-meta/conda-*.json``, or ``None``;
    - ``marker``: this collection's install marker (:data:`INSTALL_MARKER`) is there;
    - ``complete``: what conda and its installer write is all there (history,
      ``bin/conda`` and a conda record);
    - ``found``: for a prefix that is neither, a short description of what is there;
    - ``state``: ``absent`` (nothing there, or an empty directory), ``incomplete``
      (an install this collection started and did not finish: its marker),
      ``installed`` (complete, no marker), or ``foreign`` (anything else: a file, a
      plain environment, a directory with content). Only positive evidence makes a
      prefix an installation; the absence of other files never does.
    """
    info = {
        "exists": os.path.lexists(prefix),
        "empty": True,
        "conda_meta": False,
        "history": False,
        "conda_exe": False,
        "version": None,
        "marker": False,
        "complete": False,
        "found": None,
        "state": "absent",
    }
    if not info["exists"]:
        return info
    if not os.path.isdir(prefix):  # a file, or a symlink to something that is not a directory
        info.update(empty=False, state="foreign",
                    found="a symlink to %s" % os.path.realpath(prefix) if os.path.islink(prefix) else "a file")
        return info
    try:
        entries = sorted(os.listdir(prefix))
    except OSError as exc:
        info.update(empty=False, state="foreign", found="a directory that cannot be read (%s)" % exc.strerror)
        return info
    info["empty"] = not entries
    info["conda_meta"] = os.path.isdir(os.path.join(prefix, CONDA_META))
    info["history"] = os.path.isfile(os.path.join(prefix, HISTORY))
    info["conda_exe"] = os.path.isfile(os.path.join(prefix, "bin", "conda"))
    info["version"] = conda_version(prefix) if info["conda_meta"] else None
    info["marker"] = os.path.isfile(os.path.join(prefix, INSTALL_MARKER))
    info["complete"] = bool(info["history"] and info["conda_exe"] and info["version"])
    if info["empty"]:
        info["state"] = "absent"
    elif info["marker"]:
        info["state"] = "incomplete"
    elif info["complete"]:
        info["state"] = "installed"
    else:
        info["state"] = "foreign"
        info["found"] = describe_foreign(prefix, entries, info)
    return info


def describe_foreign(prefix, entries, info):
    """What a prefix that is not a conda installation holds, in a few words, for messages."""
    if info["history"]:
        what = "a conda environment (conda-meta/history) without %s" % (
            "bin/conda" if not info["conda_exe"] else "a conda package record")
    elif info["conda_meta"]:
        what = "a conda-meta directory without conda-meta/history"
    else:
        what = "a directory that no conda installer or conda wrote"
    shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
    return "%s, holding %d entr%s: %s" % (what, len(entries), "y" if len(entries) == 1 else "ies", shown)


#: where the installers put an installation unless told otherwise, for the messages about a wrong prefix
INSTALL_HINT = "Miniforge installs into ~/miniforge3 or /opt/miniforge3, Miniconda into ~/miniconda3"


def installation_error(base_prefix, state=None):
    """Why ``base_prefix`` is not a conda installation to run conda from, or ``None`` when it is.

    The one message every module gives for a wrong ``prefix``: what is there, and where
    installations usually are. ``state`` is :func:`installation_state` of it, when already read.
    """
    state = state or installation_state(base_prefix)
    if state["state"] == "installed":
        return None
    if state["state"] == "absent":
        found = "nothing is there" if not state["exists"] else "an empty directory"
    elif state["state"] == "incomplete":
        found = "an install that did not finish; run conda_install on it"
    else:
        found = state["found"]
    return "no conda installation at %s (%s); set prefix (%s)" % (base_prefix, found, INSTALL_HINT)
