# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""environment.yml files read by the collection as the live, real conda 26.7.1 reads them.

The corpus (tests/unit/data/envfiles) is read by conda's own ``from_file()`` in a fresh
installation (``record_envfiles.READER``), so the comparison cannot go stale: a conda whose
reading changed fails here until the recording is redone. Files the collection's reader
leaves to the installation's Python go through the module's real fallback
(``_conda_loader.ENVIRONMENT_FILE_READER`` run by that installation's Python). Then conda_env converges
an environment from such a file through ansible-playbook.
"""
from __future__ import annotations

import json
import os
import subprocess

import pytest

import record_envfiles

from ansible_collections.condafleet.conda.plugins.module_utils import _conda_loader, _envspec, _text

pytestmark = [pytest.mark.world, pytest.mark.slow]


def installation_reader(prefix, tmp_path):
    """The module's fallback, for real: ENVIRONMENT_FILE_READER run by the installation's Python."""
    def read(text, why):
        path = tmp_path / "fallback.yml"
        path.write_text(text, encoding="utf-8")
        proc = subprocess.run([os.path.join(prefix, "bin", "python"), "-c", _conda_loader.ENVIRONMENT_FILE_READER, str(path)],
                              capture_output=True, text=True, check=False, env={"PYTHONNOUSERSITE": "1"})
        return _envspec.external_answer(proc.returncode, proc.stdout, why)
    return read


def test_the_corpus_reads_as_the_live_conda_reads_it(conda_base, tmp_path):
    files = record_envfiles.corpus_files()
    live = record_envfiles.read_with(os.path.join(conda_base, "bin", "python"), files)
    with open(os.path.join(record_envfiles.CORPUS, "conda-26.7.1.json"), encoding="utf-8") as handle:
        assert live == json.load(handle), "conda reads the corpus differently now: run tests/world/record_envfiles.py"
    reader = installation_reader(conda_base, tmp_path)
    problems = {}
    for path in files:
        name = os.path.basename(path)
        with open(path, "rb") as handle:
            text = _text.decode_text(handle.read())
        found = record_envfiles.differences(name, text, live["files"][name], reader, live["environ"])
        if found:
            problems[name] = found
    assert problems == {}


def test_conda_env_converges_a_file_conda_reads(run_module, conda_base, world_server, tmp_path):
    """Ignored sections, a block scalar (read by the installation's Python), ``${VAR}`` in channels,
    a pip section of options only (``-r requirements.txt``, relative to the file) and no ``pip``
    listed: conda's warnings, pip through a requirements file, nothing left out."""
    if not os.path.exists("/usr/bin/python3.11"):
        pytest.skip("the world's python 3.11 needs a host python3.11 to run pip")
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.txt").write_text("--index-url %s/pypi/simple/\ncondafleet-hello==1.0\n"
                                              % world_server.url.rstrip("/"))
    spec = project / "environment.yml"
    spec.write_text("---\nname: ignored-by-the-module\ncategory: demo\ndescription: |\n  A project.\n"
                    "channels:\n  - ${CONDAFLEET_TEST_CHANNEL}\n  - nodefaults\n"
                    "dependencies:\n  - python=3.11\n  - pip:\n    - -r requirements.txt\n...\n")
    args = {"prefix": conda_base, "name": "proj", "spec_file": str(spec)}
    environment = {"CONDAFLEET_TEST_CHANNEL": world_server.channel_url("conda-forge")}
    made = run_module("condafleet.conda.conda_env", args, environment=environment)
    assert made.changed and not made.failed, made.result
    warnings = " ".join(made.get("warnings", []))
    assert "EnvironmentSectionNotValid" in warnings and "category, description" in warnings, warnings
    assert "pip is added" in warnings, warnings
    assert "-c" in made["cmd"] and world_server.channel_url("conda-forge") in made["cmd"], made["cmd"]
    prefix = os.path.join(conda_base, "envs", "proj")
    assert os.path.exists(os.path.join(prefix, "conda-meta", "history"))
    assert [name for name in os.listdir(os.path.join(prefix, "conda-meta")) if name.startswith("pip-")]
    site = os.path.join(prefix, "lib", "python3.11", "site-packages")
    assert os.path.isdir(os.path.join(site, "condafleet_hello-1.0.dist-info")), made["commands"]
    pip = [cmd for cmd in made["commands"] if "pip" in cmd[1:3]]
    assert pip and pip[0][-2] == "-r" and "pypi" not in " ".join(pip[0]), pip
    again = run_module("condafleet.conda.conda_env", args, environment=environment)
    assert not again.changed and not again.failed, again.result
