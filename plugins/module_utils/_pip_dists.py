# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""The Python distributions installed in a prefix, from ``site-packages``, without running pip.
"""

from __future__ import annotations

import os
import re


def site_dists(prefix):
    """Every Python distribution installed in ``prefix``: ``{normalized name: {"version", "installer"}}``.

    Read from ``lib/python*/site-packages``: ``*.dist-info`` directories (their
    ``INSTALLER`` file says who installed it: ``pip``, ``conda``, or nothing, as
    many conda packages ship it) and ``*.egg-info`` entries (``installer`` ``""``).
    No pip process. Whatever installed a distribution, it satisfies a pip
    requirement for its name and version.
    """
    dists = {}
    lib = os.path.join(prefix, "lib")
    try:
        pythons = [d for d in os.listdir(lib) if d.startswith("python")]
    except OSError:
        return dists
    for pydir in sorted(pythons):
        site = os.path.join(lib, pydir, "site-packages")
        try:
            entries = sorted(os.listdir(site))
        except OSError:
            continue
        for entry in entries:
            found = _dist_of_entry(site, entry)
            if found:
                dists.setdefault(found[0], {"version": found[1], "installer": found[2]})
    return dists


def _dist_of_entry(site, entry):
    """``(normalized name, version, installer)`` of one site-packages entry, or ``None``."""
    if entry.endswith(".dist-info") and "-" in entry:
        name, version = entry[:-len(".dist-info")].rsplit("-", 1)
        try:
            with open(os.path.join(site, entry, "INSTALLER"), "r", encoding="utf-8", errors="replace") as handle:
                installer = handle.read().strip()
        except OSError:
            installer = ""
        return normalize_dist_name(name), version, installer
    if entry.endswith(".egg-info") and "-" in entry:  # NAME-VERSION[-pyX.Y].egg-info, a file or a directory
        parts = entry[:-len(".egg-info")].split("-")
        return normalize_dist_name(parts[0]), parts[1], ""
    return None


def pip_dists(prefix):
    """Distributions that pip installed in ``prefix`` (``INSTALLER`` says ``pip``): ``{normalized name: version}``."""
    return dict((name, dist["version"]) for name, dist in site_dists(prefix).items() if dist["installer"] == "pip")


def dist_versions(prefix):
    """The version of every distribution in ``prefix``, whatever installed it: ``{normalized name: version}``."""
    return dict((name, dist["version"]) for name, dist in site_dists(prefix).items())


def normalize_dist_name(name):
    """PEP 503 normalization: ``Foo_Bar.baz`` -> ``foo-bar-baz``."""
    return re.sub(r"[-_.]+", "-", name).lower()
