# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""condafleet.conda.conda_env through ansible-playbook against a real conda (the world's Miniconda 26.7.1).

Every test gets a fresh installation (``conda_base``) whose channels point at the
loopback channel. ``PREFIX/bin/conda`` is wrapped by a script that logs each
invocation, which proves when the module did (not) start conda.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from urllib.parse import quote

import pytest

MODULE = "condafleet.conda.conda_env"

pytestmark = [pytest.mark.world, pytest.mark.slow]


@pytest.fixture
def base(conda_base, tmp_path):
    """The installation, with bin/conda wrapped to count invocations in ``base.log``."""
    conda = os.path.join(conda_base, "bin", "conda")
    os.rename(conda, conda + ".real")
    log = str(tmp_path / "conda-invocations.log")
    with open(conda, "w", encoding="utf-8") as handle:
        handle.write('#!/bin/sh\necho "start $$ $*" >> "%s"\n"%s.real" "$@"\nrc=$?\necho "end $$" >> "%s"\nexit $rc\n'
                     % (log, conda, log))
    os.chmod(conda, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    open(log, "w").close()
    return Base(conda_base, log)


class Base:
    def __init__(self, prefix, log):
        self.prefix = prefix
        self.log = log

    def lines(self):
        with open(self.log, encoding="utf-8") as handle:
            return handle.read().splitlines()

    def count(self):
        return len([line for line in self.lines() if line.startswith("start ")])

    def env(self, name):
        return os.path.join(self.prefix, "envs", name)


def meta_bytes(prefix):
    meta = os.path.join(prefix, "conda-meta")
    out = {}
    for name in sorted(os.listdir(meta)):
        with open(os.path.join(meta, name), "rb") as handle:
            out[name] = hashlib.sha256(handle.read()).hexdigest()
    return out


def installed(prefix):
    meta = os.path.join(prefix, "conda-meta")
    return sorted(name[:-5] for name in os.listdir(meta) if name.endswith(".json"))


def lines(packages):
    return sorted("%s-%s-%s" % (p["name"], p["version"], p["build"]) for p in packages)


def test_check_mode_on_a_fresh_host_predicts_exactly_what_the_real_run_does(run_module, base):
    args = {"prefix": base.prefix, "name": "vision", "python": "3.11", "packages": ["numpy", "opencv"]}
    check = run_module(MODULE, args, check=True, diff=True)
    assert check.changed and not check.failed, check.result
    assert not os.path.exists(base.env("vision"))
    assert "--dry-run" in check["cmd"] and check["cmd"][1] == "create"
    real = run_module(MODULE, args, diff=True)
    assert real.changed and not real.failed, real.result
    assert lines(real["packages_added"]) == lines(check["actions"]["link"])
    assert real["diff"]["after"] == check["diff"]["after"]
    assert installed(base.env("vision")) == lines(check["actions"]["link"])


def test_lifecycle_create_converge_add_tighten_prune_absent(run_module, base):
    spec = {"prefix": base.prefix, "name": "vision", "python": "3.11", "packages": ["numpy", "opencv"]}
    created = run_module(MODULE, spec)
    assert created.changed and not created.failed, created.result
    assert created["cmd"][1] == "create" and created["prefix"] == base.env("vision")
    assert {"numpy", "opencv", "python", "pip"} <= set(p["name"] for p in created["packages_added"])

    calls = base.count()
    again = run_module(MODULE, spec, diff=True)
    assert not again.changed and not again.failed and again["cmd"] is None, again.result
    assert base.count() == calls, "a converged run must not start conda"
    assert again["diff"]["before"] == again["diff"]["after"]

    added = run_module(MODULE, dict(spec, packages=["numpy", "opencv", "pandas=2.2"]))
    assert added.changed and added["cmd"][1] == "install", added.result
    assert [(p["name"], p["version"]) for p in added["packages_added"]] == [("pandas", "2.2.2")]
    assert base.count() == calls + 1, "one conda process per change"

    tightened = run_module(MODULE, dict(spec, packages=["numpy<2", "opencv", "pandas=2.2"]), diff=True)
    assert tightened.changed, tightened.result
    numpy = [c for c in tightened["packages_changed"] if c["name"] == "numpy"]
    assert numpy and numpy[0]["after"]["version"].startswith("1.")
    assert "numpy 2.1.0" in tightened["diff"]["before"] and "numpy 2.1.0" not in tightened["diff"]["after"]

    before = meta_bytes(base.env("vision"))
    predicted = run_module(MODULE, dict(spec, packages=["numpy<2", "opencv"], prune=True), check=True, diff=True)
    assert predicted.changed and [p["name"] for p in predicted["actions"]["unlink"]] == ["pandas"], predicted.result
    assert meta_bytes(base.env("vision")) == before
    pruned = run_module(MODULE, dict(spec, packages=["numpy<2", "opencv"], prune=True), diff=True)
    assert pruned.changed, pruned.result
    assert pruned["diff"]["after"] == predicted["diff"]["after"]
    assert [p["name"] for p in pruned["packages_removed"]] == ["pandas"]
    assert "pandas" not in " ".join(installed(base.env("vision")))
    calls = base.count()
    assert not run_module(MODULE, dict(spec, packages=["numpy<2", "opencv"], prune=True)).changed
    assert base.count() == calls

    gone = run_module(MODULE, {"prefix": base.prefix, "name": "vision", "state": "absent"})
    assert gone.changed and not os.path.exists(os.path.join(base.env("vision"), "conda-meta", "history")), gone.result
    assert not run_module(MODULE, {"prefix": base.prefix, "name": "vision", "state": "absent"}).changed


def test_latest_updates_requested_packages(run_module, base):
    spec = {"prefix": base.prefix, "name": "old", "python": "3.11", "packages": ["numpy=1.24"]}
    assert run_module(MODULE, spec).changed
    latest = run_module(MODULE, dict(spec, packages=["numpy"], state="latest"))
    assert not latest.failed, latest.result
    assert latest.changed and latest["packages_changed"][0]["after"]["version"] == "2.1.0", latest.result
    again = run_module(MODULE, dict(spec, packages=["numpy"], state="latest"))
    assert not again.changed, again.result


@pytest.mark.parametrize("bad, exception", [
    ("no-such-package", "PackagesNotFound"),
    ("numpy=2.1 python=3.9", "Unsatisfiable"),
])
def test_failures_are_clear_and_leave_conda_meta_byte_for_byte(run_module, base, bad, exception):
    spec = {"prefix": base.prefix, "name": "stable", "python": "3.11", "packages": ["numpy"]}
    assert run_module(MODULE, spec).changed
    before = meta_bytes(base.env("stable"))
    packages = bad.split() if " " in bad else ["numpy", bad]
    failed = run_module(MODULE, dict(spec, python=None, packages=packages))
    assert failed.failed, failed.result
    assert exception in failed["exception_name"] and exception in failed["msg"] and failed["conda_message"]
    # nothing was touched, so nothing was rolled back; conda's raw output only at -vvv
    assert "rolled_back" not in failed.result and failed["msg"].endswith("the environment was not changed")
    assert not set(["stdout", "stderr", "stdout_lines"]) & set(failed.result), failed.result
    assert meta_bytes(base.env("stable")) == before
    verbose = run_module(MODULE, dict(spec, python=None, packages=packages), verbosity=3)
    assert verbose.failed and exception in json.loads(verbose["stdout"])["exception_name"], verbose.result
    assert "rolled_back" not in verbose.result and meta_bytes(base.env("stable")) == before


def test_a_transaction_that_fails_after_changing_the_env_is_rolled_back(run_module, base):
    """conda fails after it linked packages (a post-link script, a killed run...): the module reverts
    the environment to the revision it had, with ``conda install --revision N``."""
    spec = {"prefix": base.prefix, "name": "stable", "python": "3.11", "packages": ["numpy=1.26"]}
    assert run_module(MODULE, spec).changed
    before = installed(base.env("stable"))
    conda = os.path.join(base.prefix, "bin", "conda")
    error = os.path.join(os.path.dirname(base.log), "link-error.json")
    with open(error, "w", encoding="utf-8") as handle:
        json.dump({"caused_by": "None", "error": "LinkError: post-link script failed for package numpy",
                   "exception_name": "LinkError", "exception_type": "<class 'conda.exceptions.LinkError'>",
                   "message": "post-link script failed for package numpy"}, handle)
    # an install (not a revert) links its packages, then fails the way conda reports a failed transaction
    with open(conda, "w", encoding="utf-8") as handle:
        handle.write('#!/bin/sh\n'
                     'echo "start $$ $*" >> "%(log)s"\n'
                     'case " $* " in\n'
                     '  *" --revision "*) ;;\n'
                     '  *" install "*) "%(conda)s.real" "$@" >/dev/null; cat "%(error)s"; echo "end $$" >> "%(log)s"; exit 1;;\n'
                     'esac\n'
                     '"%(conda)s.real" "$@"\nrc=$?\necho "end $$" >> "%(log)s"\nexit $rc\n'
                     % {"log": base.log, "conda": conda, "error": error})
    failed = run_module(MODULE, dict(spec, packages=["numpy=2.1", "pandas"]))
    assert failed.failed and "LinkError" in failed["exception_name"], failed.result
    assert failed["rolled_back"] is True, failed.result
    assert installed(base.env("stable")) == before
    starts = [line.split(" ", 2)[2] for line in base.lines() if line.startswith("start ")]
    assert starts[-2].startswith("install ") and "--revision" not in starts[-2], starts
    assert starts[-1].startswith("install ") and "--revision 0" in starts[-1], starts
    with open(os.path.join(base.env("stable"), "conda-meta", "history"), encoding="utf-8") as handle:
        history = handle.read()
    assert history.count("==> ") == 3 and "--revision 0" in history


def test_invalid_spec_fails_before_conda_runs(run_module, base):
    calls = base.count()
    failed = run_module(MODULE, {"prefix": base.prefix, "name": "x", "packages": ["numpy", "python==>3.9"]})
    assert failed.failed and "'python==>3.9'" in failed["msg"]
    assert base.count() == calls and not os.path.exists(base.env("x"))


def explicit_lock(base, prefix):
    """``conda list --explicit --sha256`` of ``prefix``, by the real conda (not counted as the module's)."""
    proc = subprocess.run([os.path.join(base.prefix, "bin", "conda.real"), "list", "--explicit", "--sha256",
                           "-p", prefix], capture_output=True, text=True, check=True)
    assert "@EXPLICIT" in proc.stdout
    return proc.stdout


def test_environment_yml_then_lock_file(run_module, base, tmp_path):
    env_yml = tmp_path / "environment.yml"
    env_yml.write_text("name: ignored\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.12\n  - fastapi\n")
    made = run_module(MODULE, {"prefix": base.prefix, "name": "web", "spec_file": str(env_yml)})
    assert made.changed and not made.failed, made.result
    calls = base.count()
    assert not run_module(MODULE, {"prefix": base.prefix, "name": "web", "spec_file": str(env_yml)}).changed
    assert base.count() == calls

    lock = explicit_lock(base, base.env("web"))
    copy = run_module(MODULE, {"prefix": base.prefix, "path": str(tmp_path / "web-copy"), "spec_content": lock})
    assert copy.changed and not copy.failed, copy.result
    assert installed(str(tmp_path / "web-copy")) == installed(base.env("web"))
    calls = base.count()
    assert not run_module(MODULE, {"prefix": base.prefix, "path": str(tmp_path / "web-copy"),
                                   "spec_content": lock}).changed
    assert base.count() == calls


def test_lock_file_create_update_and_converged_without_a_solver(run_module, base, tmp_path):
    """Real conda answers ``create``/``install --file LOCK --json`` with rc 0 and no output: the module
    reads what it did from conda-meta, predicts it in check mode, and recognises the result from disk."""
    assert run_module(MODULE, {"prefix": base.prefix, "name": "src", "python": "3.11",
                               "packages": ["numpy=1.26"]}).changed
    first = explicit_lock(base, base.env("src"))
    lock = tmp_path / "env.lock"
    lock.write_text(first)
    target = str(tmp_path / "locked")
    spec = {"prefix": base.prefix, "path": target, "spec_file": str(lock)}

    calls = base.count()
    predicted = run_module(MODULE, spec, check=True, diff=True)
    assert predicted.changed and not predicted.failed, predicted.result
    assert not os.path.exists(target) and base.count() == calls  # a lock needs no solver to predict
    assert lines(predicted["actions"]["link"]) == installed(base.env("src"))

    made = run_module(MODULE, spec, diff=True)
    assert made.changed and not made.failed, made.result
    assert installed(target) == installed(base.env("src"))
    assert lines(made["actions"]["link"]) == installed(base.env("src"))
    assert made["diff"]["after"] == predicted["diff"]["after"]
    assert base.count() == calls + 1

    calls = base.count()
    again = run_module(MODULE, spec, check=True)
    assert not again.changed and not again.failed, again.result
    assert not run_module(MODULE, spec).changed
    assert base.count() == calls, "a converged lock-file environment is read from disk, no conda process"

    # an updated lock: numpy 1.26 -> 2.1 (conda solves elsewhere, the lock carries the result)
    assert run_module(MODULE, {"prefix": base.prefix, "name": "src", "python": "3.11",
                               "packages": ["numpy=2.1"]}).changed
    lock.write_text(explicit_lock(base, base.env("src")))
    predicted = run_module(MODULE, spec, check=True, diff=True)
    assert predicted.changed and [p["version"] for p in predicted["actions"]["link"]] == ["2.1.0"], predicted.result
    updated = run_module(MODULE, spec, diff=True)
    assert updated.changed and not updated.failed, updated.result
    assert [c["after"]["version"] for c in updated["packages_changed"] if c["name"] == "numpy"] == ["2.1.0"]
    assert [p["name"] for p in updated["actions"]["link"]] == ["numpy"]
    assert installed(target) == installed(base.env("src"))
    calls = base.count()
    assert not run_module(MODULE, spec).changed
    assert base.count() == calls


def test_an_empty_environment_converges_and_is_removed(run_module, base):
    """An environment without packages: real conda answers ``remove --all --json`` on it with rc 0
    and no output."""
    spec = {"prefix": base.prefix, "name": "empty"}
    made = run_module(MODULE, spec)
    assert made.changed and not made.failed, made.result
    assert os.path.isfile(os.path.join(base.env("empty"), "conda-meta", "history"))
    assert installed(base.env("empty")) == []
    calls = base.count()
    assert not run_module(MODULE, spec).changed
    assert base.count() == calls

    predicted = run_module(MODULE, dict(spec, state="absent"), check=True, diff=True)
    assert predicted.changed and os.path.isdir(base.env("empty")), predicted.result
    gone = run_module(MODULE, dict(spec, state="absent"), diff=True)
    assert gone.changed and not gone.failed, gone.result
    assert not os.path.exists(os.path.join(base.env("empty"), "conda-meta", "history"))
    calls = base.count()
    again = run_module(MODULE, dict(spec, state="absent"))
    assert not again.changed and not again.failed, again.result
    assert base.count() == calls


@pytest.mark.parametrize("name", ["two words", "a#b", "a:b", "new\nline"])
def test_names_conda_refuses_fail_before_conda_runs(run_module, base, name):
    failed = run_module(MODULE, {"prefix": base.prefix, "name": name, "python": "3.11"})
    assert failed.failed and repr(name) in failed["msg"], failed.result
    assert base.count() == 0 and os.listdir(os.path.join(base.prefix, "envs")) == []


def test_version_specs_real_conda_accepts_converge_from_disk(run_module, base):
    """``3.11.*`` and ``=1.26|1.24`` (an or of a fuzzy and an exact version) read as conda reads them."""
    spec = {"prefix": base.prefix, "name": "forms", "python": "3.11.*", "packages": ["numpy=1.26|1.24"]}
    made = run_module(MODULE, spec)
    assert made.changed and not made.failed, made.result
    assert [p for p in installed(base.env("forms")) if p.startswith(("numpy-", "python-"))] == \
        ["numpy-1.26.4-py311_0", "python-3.11.9-h0_0_cpython"]
    calls = base.count()
    assert not run_module(MODULE, spec).changed
    assert base.count() == calls


def test_absent_never_removes_base(run_module, base):
    before = meta_bytes(base.prefix)
    failed = run_module(MODULE, {"prefix": base.prefix, "name": "base", "state": "absent"})
    assert failed.failed and "base" in failed["msg"]
    assert meta_bytes(base.prefix) == before


def test_pip_packages_in_the_same_run_and_no_pip_when_satisfied(run_module, base, world_server):
    if not os.path.exists("/usr/bin/python3.11"):
        pytest.skip("the world's python 3.11 needs a host python3.11 to run pip")
    index = world_server.url.rstrip("/") + "/pypi/simple/"
    spec = {"prefix": base.prefix, "name": "api", "python": "3.11", "packages": ["pip"],
            "pip": ["--index-url " + index, "condafleet-hello==1.0"]}
    made = run_module(MODULE, spec)
    assert made.changed and not made.failed, made.result
    assert made["actions"]["pip"] == ["condafleet-hello==1.0"]
    site = os.path.join(base.env("api"), "lib", "python3.11", "site-packages")
    assert os.path.isdir(os.path.join(site, "condafleet_hello-1.0.dist-info"))
    calls = base.count()
    again = run_module(MODULE, spec)
    assert not again.changed and again["commands"] == [], again.result
    assert base.count() == calls
    upgraded = run_module(MODULE, dict(spec, pip=["--index-url " + index, "condafleet-hello>=1.1"]))
    assert upgraded.changed and os.path.isdir(os.path.join(site, "condafleet_hello-1.1.dist-info")), upgraded.result


@pytest.mark.parametrize("cuda, build", [("12.4", "cuda124"), ("", "cpu")])
def test_environment_option_reaches_conda_for_cuda_builds(run_module, base, cuda, build):
    spec = {"prefix": base.prefix, "name": "gpu", "python": "3.11", "packages": ["pytorch"],
            "environment": {"CONDA_OVERRIDE_CUDA": cuda}}
    check = run_module(MODULE, spec, check=True)
    assert check.changed and not check.failed, check.result
    torch = [p for p in check["actions"]["link"] if p["name"] == "pytorch"]
    assert torch and torch[0]["build"].startswith(build), check["actions"]["link"]
    assert not os.path.exists(base.env("gpu"))


def test_two_runs_at_once_are_serialized_by_the_installation_lock(run_module, base):
    import threading
    import time
    results = {}

    def converge(name):
        results[name] = run_module(MODULE, {"prefix": base.prefix, "name": name, "python": "3.11",
                                            "packages": ["numpy", "pandas"]})

    from ansible_collections.condafleet.conda.plugins.module_utils._install_lock import InstallationLock

    threads = [threading.Thread(target=converge, args=(name,)) for name in ("one", "two")]
    with InstallationLock(base.prefix, timeout=5):  # another run holds the installation
        for thread in threads:
            thread.start()
            time.sleep(0.3)
        time.sleep(8)
        assert base.lines() == [], "a run started conda while the installation was locked"
    for thread in threads:
        thread.join()
    assert all(r.changed and not r.failed for r in results.values()), [r.result for r in results.values()]
    events = [line.split()[0] for line in base.lines()]
    assert events == ["start", "end", "start", "end"], base.lines()  # never two conda processes at once


@pytest.mark.parametrize("check", [False, True])
def test_a_wrong_prefix_says_so_first(run_module, base, tmp_path, check):
    """No installation at prefix: one clear message (never a raw [Errno 2] or 'Error executing command')."""
    wrong = str(tmp_path / "miniforge3")
    for state in ("present", "absent"):
        failed = run_module(MODULE, {"prefix": wrong, "name": "web", "python": "3.12", "state": state}, check=check)
        assert failed.failed and failed["msg"].startswith("no conda installation at %s (nothing is there)" % wrong), \
            failed.result
    info = run_module("condafleet.conda.conda_env_info", {"prefix": wrong}, check=check)
    assert info.failed and "no conda installation at %s" % wrong in info["msg"], info.result
    assert base.count() == 0 and not os.path.exists(wrong)


# ---------------------------------------------------------------- issue 12: recovery, pip met by conda, input checks

INFO = "condafleet.conda.conda_env_info"

# Stands in for bin/conda: runs the real conda; during ``create`` it waits for the first whole package
# record conda writes into the target's conda-meta, then SIGKILLs conda and, with "parent", the
# process that started it (the module), as when the whole run is killed half-way. (A record torn by
# the kill is made on purpose by the test that needs one: waiting for a whole one keeps the others exact.)
KILLER = r'''#!/usr/bin/python3
import json, os, signal, subprocess, sys, time
real, log, kill_parent = %(real)r, %(log)r, %(kill_parent)r
with open(log, "a") as handle:
    handle.write("start %%d %%s\n" %% (os.getpid(), " ".join(sys.argv[1:])))
args = sys.argv[1:]
if "create" not in args[:1] or "--dry-run" in args:
    sys.exit(subprocess.call([real] + args))
target = args[args.index("-p") + 1]
proc = subprocess.Popen([real] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
meta = os.path.join(target, "conda-meta")
def whole(name):
    try:
        with open(os.path.join(meta, name)) as handle:
            return isinstance(json.load(handle), dict)
    except (OSError, ValueError):
        return False
while proc.poll() is None:
    try:
        if any(name.endswith(".json") and whole(name) for name in os.listdir(meta)):
            os.kill(proc.pid, signal.SIGKILL)
            if kill_parent:
                os.kill(os.getppid(), signal.SIGKILL)
            break
    except OSError:
        pass
    time.sleep(0.001)
proc.wait()
sys.exit(137)
'''


def install_killer(base, kill_parent):
    conda = os.path.join(base.prefix, "bin", "conda")
    saved = conda + ".logged"
    if not os.path.exists(saved):
        os.rename(conda, saved)
    with open(conda, "w", encoding="utf-8") as handle:
        handle.write(KILLER % {"real": conda + ".real", "log": base.log, "kill_parent": kill_parent})
    os.chmod(conda, 0o755)
    return lambda: os.replace(saved, conda)


def half_made(prefix):
    meta = os.path.join(prefix, "conda-meta")
    marker = [".condafleet-create"] if os.path.exists(os.path.join(prefix, ".condafleet-create")) else []
    return sorted(os.listdir(meta) + marker), os.path.exists(os.path.join(meta, "history"))


@pytest.mark.parametrize("which", ["conda_base", "conda_base_old"])
def test_create_works_with_either_conda_into_a_new_or_an_empty_directory(run_module, request, which, tmp_path):
    """conda 25.x refuses to create into a directory holding ``conda-meta``: the create marker is not in it."""
    base = request.getfixturevalue(which)
    empty = tmp_path / "empty-target"
    empty.mkdir()
    for spec in ({"prefix": base, "name": "fresh", "packages": ["numpy"]},
                 {"prefix": base, "path": str(empty), "packages": ["numpy"]}):
        made = run_module(MODULE, spec)
        assert made.changed and not made.failed, made.result
        target = made["prefix"]
        assert os.path.isfile(os.path.join(target, "conda-meta", "history"))
        assert not os.path.exists(os.path.join(target, ".condafleet-create"))
        again = run_module(MODULE, spec)
        assert not again.changed and not again.failed and again["cmd"] is None, again.result


def test_a_failed_create_leaves_an_empty_target_directory_as_it_was(run_module, conda_base, tmp_path):
    """The user made the directory: a create that fails (here at solve time) empties it of what the run wrote,
    and leaves the directory, its mode and owner."""
    target = tmp_path / "prepared"
    target.mkdir()
    os.chmod(str(target), 0o750)
    before = os.stat(str(target))
    failed = run_module(MODULE, {"prefix": conda_base, "path": str(target), "packages": ["no-such-package-q"]})
    # conda failed before it wrote anything: the module's create marker was all there was to take away
    assert failed.failed and "rolled_back" not in failed.result, failed.result
    assert "no-such-package-q" in failed["msg"] and failed["msg"].endswith("the environment was not changed")
    after = os.stat(str(target))
    assert os.listdir(str(target)) == []
    assert (after.st_mode, after.st_uid, after.st_gid) == (before.st_mode, before.st_uid, before.st_gid)


def test_a_create_killed_half_way_is_reported_recreated_and_removed(run_module, base):
    spec = {"prefix": base.prefix, "name": "killed", "python": "3.11", "packages": ["numpy"]}
    target = base.env("killed")
    restore = install_killer(base, kill_parent=True)
    killed = run_module(MODULE, spec)
    restore()
    assert killed.failed, killed.result
    names, history = half_made(target)
    assert not history and ".condafleet-create" in names and any(n.endswith(".json") for n in names), names

    info = run_module(INFO, {"prefix": base.prefix, "name": "killed"})
    assert info["exists"] is True and info["environments"][0]["complete"] is False, info.result
    listed = run_module(INFO, {"prefix": base.prefix})
    assert [(e["name"], e["complete"]) for e in listed["environments"]] == [("base", True), ("killed", False)]

    calls = base.count()
    predicted = run_module(MODULE, spec, check=True)
    assert predicted.changed and not predicted.failed and "half-made" in predicted["found"], predicted.result
    assert half_made(target) == (names, False)
    repaired = run_module(MODULE, spec)
    assert repaired.changed and not repaired.failed, repaired.result
    assert "half-made" in repaired["found"] and any("created again" in w for w in repaired.get("warnings", []))
    names, history = half_made(target)
    assert history and ".condafleet-create" not in names and any(n.startswith("numpy-") for n in names)
    assert base.count() == calls + 2  # the dry run, then one create
    again = run_module(MODULE, spec)
    assert not again.changed and not again.failed and "found" not in again.result, again.result

    # killed again, this time outside any module run: conda's records are the evidence (no marker)
    subprocess.run([os.path.join(base.prefix, "bin", "conda.real"), "remove", "--all", "--yes", "-p", target],
                   check=True, capture_output=True)
    restore = install_killer(base, kill_parent=False)
    subprocess.run([os.path.join(base.prefix, "bin", "conda"), "create", "--yes", "-p", target, "python=3.11"],
                   check=False, capture_output=True)
    restore()
    names, history = half_made(target)
    assert not history and ".condafleet-create" not in names and any(n.endswith(".json") for n in names), names
    info = run_module(INFO, {"prefix": base.prefix, "path": target, "python": "3.11"})
    assert info["environments"][0]["complete"] is False, info.result
    absent = {"prefix": base.prefix, "name": "killed", "state": "absent"}
    calls = base.count()
    predicted = run_module(MODULE, absent, check=True)
    assert predicted.changed and os.path.isdir(target), predicted.result
    gone = run_module(MODULE, absent)
    assert gone.changed and not gone.failed and "half-made" in gone["found"], gone.result
    assert not os.path.exists(target) and base.count() == calls
    assert not run_module(MODULE, absent).changed


def test_a_create_killed_while_conda_wrote_a_record_is_predicted_and_recreated(run_module, base):
    """The kill tore the package record conda was writing: conda refuses such a prefix
    (CorruptedEnvironmentError), so neither the check-mode prediction nor the repair may show it to conda."""
    spec = {"prefix": base.prefix, "name": "torn", "python": "3.11"}
    target = base.env("torn")
    restore = install_killer(base, kill_parent=True)
    assert run_module(MODULE, spec).failed
    restore()
    meta = os.path.join(target, "conda-meta")
    record = os.path.join(meta, sorted(n for n in os.listdir(meta) if n.endswith(".json"))[0])
    with open(record, "r+", encoding="utf-8") as handle:
        handle.truncate(len(handle.read()) // 2)
    torn = subprocess.run([os.path.join(base.prefix, "bin", "conda.real"), "create", "--dry-run", "--json", "-p", target,
                           "python=3.11"],
                          check=False, capture_output=True, text=True)
    assert torn.returncode != 0 and "CorruptedEnvironmentError" in torn.stdout + torn.stderr, torn

    predicted = run_module(MODULE, spec, check=True, diff=True)
    assert predicted.changed and not predicted.failed and "half-made" in predicted["found"], predicted.result
    assert "python 3.11" in predicted["diff"]["after"], predicted.result
    assert predicted["cmd"][1:4] == ["create", "-p", target] and os.path.isfile(record)
    repaired = run_module(MODULE, spec)
    assert repaired.changed and not repaired.failed and "half-made" in repaired["found"], repaired.result
    again = run_module(MODULE, spec)
    assert not again.changed and not again.failed and again["cmd"] is None, again.result


def test_a_record_torn_in_an_existing_environment_is_set_aside_and_linked_again(run_module, base):
    """A transaction killed while conda rewrote a record leaves it torn: conda refuses the environment
    (CorruptedEnvironmentError) until it is set aside; the rerun does that, conda links the package again."""
    spec = {"prefix": base.prefix, "name": "torn2", "python": "3.11", "packages": ["numpy"]}
    assert run_module(MODULE, spec).changed
    meta = os.path.join(base.env("torn2"), "conda-meta")
    record = [n for n in os.listdir(meta) if n.startswith("numpy-") and n.endswith(".json")][0]
    with open(os.path.join(meta, record), "r+", encoding="utf-8") as handle:
        handle.truncate(len(handle.read()) // 2)
    refused = subprocess.run([os.path.join(base.prefix, "bin", "conda"), "install", "--dry-run", "--json", "-p",
                              base.env("torn2"), "numpy"], check=False, capture_output=True, text=True)
    assert refused.returncode != 0 and "CorruptedEnvironmentError" in refused.stdout + refused.stderr, refused

    predicted = run_module(MODULE, spec, check=True)
    assert predicted.changed and not predicted.failed, predicted.result
    assert any("torn" in w for w in predicted.get("warnings", [])) and not os.path.exists(
        os.path.join(meta, record + ".torn"))
    repaired = run_module(MODULE, spec)
    assert repaired.changed and not repaired.failed, repaired.result
    assert os.path.isfile(os.path.join(meta, record + ".torn"))
    with open(os.path.join(meta, record), encoding="utf-8") as handle:
        assert json.load(handle)["name"] == "numpy"
    again = run_module(MODULE, spec)
    assert not again.changed and not again.failed and again["cmd"] is None, again.result


def test_user_files_beside_an_empty_conda_meta_are_never_an_environment(run_module, base):
    target = base.env("thesis")
    os.makedirs(os.path.join(target, "conda-meta"))
    with open(os.path.join(target, "thesis.tex"), "w", encoding="utf-8") as handle:
        handle.write("\\documentclass{article}\n")
    refused = run_module(MODULE, {"prefix": base.prefix, "name": "thesis", "python": "3.11"})
    assert refused.failed and "is not a conda environment" in refused["msg"] and "thesis.tex" in refused["msg"]
    kept = run_module(MODULE, {"prefix": base.prefix, "name": "thesis", "state": "absent"})
    assert not kept.changed and not kept.failed and any("thesis.tex" in w for w in kept["warnings"]), kept.result
    assert sorted(os.listdir(target)) == ["conda-meta", "thesis.tex"] and base.count() == 0
    info = run_module(INFO, {"prefix": base.prefix, "name": "thesis"})
    assert info["exists"] is False, info.result


def test_pip_requirements_met_by_conda_packages_need_no_pip(run_module, base):
    if not os.path.exists("/usr/bin/python3.11"):
        pytest.skip("the world's python 3.11 needs a host python3.11 to run pip")
    spec = {"prefix": base.prefix, "name": "sci", "python": "3.11", "packages": ["numpy"], "pip": ["numpy", "NumPy>=2"]}
    made = run_module(MODULE, spec)
    assert made.changed and not made.failed, made.result
    assert made["actions"]["pip"] == [] and not any("pip" in cmd[1:3] for cmd in made["commands"]), made["commands"]
    again = run_module(MODULE, spec)
    assert not again.changed and again["commands"] == [], again.result
    predicted = run_module(MODULE, spec, check=True)
    assert not predicted.changed and predicted["actions"]["pip"] == [], predicted.result
    info = run_module(INFO, {"prefix": base.prefix, "name": "sci", "python": "3.11", "pip": ["numpy"]})
    assert info["comparison"]["satisfied"] and info["comparison"]["pip_unsatisfied"] == [], info.result
    assert info["environments"][0]["pip_packages"] == []  # conda's numpy and pip are not pip-installed
    pruned = run_module(MODULE, dict(spec, packages=[], prune=True))
    assert not pruned.changed and not pruned.failed, pruned.result  # conda's numpy meets pip: [numpy]; kept


def test_wildcard_channel_with_subdir_converges_from_disk(run_module, base):
    spec = {"prefix": base.prefix, "name": "sub", "python": "3.11", "packages": ["*/linux-64::numpy"]}
    made = run_module(MODULE, spec)
    assert made.changed and not made.failed, made.result
    calls = base.count()
    again = run_module(MODULE, spec)
    assert not again.changed and again["unsatisfied"] == [] and base.count() == calls, again.result
    other = run_module(MODULE, dict(spec, packages=["*/osx-64::numpy"]), check=True)
    assert other["unsatisfied"] == ["*/osx-64::numpy"], other.result


@pytest.mark.parametrize("args, words", [
    ({"packages": ["../../etc"]}, "invalid package name '../../etc'"),
    ({"packages": ["numpy\nrm"]}, "control character"),
    ({"packages": ["numpy"], "name": None, "path": "relative/env"}, "path must be an absolute path, got 'relative/env'"),
    ({"prune": True}, "prune needs a spec that names at least one package"),
    ({"packages": ["numpy"], "umask": "22"}, "umask must be an octal string such as '0022', got '22'"),
])
def test_bad_input_fails_before_conda_runs(run_module, base, args, words):
    spec = dict({"prefix": base.prefix, "name": "bad"}, **args)
    spec = dict((k, v) for k, v in spec.items() if v is not None)
    failed = run_module(MODULE, spec)
    assert failed.failed and words in failed["msg"] and "Traceback" not in failed["msg"], failed.result
    assert base.count() == 0 and not os.path.exists(base.env("bad"))


def test_a_spec_file_that_is_not_utf8_is_named(run_module, base, tmp_path):
    path = tmp_path / "environment.yml"
    path.write_bytes(b"dependencies:\n  - python=3.11\n  # caf\xe9\n")
    for module in (MODULE, INFO):
        failed = run_module(module, {"prefix": base.prefix, "name": "latin1", "spec_file": str(path)})
        assert failed.failed and "cannot read spec_file %s: it is not UTF-8 text" % path in failed["msg"], failed.result
    assert base.count() == 0


def modes(prefix):
    return set(stat.S_IMODE(os.stat(os.path.join(prefix, p)).st_mode) for p in ("", "conda-meta", "conda-meta/history"))


def test_umask_makes_environments_usable_by_other_users(run_module, base):
    old = os.umask(0o027)  # the account ansible runs as
    try:
        shared = run_module(MODULE, {"prefix": base.prefix, "name": "shared"})
        private = run_module(MODULE, {"prefix": base.prefix, "name": "private", "umask": "0077"})
    finally:
        os.umask(old)
    assert shared.changed and private.changed, (shared.result, private.result)
    assert modes(base.env("shared")) == {0o755, 0o644}
    assert modes(base.env("private")) == {0o700, 0o600}


TOKEN = "tk-Ch4nnelT0ken-7"
PASSWORD = "pa'ss@w:rd%1"  # a quote, a raw @, a colon and a percent sign


@pytest.fixture(params=["token", "basic"])
def auth_server(request, world, tmp_path):
    """The world's channels and pypi index behind conda-style token auth or HTTP basic auth; ``.secrets``
    holds every form the credential can take in a URL."""
    from server import Server  # tests/world, on sys.path through conftest
    auth = {"token": TOKEN} if request.param == "token" else {"basic": "fleet:" + PASSWORD}
    with Server(world.root, port=0, log_path=str(tmp_path / "auth.log"), **auth) as srv:
        srv.secrets = [TOKEN] if request.param == "token" else [PASSWORD, quote(PASSWORD, safe="")]
        srv.masked = "/t/********/" if request.param == "token" else "fleet:********@"
        yield srv


def test_channel_and_pip_index_credentials_reach_no_output(run_module, conda_base, auth_server, tmp_path, assert_hidden):
    """conda (and pip) get the credentials; the result, -vvv output, a failure and ANSIBLE_LOG_PATH never show them."""
    log = tmp_path / "ansible.log"
    seen = {"ANSIBLE_LOG_PATH": str(log)}
    channel = auth_server.channel_url("conda-forge")
    spec = {"prefix": conda_base, "name": "sec", "packages": ["cuda-version=12.4"], "channels": [channel],
            "override_channels": True, "environment": {"CONDA_SOLVER": "classic"}}
    made = run_module(MODULE, spec, diff=True, verbosity=3, extra_env=seen)
    assert made.changed and not made.failed, made.result
    assert [p["name"] for p in made["packages_added"]] == ["cuda-version"]
    # conda's command line carries the channel without its credentials (they reach conda through private files)
    assert auth_server.channel_url("conda-forge", credentials=False) in made["cmd"], made["cmd"]
    assert "********" not in json.dumps(made["cmd"])
    assert auth_server.count("cuda-version-12.4", status=200) == 1  # conda itself got the credentials
    again = run_module(MODULE, spec, verbosity=1, extra_env=seen)
    assert not again.changed and not again.failed, again.result
    failed = run_module(MODULE, dict(spec, packages=["cuda-version=12.4", "no-such-package-q"]), extra_env=seen)
    assert failed.failed and failed["exception_name"] == "PackagesNotFoundInChannelsError", failed.result
    assert auth_server.channel_url("conda-forge", credentials=False) in failed["cmd"], failed["cmd"]
    index = auth_server.channel_url("pypi/simple/")
    pip = run_module(MODULE, {"prefix": conda_base, "name": "sec-pip", "python": "3.11", "packages": ["pip"],
                              "channels": [channel], "override_channels": True, "environment": {"CONDA_SOLVER": "classic"},
                              "pip": ["--index-url " + index, "condafleet-no-such-dist==9"]}, extra_env=seen,
                     verbosity=3)
    assert pip.failed and pip["exception_name"] == "PipError" and pip["rolled_back"] is True, pip.result
    assert auth_server.masked in pip["stdout"] + pip["stderr"] + json.dumps(pip["commands"])  # pip printed the index
    assert_hidden(auth_server.secrets, [made, again, failed, pip], [log])


def test_the_role_shows_no_channel_credentials_of_an_environment(
        ansible_playbook, conda_base, auth_server, tmp_path, assert_hidden):
    """The role's environment loop runs over positions: the entry (channels, environment) is never the printed item,
    with -v on success nor in the default output of a failure, nor in ANSIBLE_LOG_PATH."""
    log = tmp_path / "ansible.log"
    entry = {"name": "sec-role", "packages": ["cuda-version=12.4"], "channels": [auth_server.channel_url("conda-forge")],
             "override_channels": True, "environment": {"CONDA_SOLVER": "classic"}}

    def play(name, packages, verbose):
        path = tmp_path / ("%s.yml" % name)
        path.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "roles": [{
            "role": "condafleet.conda.conda",
            "vars": {"conda_prefix": conda_base, "conda_environments": [dict(entry, packages=packages)]}}]}]))
        args = ["-i", "localhost,", "-c", "local", str(path), "--tags", "conda_environments"] + (["-v"] if verbose else [])
        return ansible_playbook(args, tmp_path, {"ANSIBLE_LOG_PATH": str(log)})

    made = play("made", ["cuda-version=12.4"], True)
    assert made.returncode == 0 and "(item=sec-role)" in made.stdout, made.stdout + made.stderr
    assert os.path.isdir(os.path.join(conda_base, "envs", "sec-role", "conda-meta"))
    failed = play("failed", ["cuda-version=12.4", "no-such-package-q"], False)
    assert failed.returncode != 0 and "PackagesNotFoundInChannelsError" in failed.stdout, failed.stdout + failed.stderr
    assert_hidden(auth_server.secrets, [], [log])
    for proc in (made, failed):
        for secret in auth_server.secrets:
            assert secret not in proc.stdout + proc.stderr
    # the environments ran as async jobs (conda_env_async_timeout): what their job files hold, or held, is masked
    for top, _dirs, files in os.walk(os.path.expanduser("~/.ansible_async")):
        for name in files:
            with open(os.path.join(top, name), errors="replace") as handle:
                text = handle.read()
            for secret in auth_server.secrets:
                assert secret not in text, name


