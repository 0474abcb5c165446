# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""conda_env under faults and hostile input, on the real conda 26.7.1 (the world's Miniconda).

Faults are injected around the real binary: ``bin/conda`` is ``killer.py``,
which kills the real conda at a chosen moment of a transaction; channels
point at a closed loopback port; an environment sits on a full tmpfs or a
read-only bind mount. After each fault the other environments and the user's
files are compared with what they were, and a rerun must converge.
"""
from __future__ import annotations

import os

import pytest

import reliability_harness as harness

MODULE = "condafleet.conda.conda_env"

pytestmark = [pytest.mark.reliability, pytest.mark.world, pytest.mark.slow]


def records(prefix):
    meta = os.path.join(prefix, "conda-meta")
    return sorted(n[:-5] for n in os.listdir(meta) if n.endswith(".json"))


def names(prefix):
    return {n.rsplit("-", 2)[0] for n in records(prefix)}


def surroundings(rel, base, tmp_path, other_env=True):
    """Another environment, the user's files in the installation and beside it: all must survive."""
    rel.sentinels.environment(base.prefix)
    if other_env:
        keep = rel.run(MODULE, {"prefix": base.prefix, "name": "keep"}, counts=False)
        assert keep.changed and not keep.failed, keep.result
        rel.sentinels.environment(base.env("keep"))
        rel.sentinels.file(os.path.join(base.env("keep"), "notes.txt"), "inside another environment\n")
    rel.sentinels.file(os.path.join(base.prefix, "site-notes.txt"), "the admin's notes\n", mode=0o600)
    rel.sentinels.file(tmp_path / "projects" / "thesis.tex", "precious\n")
    rel.sentinels.directory(tmp_path / "empty-dir", mode=0o700)


SPEC = {"python": "3.11", "packages": ["numpy", "pandas"]}

#: (the run that is killed, the verb of conda's transaction, when it is killed)
TRANSACTIONS = {
    "create-while-solving": ("create", "create", "after", None, 0.4),
    "create-while-linking": ("create", "create", "appears", "conda-meta/*.json", None),
    # a package's files come and go before its record does: killing on them lands inside the transaction
    # even when conda is quick, where the record alone is written or removed moments before conda exits
    "install-while-linking": ("install", "install", "appears", "lib/python3.*/site-packages/pandas/__init__.py", None),
    "remove-while-unlinking": ("prune", "remove", "vanishes", "lib/python3.*/site-packages/pandas/__init__.py", None),
}


#: tries for the kill to land inside the transaction: a quick conda may finish between the match and the kill
KILL_TRIES = 4


@pytest.mark.parametrize("point", sorted(TRANSACTIONS))
def test_a_killed_transaction_then_a_rerun_converges(rel, base, tmp_path, point):
    run, verb, when, pattern, seconds = TRANSACTIONS[point]
    surroundings(rel, base, tmp_path)
    env = base.env("work")
    want = dict(SPEC, prefix=base.prefix, name="work")
    start = None  # what puts the environment back where the killed run starts from
    if run == "install":
        start = dict(want, packages=["numpy"], prune=True)
    elif run == "prune":
        start = dict(want)
        want = dict(want, packages=["numpy"], prune=True)
    else:
        start = dict(want, state="absent")
    if run != "create":
        made = rel.run(MODULE, start)
        assert made.changed and not made.failed, made.result
    for _try in range(KILL_TRIES):
        base.arm(verb, when, pattern=os.path.join(env, pattern) if pattern else None, seconds=seconds)
        killed = rel.run(MODULE, want)
        if killed.failed:
            break
        # conda completed before the kill landed: a whole transaction; back to the start and try again
        assert killed.changed, killed.result
        back = rel.run(MODULE, start)
        assert back.changed and not back.failed, back.result
    assert base.fired() and killed.failed, "the kill never landed inside conda %s in %d tries (%s): %s" % (
        verb, KILL_TRIES, point, base.commands())
    rel.fault()
    assert killed.failed and harness.no_traceback(killed), killed.result
    rerun = rel.run(MODULE, want)
    assert not rerun.failed, rerun.result
    again = rel.run(MODULE, want)
    assert not again.failed and not again.changed and again["cmd"] is None, again.result
    wanted = {"python", "numpy"} | ({"pandas"} if run != "prune" else set())
    assert wanted <= names(env), records(env)
    if run == "prune":
        assert "pandas" not in names(env), records(env)
    rel.assert_safe()


