# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""The corpus of real environment.yml files, given to conda_env: as conda reads them, never a traceback.

HOOK: the corpus and conda 26.7.1's recorded reading of each file are built
and kept by the environment.yml work (issue 12, item 10) in
``tests/unit/data/envfiles/`` (``conda-26.7.1.json``: ``{"files": {NAME:
{"raw": ..., "error": ...}}}``, recorded by ``tests/world/record_envfiles.py``).
This suite only reuses them: until they are in the checkout the test skips.
Every file goes to conda_env in check mode (one playbook, a loop over the
corpus): a file conda could not read must fail with a message, one it read
must be predicted (or fail with conda's own error); never a traceback, and nothing is created.
"""
from __future__ import annotations

import json
import os

import pytest

import record_envfiles  # noqa: E402  (tests/world, on sys.path through the conftest)
import reliability_harness as harness

MODULE = "condafleet.conda.conda_env"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(ROOT, "tests", "unit", "data", "envfiles")
RECORDING = os.path.join(CORPUS, "conda-26.7.1.json")

pytestmark = [pytest.mark.reliability, pytest.mark.world, pytest.mark.slow]


def _recording():
    if not os.path.isfile(RECORDING):
        pytest.skip("the environment.yml corpus (issue 12, item 10) is not in this checkout: %s" % RECORDING)
    with open(RECORDING, encoding="utf-8") as handle:
        return json.load(handle)["files"]


def test_the_corpus_reads_as_conda_reads_it_and_creates_nothing(rel, base, tmp_path, ansible_playbook):
    recorded = _recording()
    rel.sentinels.environment(base.prefix)
    files = sorted(recorded)
    results = str(tmp_path / "corpus-results.json")
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Each environment file", MODULE: {"prefix": base.prefix, "name": "corpus", "spec_file": "{{ item }}"},
         "loop": [record_envfiles.corpus_path(name) for name in files], "register": "__r", "ignore_errors": True,
         "check_mode": True},
        {"name": "Save", "ansible.builtin.copy": {"content": "{{ __r.results | to_json }}", "dest": results,
                                                  "mode": "0600"}},
    ]}]
    playbook = tmp_path / "corpus.yml"
    playbook.write_text(json.dumps(play))
    started = harness.now_ns()
    proc = ansible_playbook(["-v", "-i", "localhost,", "-c", "local", str(playbook)], tmp_path,
                            {"ANSIBLE_LOG_PATH": str(tmp_path / "corpus.log")})
    rel.inputs += len(files)
    with open(results, encoding="utf-8") as handle:
        answers = json.load(handle)
    rel.scan({"stdout": proc.stdout, "stderr": proc.stderr, "results": json.dumps(answers)}, started, "corpus")
    wrong = []
    for name, answer in zip(files, answers):
        conda_failed = recorded[name].get("raw") is None
        if "Traceback (most recent call last)" in json.dumps(answer) or "module_stderr" in answer:
            wrong.append((name, "traceback"))
        elif conda_failed and not answer.get("failed"):
            wrong.append((name, "conda could not read it; the module did"))
        elif name in record_envfiles.REFUSED:  # conda reads it as something else than written: refused, said why
            if not answer.get("failed") or record_envfiles.REFUSED[name] not in answer.get("msg", ""):
                wrong.append((name, "not refused with %r: %s" % (record_envfiles.REFUSED[name], answer.get("msg"))))
        elif answer.get("failed") and not conda_failed and not answer.get("exception_name"):
            wrong.append((name, "conda read it; the module refused it: %s" % answer.get("msg")))
    assert wrong == []
    assert not os.path.exists(base.env("corpus"))
    rel.assert_safe()