CONDA_LOCK = os.path.join(os.path.dirname(__file__), "..", "unit", "data", "conda-lock", "conda-lock.yml")


def test_a_conda_lock_file_creates_its_platform_packages_and_converges_from_disk(run_module, base, world_server,
                                                                                 tmp_path):
    """conda-lock 4.0.3's conda-lock.yml, locked against the world: conda installs the host platform's
    packages from it as an @EXPLICIT list, pip its pinned wheels with --no-deps, and a rerun starts nothing."""
    if not os.path.exists("/usr/bin/python3.11"):
        pytest.skip("the world's python 3.11 needs a host python3.11 to run pip")
    with open(CONDA_LOCK, encoding="utf-8") as handle:
        text = handle.read().replace("http://127.0.0.1:8731", world_server.url.rstrip("/"))
    lock = tmp_path / "conda-lock.yml"
    lock.write_text(text)
    spec = {"prefix": base.prefix, "name": "locked", "spec_file": str(lock)}

    predicted = run_module(MODULE, spec, check=True, diff=True)
    assert predicted.changed and not predicted.failed, predicted.result
    assert not os.path.exists(base.env("locked")) and base.count() == 0  # predicted from the lock alone
    assert lines(predicted["actions"]["link"]) == ["numpy-1.26.4-py311_0", "pip-24.0-py311_0",
                                                   "python-3.11.9-h0_0_cpython"]

    made = run_module(MODULE, spec, diff=True)
    assert made.changed and not made.failed, made.result
    assert installed(base.env("locked")) == lines(predicted["actions"]["link"])
    assert made["diff"]["after"] == predicted["diff"]["after"]
    site = os.path.join(base.env("locked"), "lib", "python3.11", "site-packages")
    assert os.path.isdir(os.path.join(site, "condafleet_hello-1.0.dist-info"))
    pip_cmd = [c for c in made["commands"] if c[1:4] == ["-m", "pip", "install"]]
    assert len(pip_cmd) == 1 and "--no-deps" in pip_cmd[0], made["commands"]

    calls = base.count()
    again = run_module(MODULE, spec, check=True)
    assert not again.changed and not again.failed, again.result
    assert not run_module(MODULE, spec).changed
    assert base.count() == calls, "a converged conda-lock environment is read from disk, no conda process"

    info = run_module("condafleet.conda.conda_env_info", {"prefix": base.prefix, "name": "locked",
                                                          "spec_file": str(lock)})
    assert not info.failed and info["comparison"]["satisfied"], info.result
    assert info["comparison"]["pip_unsatisfied"] == [] and info["comparison"]["extra"] == []