@pytest.mark.parametrize("run", ["create", "install"])
def test_an_unreachable_channel_fails_clearly_and_changes_nothing(rel, base, tmp_path, run):
    surroundings(rel, base, tmp_path)
    port = harness.closed_port()
    channel = "http://127.0.0.1:%d/t/%s/conda-forge" % (port, harness.TOKEN.value)
    spec = {"prefix": base.prefix, "name": "work", "python": "3.11", "packages": ["numpy"]}
    if run == "install":
        made = rel.run(MODULE, spec)
        assert made.changed and not made.failed, made.result
        rel.sentinels.environment(base.env("work"))
    spec = dict(spec, packages=["numpy", "pandas"], channels=[channel], override_channels=True)
    rel.fault()
    for check in (False,) if run == "install" else (True, False):
        failed = rel.run(MODULE, spec, check=check)
        assert failed.failed and harness.no_traceback(failed), failed.result
        assert "127.0.0.1:%d" % port in failed["msg"] or "conda-forge" in failed["msg"], failed["msg"]
    if run == "create":
        assert not os.path.exists(base.env("work"))
    rel.assert_safe()


def test_two_runs_on_one_environment_both_end_well_with_one_transaction(rel, base, tmp_path):
    surroundings(rel, base, tmp_path)
    spec = {"prefix": base.prefix, "name": "shared", "python": "3.11", "packages": ["numpy", "pandas"]}
    results = harness.at_once(rel, MODULE, spec)
    assert [r.failed for r in results] == [False, False], [r.result for r in results]
    assert sorted(r.changed for r in results) == [False, True], [r.result for r in results]
    creates = [c for c in base.commands() if c.startswith("create ") and "--dry-run" not in c and "shared" in c]
    assert len(creates) == 1, base.commands()
    assert {"python", "numpy", "pandas"} <= names(base.env("shared"))
    rel.assert_safe()


def _fill(directory, leave=32 * 1024):
    """Fill the filesystem of ``directory`` up to ``leave`` bytes free."""
    stats = os.statvfs(str(directory))
    free = stats.f_bavail * stats.f_frsize
    with open(os.path.join(str(directory), "filler"), "wb") as handle:
        handle.write(b"\0" * max(0, free - leave))


def test_a_full_disk_fails_clearly_and_loses_nothing(rel, base, tmp_path, scratch_mount):
    surroundings(rel, base, tmp_path)
    disk = scratch_mount("disk", size="64m")  # room for the environment (pip alone unpacks to ~9 MB) once freed
    rel.sentinels.file(disk / "data.csv", "a,b\n1,2\n")
    _fill(disk)
    rel.fault()
    spec = {"prefix": base.prefix, "path": str(disk / "env"), "python": "3.11", "packages": ["numpy", "pandas"]}
    failed = rel.run(MODULE, spec)
    assert failed.failed and harness.no_traceback(failed), failed.result
    os.unlink(os.path.join(str(disk), "filler"))
    rerun = rel.run(MODULE, spec)
    assert rerun.changed and not rerun.failed, rerun.result
    assert {"python", "numpy", "pandas"} <= names(str(disk / "env"))
    rel.assert_safe()


def test_a_read_only_environment_fails_clearly_and_stays_as_it_was(rel, base, tmp_path, read_only):
    surroundings(rel, base, tmp_path)
    spec = {"prefix": base.prefix, "name": "frozen", "python": "3.11", "packages": ["numpy"]}
    made = rel.run(MODULE, spec)
    assert made.changed and not made.failed, made.result
    rel.sentinels.environment(base.env("frozen"))
    read_only(base.env("frozen"))
    rel.fault()
    failed = rel.run(MODULE, dict(spec, packages=["numpy", "pandas"]))
    assert failed.failed and harness.no_traceback(failed), failed.result
    rel.assert_safe()


#: environment names: each is refused with a message naming it, or works where conda's rules allow it
HOSTILE_NAMES = ["../../etc", "a/b", "new\nline", "with space", "hash#tag", "co:lon", "ünïcødé", "x" * 300, "..",
                 "-rf", "*"]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=[repr(n)[:30] for n in HOSTILE_NAMES])
def test_hostile_environment_names(rel, base, tmp_path, name):
    surroundings(rel, base, tmp_path, other_env=False)
    spec = {"prefix": base.prefix, "name": name}
    before = sorted(os.listdir(os.path.join(base.prefix, "envs")))
    result = rel.run(MODULE, spec)
    assert harness.no_traceback(result), result.result
    if result.failed:
        assert harness.names_value(result["msg"], name), result["msg"]
        assert sorted(os.listdir(os.path.join(base.prefix, "envs"))) == before
    else:
        target = os.path.join(base.prefix, "envs", name)
        assert os.path.realpath(target).startswith(os.path.join(base.prefix, "envs") + os.sep), target
        assert os.path.isfile(os.path.join(target, "conda-meta", "history")), result.result
        gone = rel.run(MODULE, dict(spec, state="absent"))
        assert gone.changed and not gone.failed and not os.path.exists(target), gone.result
    rel.assert_safe()


