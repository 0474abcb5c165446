# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the real conda 26.7.1 and 25.3.1 printed and wrote (tests/world/record.py, copies in
tests/unit/data/conda/<version>/), for the tests that read it, and ``make_env()``, a prefix of such records. Not a test
file: this directory's conftest.py puts it on sys.path."""
from __future__ import annotations

import json
import os

import pytest

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "conda")
#: the conda versions recorded by tests/world/record.py (copies in tests/unit/data/conda/<version>/)
VERSIONS = ("26.7.1", "25.3.1")
NEW, OLD = VERSIONS


def path(version, name):
    return os.path.join(DATA, version, name)


def transcript(version, name):
    """One recorded run of the real conda ``version``: ``{"argv", "env", "rc", "stdout", "stderr", "stdout_json"}``."""
    with open(path(version, name + ".json"), encoding="utf-8") as handle:
        return json.load(handle)


def recorded_file(version, name):
    with open(path(version, name), encoding="utf-8") as handle:
        return handle.read()


def stdout_of(case):
    return case["stdout"] if case["stdout"] is not None else json.dumps(case["stdout_json"], indent=1) + "\n"


def make_env(path, records=(), history=""):
    meta = path / "conda-meta"
    meta.mkdir(parents=True)
    (meta / "history").write_text(history)
    for rec in records:
        (meta / ("%s-%s-%s.json" % (rec["name"], rec["version"], rec["build"]))).write_text(json.dumps(rec))
    return path


both = pytest.mark.parametrize("version", VERSIONS)