def conda_lock(base, world_server, tmp_path, dependencies, pip):
    """A conda-lock.yml that conda-lock itself locks against the world, with the installation's conda as solver."""
    tool = os.path.join(os.path.dirname(sys.executable), "conda-lock")
    if not os.path.exists(tool):
        pytest.skip("conda-lock is not installed in the test environment (requirements-dev.txt)")
    url = world_server.url.rstrip("/")
    work = tmp_path / "conda-lock"
    work.mkdir()
    (work / "environment.yml").write_text(json.dumps({
        "channels": [url + "/conda-forge"], "dependencies": dependencies + [{"pip": pip}],
        "pip-repositories": [url + "/pypi/simple"], "allow-pypi-requests": False}))
    (work / "lookup.yml").write_text("{}\n")  # no PyPI-to-conda name mapping from the network
    # conda-lock points CONDA_ROOT at its own environment, so the installation's .condarc solver setting is not read
    environ = dict(os.environ, CONDA_SOLVER="rattler", XDG_CACHE_HOME=str(work / "cache"))
    subprocess.run([tool, "lock", "--conda", os.path.join(base.prefix, "bin", "conda.real"), "-f", "environment.yml",
                    "-p", "linux-64", "--lockfile", "conda-lock.yml", "--pypi_to_conda_lookup_file", "lookup.yml"],
                   cwd=str(work), env=environ, check=True, capture_output=True, text=True, timeout=600)
    return work / "conda-lock.yml"