def _hostile_paths(tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("not an environment\n")
    loop = tmp_path / "loop"
    os.symlink(str(loop), str(loop))
    return {
        "relative": "relative/env",
        "a-file": str(a_file),
        "symlink-loop": str(loop),
        "newline": str(tmp_path / "new\nline"),
        "root": "/",
        "dot-dot": str(tmp_path / "x" / ".." / ".." / "escape"),
    }


@pytest.mark.parametrize("which", ["relative", "a-file", "symlink-loop", "newline", "root", "dot-dot"])
def test_hostile_environment_paths(rel, base, tmp_path, which):
    surroundings(rel, base, tmp_path, other_env=False)
    path = _hostile_paths(tmp_path)[which]
    if which == "a-file":
        rel.sentinels.file(path, "not an environment\n")
    for state in ("absent", "present"):
        result = rel.run(MODULE, {"prefix": base.prefix, "path": path, "state": state})
        assert harness.no_traceback(result), result.result
        if result.failed:
            assert harness.names_value(result["msg"], path), result["msg"]
        elif state == "present":
            assert os.path.isfile(os.path.join(os.path.normpath(path), "conda-meta", "history")), result.result
    rel.assert_safe()


@pytest.mark.parametrize("which", ["a-file", "symlink-loop", "relative", "newline"])
def test_hostile_installation_prefixes(rel, tmp_path, which, conda_home):
    path = _hostile_paths(tmp_path)[which]
    if which == "a-file":
        rel.sentinels.file(path, "not an environment\n")
    for state in ("present", "absent"):
        result = rel.run(MODULE, {"prefix": path, "name": "web", "state": state})
        assert result.failed and harness.no_traceback(result), result.result
        assert harness.names_value(result["msg"], path), result["msg"]
    rel.assert_safe()


#: both solvers: the world's conda 26.7 solves with conda-rattler-solver, which dropped credentials that were in
#: the URL when it handed the channels over; the credentials now reach conda's requests from its netrc and token files
CLASSIC = {"CONDA_SOLVER": "classic"}


def _secret_cases(token_server, basic_server, world_server):
    hello = "%s/pypi/simple/" % harness.userinfo_url(world_server.url, harness.PIP)
    closed = "http://127.0.0.1:%d" % harness.closed_port()
    return {
        "token-channel-ok": ({"channels": [token_server.channel_url("conda-forge")], "override_channels": True, "environment": CLASSIC,
                              "packages": ["numpy"]}, False),
        "token-channel-not-found": ({"channels": [token_server.channel_url("conda-forge")], "override_channels": True, "environment": CLASSIC,
                                     "packages": ["no-such-package"]}, True),
        "basic-channel-ok": ({"channels": [basic_server.channel_url("conda-forge")], "override_channels": True, "environment": CLASSIC,
                              "packages": ["numpy"]}, False),
        "token-channel-ok-default-solver": ({"channels": [token_server.channel_url("conda-forge")],
                                             "override_channels": True, "packages": ["numpy"]}, False),
        "basic-channel-ok-default-solver": ({"channels": [basic_server.channel_url("conda-forge")],
                                             "override_channels": True, "packages": ["numpy"]}, False),
        "basic-channel-unsatisfiable": ({"channels": [basic_server.channel_url("conda-forge")],
                                         "override_channels": True, "environment": CLASSIC, "packages": ["numpy=2.1", "python=3.9"]}, True),
        "pip-index-password": ({"packages": ["pip"], "pip": ["--index-url " + hello, "condafleet-hello==1.0"]}, False),
        "pip-index-password-not-found": ({"packages": ["pip"], "pip": ["--index-url " + hello, "no-such-dist==9"]},
                                         True),
        "proxy-password": ({"packages": ["numpy"], "channels": ["%s/conda-forge" % closed], "override_channels": True,
                            "environment": {"HTTP_PROXY": harness.userinfo_url(closed, harness.PROXY),
                                            "HTTPS_PROXY": harness.userinfo_url(closed, harness.PROXY),
                                            "NO_PROXY": ""}}, True),
    }


SECRET_CASES = ["token-channel-ok", "token-channel-not-found", "basic-channel-ok", "basic-channel-unsatisfiable",
                "token-channel-ok-default-solver", "basic-channel-ok-default-solver",
                "pip-index-password", "pip-index-password-not-found", "proxy-password"]


@pytest.mark.parametrize("case", SECRET_CASES)
def test_secrets_never_reach_output_logs_or_command_lines(rel, base, tmp_path, token_server, basic_server,
                                                          world_server, case):
    if case.startswith("pip") and not os.path.exists("/usr/bin/python3.11"):
        pytest.skip("the world's python 3.11 needs a host python3.11 to run pip")
    extra, fails = _secret_cases(token_server, basic_server, world_server)[case]
    spec = dict({"prefix": base.prefix, "name": "secret", "python": "3.11"}, **extra)
    result = rel.run(MODULE, spec)
    assert result.failed == fails and harness.no_traceback(result), result.result
    if not fails:
        assert not rel.run(MODULE, spec).changed
    rel.assert_safe()
