# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""The suite's own counters can fail: a leak, a lost file, a lost environment are each seen.

These harnesses are never closed, so what they see stays out of the session's figures.
"""
from __future__ import annotations

import base64
import json
import os
import urllib.parse

import pytest

import reliability_harness as harness

pytestmark = [pytest.mark.reliability]


@pytest.mark.parametrize("canary", harness.CANARIES, ids=[c.kind for c in harness.CANARIES])
def test_every_form_of_a_canary_is_seen(canary):
    forms = [canary.value, urllib.parse.quote(canary.value, safe=""), json.dumps(canary.value),
             "http://u:%s@host/" % canary.value.split("@")[-1]]  # what a mask cut at the first '@' leaves
    if canary.user:
        forms.append(base64.b64encode(("%s:%s" % (canary.user, canary.value)).encode()).decode())
    for form in forms:
        assert harness.secrets_in("before %s after" % form) == [canary.kind], form
    assert harness.secrets_in("https://u:********@host/ and /t/********/conda-forge") == []


def test_lost_changed_and_chmodded_files_and_environments_are_counted(tmp_path):
    sentinels = harness.Sentinels()
    gone = sentinels.file(tmp_path / "a" / "gone.txt")
    edited = sentinels.file(tmp_path / "a" / "edited.txt")
    chmodded = sentinels.file(tmp_path / "a" / "chmodded.txt")
    emptied = sentinels.directory(tmp_path / "d")
    sentinels.file(tmp_path / "d" / "inside.txt")
    sentinels.dirs[emptied] = (["inside.txt"], sentinels.dirs[emptied][1])
    env = tmp_path / "env"
    (env / "conda-meta").mkdir(parents=True)
    (env / "conda-meta" / "history").write_text("==> 2026-01-01 00:00:00 <==\n")
    (env / "conda-meta" / "numpy-2.1.0-py311_0.json").write_text("{}")
    sentinels.environment(env)
    assert sentinels.lost() == ([], [])
    os.unlink(gone)
    with open(edited, "a", encoding="utf-8") as handle:
        handle.write("x")
    os.chmod(chmodded, 0o666)
    os.unlink(os.path.join(emptied, "inside.txt"))
    os.unlink(str(env / "conda-meta" / "numpy-2.1.0-py311_0.json"))
    files, envs = sentinels.lost()
    assert len(files) == 5 and len(envs) == 1, (files, envs)


def test_a_secret_in_a_world_readable_file_is_seen_and_in_a_private_one_not(tmp_path):
    rel = harness.Harness(None, tmp_path, "self-test")
    since = harness.now_ns()
    private = tmp_path / "private.condarc"
    private.write_text("channels: [http://127.0.0.1/t/%s/c]\n" % harness.TOKEN.value)
    os.chmod(str(private), 0o600)
    rel.scan({}, since, "self-test")
    assert rel.seen == []
    public = tmp_path / "history"
    public.write_text("# cmd: conda create -c http://127.0.0.1/t/%s/c\n" % harness.TOKEN.value)
    os.chmod(str(public), 0o644)
    rel.scan({}, since, "self-test")
    assert len(rel.seen) == 1 and "world-readable" in rel.seen[0], rel.seen
    given = rel.input_file(tmp_path / "given.yml", "password: %s\n" % harness.PIP.value, mode=0o644)
    rel.seen = []
    rel.scan({}, since, "self-test")
    assert not any(given in s for s in rel.seen)


@pytest.mark.world
def test_a_secret_printed_by_a_real_playbook_run_is_seen(run_module, tmp_path):
    rel = harness.Harness(run_module, tmp_path, "self-test")
    rel.run("ansible.builtin.debug", {"msg": "proxy is http://bob:%s@proxy:3128" % harness.PROXY.quoted})
    where = {s.rsplit(" in ", 1)[-1] for s in rel.seen}
    assert {"result", "stdout", "log"} <= where, rel.seen
