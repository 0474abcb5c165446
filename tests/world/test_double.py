# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: contributors to condafleet.conda
"""The conda double beyond the transcripts: TEST INFRASTRUCTURE ONLY.

``install --revision N`` (conda's revert to a history revision) and anaconda
tokens anywhere in a channel URL's path.
"""
from __future__ import annotations

import json
import os
import sys

import pytest

from fixtures import run_conda

HERE = os.path.dirname(os.path.abspath(__file__))
DOUBLE = os.path.join(HERE, "double")
if DOUBLE not in sys.path:
    sys.path.insert(0, DOUBLE)

from conda_double import context  # noqa: E402  pylint: disable=wrong-import-position


def packages(prefix):
    meta = os.path.join(prefix, "conda-meta")
    out = {}
    for name in os.listdir(meta):
        if name.endswith(".json"):
            with open(os.path.join(meta, name), encoding="utf-8") as handle:
                rec = json.load(handle)
            out[rec["name"]] = "%s-%s" % (rec["version"], rec["build"])
    return out


def history_blocks(prefix):
    with open(os.path.join(prefix, "conda-meta", "history"), encoding="utf-8") as handle:
        text = handle.read()
    return text.split("==> ")[1:]


@pytest.mark.world
@pytest.mark.slow
def test_install_revision_restores_a_previous_revision(conda_base):
    env = os.path.join(conda_base, "envs", "rev")
    made = run_conda(conda_base, "create", "-p", env, "python=3.11", "numpy=1.26", "--json", "-y")
    assert made.returncode == 0, made.stderr
    rev0 = packages(env)
    assert rev0["numpy"].startswith("1.26.4")

    changed = run_conda(conda_base, "install", "-p", env, "numpy=2.1", "pandas", "--json", "-y")
    assert changed.returncode == 0, changed.stderr
    assert packages(env)["numpy"].startswith("2.1.0") and "pandas" in packages(env)

    revisions = run_conda(conda_base, "list", "-p", env, "--revisions", "--json")
    assert [r["rev"] for r in revisions.json] == [0, 1]

    dry = run_conda(conda_base, "install", "-p", env, "--revision", "0", "--json", "-y", "--dry-run")
    assert dry.returncode == 0 and dry.json["dry_run"] is True, dry.stderr
    assert packages(env)["numpy"].startswith("2.1.0")

    back = run_conda(conda_base, "install", "-p", env, "--revision", "0", "--json", "-y")
    assert back.returncode == 0, back.stderr
    payload = back.json
    assert payload["success"] is True and payload["prefix"] == env
    assert set(payload["actions"]) == {"FETCH", "PREFIX", "UNLINK", "LINK"}
    assert sorted(r["name"] for r in payload["actions"]["UNLINK"]) == ["numpy", "pandas"]
    assert [(r["name"], r["version"]) for r in payload["actions"]["LINK"]] == [("numpy", "1.26.4")]
    assert payload["actions"]["FETCH"] == []  # the archive is still in the package cache
    assert packages(env) == rev0

    blocks = history_blocks(env)
    assert len(blocks) == 3
    last = blocks[-1].splitlines()
    assert last[1].startswith("# cmd: ") and "--revision 0" in last[1]
    assert any(line.startswith("-") and "::pandas-2.2.2-" in line for line in last)
    assert any(line.startswith("+") and "::numpy-1.26.4-" in line for line in last)
    assert last[-1].startswith("# update specs: ")

    same = run_conda(conda_base, "install", "-p", env, "--revision", "0", "--json", "-y")
    assert same.returncode == 0 and same.json == {"success": True,
                                                  "message": "All requested packages already installed."}
    forward = run_conda(conda_base, "install", "-p", env, "--revision", "1", "--json", "-y")
    assert forward.returncode == 0, forward.stderr
    assert packages(env)["numpy"].startswith("2.1.0") and "pandas" in packages(env)

    missing = run_conda(conda_base, "install", "-p", env, "--revision", "9", "--json", "-y")
    assert missing.returncode == 1 and missing.json["exception_name"] == "CondaIndexError"
    assert "no such revision: 9" in missing.json["message"]
    bad = run_conda(conda_base, "install", "-p", env, "--revision", "x", "--json", "-y")
    assert bad.returncode == 1 and bad.json["exception_name"] == "CondaValueError"


@pytest.mark.parametrize("url, location, name", [
    ("https://mirror.example/t/tk-123/conda-forge", "mirror.example", "conda-forge"),
    ("https://mirror.example/conda/t/tk-123/conda-forge", "mirror.example/conda", "conda-forge"),
    ("https://mirror.example/api/v1/t/tk-123/conda-forge/", "mirror.example/api/v1", "conda-forge"),
    ("https://mirror.example/conda/t/tk-123", "mirror.example", "conda"),
])
def test_token_anywhere_in_the_channel_path(url, location, name):
    dump = context.channel_object(url)
    assert (dump["token"], dump["location"], dump["name"]) == ("tk-123", location, name)
    assert "tk-123" not in context.mask(url) and "/t/<TOKEN>" in context.mask(url)
    assert "/t/" not in context.strip_token(url)
    assert context.split_token(url)[1] == "tk-123"


def test_no_token_and_masked_passwords():
    url = "https://user:pw@mirror.example/conda/t/tk-9/conda-forge/noarch/repodata.json"
    masked = context.mask(url)
    assert "pw" not in masked.replace("pypi", "") and "tk-9" not in masked
    assert masked == "https://user:<PASSWORD>@mirror.example/conda/t/<TOKEN>/conda-forge/noarch/repodata.json"
    plain = "https://mirror.example/tools/conda-forge"
    assert context.channel_object(plain)["token"] is None
    assert context.mask(plain) == plain and context.strip_token(plain) == plain