def test_a_lock_conda_lock_writes_now_is_installed_and_converged(run_module, base, world_server, tmp_path):
    if not os.path.exists("/usr/bin/python3.11"):
        pytest.skip("the world's python 3.11 needs a host python3.11 to run pip")
    lock = conda_lock(base, world_server, tmp_path, ["python=3.11", "numpy=1.26", "pip"], ["condafleet-hello==1.0"])
    spec = {"prefix": base.prefix, "name": "fresh-lock", "spec_file": str(lock)}
    made = run_module(MODULE, spec)
    assert made.changed and not made.failed, made.result
    names = [name.rsplit("-", 2)[0] for name in installed(base.env("fresh-lock"))]
    assert {"python", "numpy", "pip"} <= set(names), names
    assert os.path.isdir(os.path.join(base.env("fresh-lock"), "lib", "python3.11", "site-packages",
                                      "condafleet_hello-1.0.dist-info"))
    calls = base.count()
    assert not run_module(MODULE, spec).changed
    assert base.count() == calls


def world_lock(url):
    """The recorded conda-lock.yml with its packages served from ``url`` (the world, maybe with credentials)."""
    with open(CONDA_LOCK, encoding="utf-8") as handle:
        return handle.read().replace("http://127.0.0.1:8731", url.rstrip("/"))


