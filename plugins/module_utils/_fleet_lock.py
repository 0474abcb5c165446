# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""Fleet locks: an environment solved once per class of host, kept on the controller as an ``@EXPLICIT`` file.

A class is what decides the solution: the conda platform (subdir), the environment's arguments as the role
derives them on the host (the PyTorch build chosen from its GPU is one of its packages), its spec file's text and
the installation's channels. :func:`lock_key` digests them, so hosts with the same key get the same builds, and a
changed spec gets a new key (a new solve). Pure functions: ``conda_probe`` computes the key on the host and
``conda_env_info`` writes the lock text; which host of a class solves is ``_fleet_plan``'s, on the controller.
"""

from __future__ import annotations

import hashlib
import json
import re

from urllib.parse import urlsplit, urlunsplit

from ansible_collections.condafleet.conda.plugins.module_utils._envspec import (
    EXPLICIT_MARK,
    SpecError,
    is_conda_lock,
    is_explicit,
    parse_environment_yml,
)
from ansible_collections.condafleet.conda.plugins.module_utils._secrets import mask_text

#: bumped when the key's inputs change: old locks are then solved again, never misread
KEY_VERSION = 1
#: ``<name>.<subdir>.<key>.lock``: the key is the last part, so a name with dots stays readable
_LOCK_FILE = re.compile(r"^(?P<name>.+)\.(?P<subdir>[^.]+)\.(?P<key>[0-9a-f]{16})\.lock$")
_TOKEN_PATH = re.compile(r"^/t/[^/]+(?=/)")
#: names that make a plain file name on the controller (others are solved on each host)
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")


def lockable(args, spec_text, reader=None):
    """Whether an environment can be solved once for its class: kept (not absent), conda packages only.

    A lock file is already a lock; pip requirements are not part of an ``@EXPLICIT`` file, so an environment
    with a pip section is solved on each host. So is one whose name would not make a plain file name. A spec file this reader cannot read stays on each host too
    (conda_env reads it there).
    """
    if args.get("state") == "absent" or args.get("pip") or not _SAFE_NAME.match(args.get("name") or ""):
        return False
    if spec_text is None:
        return True
    if is_explicit(spec_text) or is_conda_lock(spec_text):
        return False
    try:
        return not parse_environment_yml(spec_text, reader, environ={})["pip"]
    except SpecError:
        return False


def lock_key(args, spec_text, subdir, installation_channels, mirror_url=None):
    """The class of an environment: 16 hex digits of a SHA-256 over what decides its solution.

    Credentials never enter it as written (the mirror URL is masked): the key is in file names and results.
    """
    environment = args.get("environment") or {}
    facts = {
        "version": KEY_VERSION,
        "subdir": subdir,
        "name": args.get("name"),
        "python": args.get("python"),
        "packages": list(args.get("packages") or []),
        "channels": [mask_text(c) for c in args.get("channels") or []],
        "override_channels": bool(args.get("override_channels")),
        "spec": spec_text,
        "installation_channels": [mask_text(c) for c in installation_channels or []],
        "mirror": mask_text(mirror_url or "") or None,
        # the CUDA the solver is told to assume (conda_cuda_override) changes which builds solve
        "cuda_override": environment.get("CONDA_OVERRIDE_CUDA"),
        "subdir_override": environment.get("CONDA_SUBDIR"),
    }
    text = json.dumps(facts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def lock_file_name(name, subdir, key):
    return "%s.%s.%s.lock" % (name, subdir, key)


def parse_lock_file_name(filename):
    """``{"name", "subdir", "key"}`` of a lock file's name, or ``None`` for another file."""
    match = _LOCK_FILE.match(filename or "")
    return match.groupdict() if match else None


def strip_credentials(url):
    """``url`` without userinfo and without a ``/t/<token>`` path prefix: a lock may be committed to git."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, _TOKEN_PATH.sub("", parts.path), parts.query, parts.fragment))


class LockError(ValueError):
    """The environment's records cannot make a lock (a package without its URL or checksum)."""


def install_order(records):
    """``records`` with each package after the packages it depends on (by name; ties by name), as
    ``conda list --explicit`` orders them: conda links an explicit file's packages in the order written."""
    by_name = dict((r.get("name", ""), r) for r in records)
    needs = {}
    for name, record in by_name.items():
        needs[name] = set(dep.split()[0] for dep in record.get("depends") or [] if dep.split()) & set(by_name)
        needs[name].discard(name)
    ordered = []
    while needs:
        ready = sorted(name for name, deps in needs.items() if not deps) or [sorted(needs)[0]]  # a cycle: by name
        for name in ready:
            ordered.append(by_name[name])
            del needs[name]
        for deps in needs.values():
            deps.difference_update(ready)
    return ordered


def lock_text(records, header=()):
    """An ``@EXPLICIT`` file of an environment's package records (``conda-meta``), in install order.

    Each line is ``URL#MD5`` (as ``conda list --explicit --md5``), the URL without credentials.
    ``header`` lines are written first, as comments.
    """
    lines = ["# %s" % mask_text(line) for line in header] + [EXPLICIT_MARK]
    for record in install_order(records):
        url, md5 = record.get("url"), record.get("md5")
        if not url or not md5:
            raise LockError("package %s-%s-%s has no %s in conda-meta: the environment cannot be locked"
                            % (record.get("name"), record.get("version"), record.get("build"),
                               "URL" if not url else "MD5"))
        lines.append("%s#%s" % (strip_credentials(url), md5))
    return "\n".join(lines) + "\n"
