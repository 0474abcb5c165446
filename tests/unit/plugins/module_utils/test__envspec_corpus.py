# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""The corpus of environment.yml files (tests/unit/data/envfiles) reads as the real conda 26.7.1 read it.

The expected readings were recorded from the real conda by ``tests/world/record_envfiles.py``
(``conda.env.env.from_file()``); tests/integration/test_envfile_corpus.py runs the same
comparison against a live conda. Where the collection's reader hands a file to the
installation's Python, the recorded reading of conda's loader stands for it here.
"""
from __future__ import annotations

import json
import os
import sys

import pytest

from ansible_collections.condafleet.conda.plugins.module_utils import _envspec as es, _text, _yaml_subset

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(HERE))))
WORLD = os.path.join(REPO, "tests", "world")
if WORLD not in sys.path:
    sys.path.insert(0, WORLD)

import record_envfiles  # noqa: E402  pylint: disable=wrong-import-position

with open(os.path.join(record_envfiles.CORPUS, "conda-26.7.1.json"), encoding="utf-8") as _handle:
    RECORDING = json.load(_handle)


def recorded_reader(recorded):
    """The installation's Python, played by conda's recorded reading."""
    def read(text, why):
        assert why and text
        if recorded["raw"] is None:
            raise es.SpecError("the environment file cannot be read as YAML: %s" % recorded["error"]["type"])
        return recorded["raw"]
    return read


def test_the_recording_covers_the_whole_corpus():
    files = sorted(os.path.basename(path) for path in record_envfiles.corpus_files())
    assert sorted(RECORDING["files"]) == files and len(files) >= 25
    assert RECORDING["conda_version"] == "26.7.1"


@pytest.mark.parametrize("name", sorted(RECORDING["files"]))
def test_reads_as_conda_reads_it(name):
    with open(record_envfiles.corpus_path(name), "rb") as handle:
        text = _text.decode_text(handle.read())
    recorded = RECORDING["files"][name]
    assert record_envfiles.differences(name, text, recorded, recorded_reader(recorded), RECORDING["environ"]) == []


BUILTIN = sorted(name for name, recorded in RECORDING["files"].items()
                 if recorded["raw"] is not None and name not in record_envfiles.FALLBACK)


@pytest.mark.parametrize("name", BUILTIN)
def test_the_builtin_reader_reads_the_same_data_as_conda_s_loader(name):
    """Every file but the FALLBACK ones, without an installation's Python: the data conda's loader read."""
    with open(record_envfiles.corpus_path(name), "rb") as handle:
        text = _text.decode_text(handle.read())
    assert _yaml_subset.parse_document(text) == RECORDING["files"][name]["raw"]


@pytest.mark.parametrize("text", ["%YAML 1.2\n---\na: 1\n", "a: 1\n---\nb: 2\n", "a: 1\n...\nb: 2\n",
                                  "--- a: 1\n", "a: |\n  x\n", "a: &x 1\nb: *x\n", "a: 1\n  b: 2\n"])
def test_the_builtin_reader_refuses_what_it_cannot_read_with_certainty(text):
    with pytest.raises(_yaml_subset.Unsupported):
        _yaml_subset.parse_document(text)


def test_without_a_reader_the_error_says_why():
    with pytest.raises(es.SpecError, match="does not read by itself"):
        es.parse_environment_yml("name: x\ndescription: >\n  folded\ndependencies: [python]\n")


def test_external_answer():
    assert es.external_answer(0, json.dumps({"reader": "conda", "data": {"a": 1}}), "why") == {"a": 1}
    with pytest.raises(es.SpecError, match="ComposerError: expected a single document"):
        es.external_answer(0, json.dumps({"error": "ComposerError: expected a single document (line 4)"}), "why")
    with pytest.raises(es.SpecError, match="could not read it either"):
        es.external_answer(1, "", "why")


def test_channels_expand_variables_as_conda_does():
    environ = {"MIRROR": "https://m.example.com", "EMPTY": ""}
    assert es.expand_vars("${MIRROR}/conda-forge", environ) == "https://m.example.com/conda-forge"
    assert es.expand_vars("$MIRROR/x $EMPTY|${NOPE}/y $", environ) == "https://m.example.com/x |${NOPE}/y $"


def test_pip_lines_reach_pip_as_written():
    lines = ["--index-url https://pypi.example.com/simple", "-e .", "tinyjson==0.1 --hash=sha256:" + "a" * 64,
             "git+https://example.com/x.git@v1#egg=x", "./local", "rich>=13", "pkg==1!2.0"]
    kinds = [es.pip_line(line)[0] for line in lines]
    assert kinds == ["option", "unnamed", "requirement", "unnamed", "unnamed", "requirement", "requirement"]
    assert es.pip_installs(lines) == lines[1:]
    # "-e ." and URLs are never known to be satisfied; named ones are read from dist-info
    assert es.pip_unsatisfied(lines, {"tinyjson": "0.1", "rich": "13.7", "pkg": "1!2.0"}) == lines[1:2] + lines[3:5]
    text = es.pip_requirements_text(lines, ["rich>=13"])
    assert text == "--index-url https://pypi.example.com/simple\nrich>=13\n"
    nested = ["-r requirements.txt", "--constraint=c.txt", "-f ./wheels", "-r /abs/r.txt", "-r https://x/r.txt",
              "-e ."]
    assert es.pip_requirements_text(nested, nested, "/srv/proj") == (
        "-r /srv/proj/requirements.txt\n--constraint=/srv/proj/c.txt\n-f /srv/proj/./wheels\n-r /abs/r.txt\n"
        "-r https://x/r.txt\n-e .\n")
    desired = es.desired_state({}, "dependencies:\n  - pip\n  - pip:\n    - -e .\n")
    assert desired["pip"] == ["-e ."]
    assert es.plan(None, desired)["pip"] == ["-e ."]


def test_epochs_are_versions_not_operators():
    desired = es.desired_state({"packages": ["tzdata>=1!2020.1", "openssl=1!3.0"], "pip": ["pkg==1!2.0"]})
    assert len(es.validate(desired)) == 2
    with pytest.raises(es.SpecError, match="is not an operator"):
        es.validate(es.desired_state({"packages": ["numpy=!1"]}))


def test_utf16_spec_files_decode_as_conda_decodes_them():
    text = "name: x\ndependencies:\n  - python\n"
    assert _text.decode_text(text.encode("utf-16")) == text


def test_messages_about_the_file_carry_no_secret():
    with pytest.raises(es.SpecError) as err:
        es.parse_environment_yml("channels: https://u:hunter2@x.example.com/t/tok123/c\ndependencies: []\n")
    assert "hunter2" not in str(err.value) and "tok123" not in str(err.value)
    env = es.parse_environment_yml("dependencies:\n  - pip\n  - pip:\n    - --index-url https://u:hunter2@x/simple\n"
                                   "    - first\n  - pip:\n    - second\n")
    assert env["pip"] == ["second"] and env["warnings"][0]["kind"] == "pip_replaced"
    assert "first" in env["warnings"][0]["msg"] and "hunter2" not in env["warnings"][0]["msg"]