def test_conda_lock_urls_with_credentials_reach_no_output(run_module, conda_base, auth_server, tmp_path, assert_hidden):
    """A lock whose conda and pip URLs carry a token or a password: conda and pip get them, nothing shows them."""
    if not os.path.exists("/usr/bin/python3.11"):
        pytest.skip("the world's python 3.11 needs a host python3.11 to run pip")
    log = tmp_path / "ansible.log"
    seen = {"ANSIBLE_LOG_PATH": str(log)}
    lock = tmp_path / "conda-lock.yml"
    lock.write_text(world_lock(auth_server.channel_url("")))
    spec = {"prefix": conda_base, "name": "sec-lock", "spec_file": str(lock)}
    predicted = run_module(MODULE, spec, check=True, diff=True, verbosity=3, extra_env=seen)
    assert predicted.changed and not predicted.failed, predicted.result
    made = run_module(MODULE, spec, diff=True, verbosity=3, extra_env=seen)
    assert made.changed and not made.failed, made.result
    assert auth_server.count("condafleet_hello-1.0", status=200) == 1  # pip itself got the credentials
    again = run_module(MODULE, spec, verbosity=3, extra_env=seen)
    assert not again.changed and not again.failed, again.result
    # a wheel whose locked hash is wrong: pip refuses it, and says so without the URL's credentials
    bad = tmp_path / "bad-lock.yml"
    bad.write_text(world_lock(auth_server.channel_url("")).replace(
        "062ba487991d2fa00f74edbac1899c7ee2a0d5f2da9023c7a6b2c9c6be132786", "f" * 64))
    failed = run_module(MODULE, dict(spec, name="sec-lock-bad", spec_file=str(bad)), verbosity=3, extra_env=seen)
    assert failed.failed and failed["exception_name"] == "PipError", failed.result
    assert_hidden(auth_server.secrets, [predicted, made, again, failed], [log])


