# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the collection's modules for real, through ansible-playbook, on this machine.

``run_module`` writes a one-task playbook that calls the module by FQCN against
``localhost`` (local connection), registers the result and stores it as JSON,
so tests assert on exactly what a playbook user would get, check and diff
mode included. The offline conda world's fixtures (``world``,
``world_server``, ``conda_base``...) come from ``tests/world/fixtures.py``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORLD = os.path.join(ROOT, "tests", "world")
if WORLD not in sys.path:
    sys.path.insert(0, WORLD)

try:  # the world's fixtures, when the world is part of this checkout
    from fixtures import *  # noqa: F401,F403 pylint: disable=wildcard-import,unused-wildcard-import
except ImportError:  # pragma: no cover - only while the world is being built
    pass

BIN = os.path.dirname(sys.executable)
# Modules run on the system Python, as on a managed node: standard library only.
MANAGED_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


class ModuleRun:
    """The outcome of one ansible-playbook run of one module."""

    def __init__(self, result, rc, stdout, stderr):
        self.result = result
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr

    def __getitem__(self, key):
        return self.result[key]

    def get(self, key, default=None):
        return self.result.get(key, default)

    @property
    def changed(self):
        return bool(self.result.get("changed"))

    @property
    def failed(self):
        return bool(self.result.get("failed"))

    def everything(self):
        """What the run showed or kept: the registered result (JSON), ansible-playbook's stdout and stderr."""
        return "\n".join([json.dumps(self.result), self.stdout, self.stderr])


def _playbook(module, args, result_path, environment):
    task = {
        "name": "Run the module under test",
        module: args,
        "register": "__result",
        "ignore_errors": True,
    }
    if environment:
        task["environment"] = environment
    save = {
        "name": "Save the result",
        "ansible.builtin.copy": {
            "content": "{{ __result | to_json }}",
            "dest": result_path,
            "mode": "0600",
        },
        "check_mode": False,
        "diff": False,
    }
    return [{"hosts": "localhost", "gather_facts": False, "tasks": [task, save]}]


def playbook_env(work, extra_env=None):
    """The environment of ``ansible-playbook`` as the integration tests run it."""
    env = dict(os.environ)
    env.update({
        "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"),
        "ANSIBLE_PYTHON_INTERPRETER": MANAGED_PYTHON,
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCAL_TEMP": str(work / "tmp"),
    })
    env.update(extra_env or {})
    return env


def run_playbook(args, work, extra_env=None):
    """``ansible-playbook ARGS`` from the repository root with this checkout's collection."""
    return subprocess.run([os.path.join(BIN, "ansible-playbook")] + list(args), cwd=ROOT,
                          env=playbook_env(work, extra_env), capture_output=True, text=True, timeout=900, check=False)


@pytest.fixture
def start_playbook():
    """Return ``start(args, work, out)``: ansible-playbook started in a session of its own (so that a test can kill
    it and every process it started), its output into the open file ``out``; a ``subprocess.Popen``."""
    def start(args, work, out):
        return subprocess.Popen([os.path.join(BIN, "ansible-playbook")] + list(args), cwd=ROOT,
                                env=playbook_env(work), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return start


@pytest.fixture
def ansible_playbook():
    """Return ``run(args, work, extra_env=None)``: ansible-playbook as the integration tests run it."""
    return run_playbook


@pytest.fixture
def assert_hidden():
    """Return ``check(secrets, runs, paths=())``: no secret in any run's output (``everything()``) or any file."""

    def check(secrets, runs, paths=()):
        texts = [("run %d" % number, run.everything()) for number, run in enumerate(runs)]
        for path in paths:
            with open(str(path), encoding="utf-8", errors="replace") as handle:
                texts.append((str(path), handle.read()))
        for where, text in texts:
            for secret in secrets:
                assert secret not in text, "%r shows up in %s:\n%s" % (secret, where, text)

    return check


@pytest.fixture
def run_module(tmp_path):
    """Return ``run(module, args, check=False, diff=False, environment=None, verbosity=0)``."""
    counter = {"n": 0}

    def run(module, args, check=False, diff=False, environment=None, verbosity=0, extra_env=None):
        counter["n"] += 1
        work = tmp_path / ("run-%d" % counter["n"])
        work.mkdir()
        result_path = str(work / "result.json")
        playbook = work / "play.yml"
        playbook.write_text(json.dumps(_playbook(module, args, result_path, environment)))
        args = ["-i", "localhost,", "-c", "local", str(playbook)]
        if check:
            args.append("--check")
        if diff:
            args.append("--diff")
        if verbosity:
            args.append("-" + "v" * verbosity)
        proc = run_playbook(args, work, extra_env)
        try:
            with open(result_path, encoding="utf-8") as handle:
                result = json.load(handle)
        except OSError:
            raise AssertionError("ansible-playbook did not run the module:\n%s\n%s" % (proc.stdout, proc.stderr))
        return ModuleRun(result, proc.returncode, proc.stdout, proc.stderr)

    return run