def test_a_broken_conda_lock_fails_before_conda_runs_and_a_killed_one_converges_on_rerun(run_module, base,
                                                                                         world_server, tmp_path):
    lock = tmp_path / "conda-lock.yml"
    text = world_lock(world_server.url)
    lock.write_text(text.replace("platform: linux-64", "platform: osx-arm64").replace("- linux-64", "- osx-arm64"))
    spec = {"prefix": base.prefix, "name": "locked-k", "spec_file": str(lock)}
    refused = run_module(MODULE, spec)
    assert refused.failed and "platform linux-64" in refused["msg"] and "osx-arm64" in refused["msg"], refused.result
    assert base.count() == 0 and not os.path.exists(base.env("locked-k"))

    lock.write_text(text.replace("  hash:\n    sha256: 062ba487", "  hash:\n    sha256: 062ba48"))
    refused = run_module(MODULE, spec)
    assert refused.failed and "pip package condafleet-hello has no sha256" in refused["msg"], refused.result
    assert base.count() == 0 and not os.path.exists(base.env("locked-k"))

    # conda killed (with the module) while it links the lock's packages; the rerun recreates it
    lock.write_text(text.replace("- name: condafleet-hello", "- name: unused").split("- name: unused")[0])
    restore = install_killer(base, kill_parent=True)
    killed = run_module(MODULE, spec)
    restore()
    assert killed.failed, killed.result
    assert half_made(base.env("locked-k"))[1] is False  # records without history: half-made
    repaired = run_module(MODULE, spec)
    assert repaired.changed and not repaired.failed and "half-made" in repaired["found"], repaired.result
    assert installed(base.env("locked-k")) == ["numpy-1.26.4-py311_0", "pip-24.0-py311_0", "python-3.11.9-h0_0_cpython"]
    calls = base.count()
    assert not run_module(MODULE, spec).changed
    assert base.count() == calls
