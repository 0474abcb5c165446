# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""condafleet.conda.conda_probe on a real installation, and the role's one round trip on a converged host.

The probe's answers are held against the modules it stands for: what it calls converged, the module run
with the same options leaves unchanged, and what it calls pending, the module changes. Its checks must not
start conda: bin/conda is swapped for a program that fails loudly while it runs.
"""
from __future__ import annotations

import glob
import json
import os
import re
import stat
import time

import pytest

pytestmark = [pytest.mark.world, pytest.mark.slow]

MARKER = "# Written by the condafleet.conda.conda role (conda_system_shell_init); do not edit."
RECAP = re.compile(r"^localhost\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0\b", re.M)


def poison_conda(prefix):
    """Make any run of PREFIX/bin/conda fail; returns a function that puts the real one back."""
    conda = os.path.join(prefix, "bin", "conda")
    os.rename(conda, conda + ".real")
    with open(conda, "w", encoding="utf-8") as handle:
        handle.write("#!/bin/sh\necho conda_probe must not run conda >&2\nexit 99\n")
    os.chmod(conda, stat.S_IRWXU)

    def restore():
        os.replace(conda + ".real", conda)
    return restore


def test_probe_answers_as_the_modules_do_without_running_conda(run_module, conda_base, tmp_path):
    vision = {"prefix": conda_base, "name": "vision", "python": "3.11", "packages": ["numpy"]}
    made = run_module("condafleet.conda.conda_env", vision)
    assert made.changed and not made.failed, made.result
    config = {"prefix": conda_base, "channels": ["conda-forge"], "auto_activate": False}
    written = run_module("condafleet.conda.conda_config", config)
    assert not written.failed, written.result
    ours = tmp_path / "ours.sh"
    ours.write_text("echo ours\n")
    os.chmod(str(ours), 0o644)
    stale = tmp_path / "stale.sh"
    stale.write_text(MARKER + "\necho old\n")
    foreign = tmp_path / "foreign.sh"
    foreign.write_text("# the admin's own\n")

    restore = poison_conda(conda_base)
    environments = [{"name": "vision", "python": "3.11", "packages": ["numpy"]},
                    {"name": "webdev", "python": "3.12"},
                    {"name": "torch", "python": "3.11", "packages": ["pytorch"], "cuda": "auto"}]
    args = {"prefix": conda_base, "install": {"prefix": conda_base, "state": "present"}, "config": config,
            "files": [{"path": str(ours), "content": "echo ours\n", "mode": "0644"},
                      {"path": str(foreign), "state": "absent", "marker": MARKER}],
            "environments": environments, "unlisted": True}
    for check in (False, True):
        probe = run_module("condafleet.conda.conda_probe", args, check=check)
        assert not probe.failed and not probe.changed, probe.result
        assert probe["installed"] is True
        assert probe["install"]["converged"] is True, probe.result
        assert probe["config"]["converged"] is True, probe.result
        assert probe["files"] == {"converged": True, "reason": "converged"}, probe.result
        assert [(e["name"], e["converged"]) for e in probe["environments"]] == [
            ("vision", True), ("webdev", False), ("torch", False)], probe.result
        assert probe["pending"] == [1, 2] and probe["unlisted"] == [] and probe["converged"] is False
        # a CUDA-managed entry: the GPU facts nvidia_gpu_info returns (this machine has no NVIDIA GPU)
        assert probe["gpu"]["has_nvidia_gpu"] is False and probe["gpu"]["cuda_driver_max"] is None, probe.result

    # what the probe reports, each file and setting at a time
    drift = run_module("condafleet.conda.conda_probe", dict(
        args, config=dict(config, auto_activate=True), environments=environments[1:2],
        files=[{"path": str(ours), "content": "echo changed\n"}, {"path": str(stale), "state": "absent", "marker": MARKER}]))
    assert not drift.failed, drift.result
    assert drift["config"]["converged"] is False and drift["files"]["converged"] is False
    assert drift["files"]["reason"] == "%s differs" % ours
    assert drift["unlisted"] == ["vision"] and drift["pending"] == [0]
    stale_only = run_module("condafleet.conda.conda_probe", {"prefix": conda_base, "files": [
        {"path": str(stale), "state": "absent", "marker": MARKER}]})
    assert stale_only["files"] == {"converged": False, "reason": "%s is to be removed" % stale}, stale_only.result
    assert stale_only["converged"] is False and stale_only["install"] is None
    assert ours.read_text() == "echo ours\n" and stale.exists(), "the probe changed a file"
    # compare: each environment against its spec, as conda_env_info compares one (report.yml's drift, one call)
    compared = run_module("condafleet.conda.conda_probe", {"prefix": conda_base, "compare": True, "environments": [
        {"name": "vision", "python": "3.12", "packages": ["numpy", "pandas"]}, {"name": "webdev", "python": "3.12"},
        {"name": "gone", "state": "absent"}]})
    assert not compared.failed, compared.result
    vision_drift, webdev_drift, gone = compared["environments"]
    info = run_module("condafleet.conda.conda_env_info", {
        "prefix": conda_base, "name": "vision", "python": "3.12", "packages": ["numpy", "pandas"],
        "include_packages": False})
    assert not info.failed and vision_drift["exists"] is True, (info.result, compared.result)
    assert vision_drift["comparison"] == info["comparison"], (vision_drift, info["comparison"])
    assert vision_drift["comparison"]["satisfied"] is False and vision_drift["comparison"]["missing"] == ["pandas"]
    assert [u["spec"] for u in vision_drift["comparison"]["unsatisfied"]] == ["python=3.12"], vision_drift
    assert webdev_drift["exists"] is False and webdev_drift["comparison"]["missing"] == ["python=3.12"], webdev_drift
    assert "comparison" not in gone and gone["converged"] is True, gone
    restore()

    # the modules agree: converged ones change nothing, pending ones would change
    same = run_module("condafleet.conda.conda_env", vision, check=True)
    assert not same.failed and not same.changed, same.result
    webdev = run_module("condafleet.conda.conda_env", {"prefix": conda_base, "name": "webdev", "python": "3.12"},
                        check=True)
    assert not webdev.failed and webdev.changed, webdev.result
    again = run_module("condafleet.conda.conda_config", config, check=True)
    assert not again.failed and not again.changed, again.result
    other = run_module("condafleet.conda.conda_config", dict(config, auto_activate=True), check=True)
    assert not other.failed and other.changed, other.result


def test_probe_refuses_bad_input_naming_it(run_module, conda_base):
    bad = run_module("condafleet.conda.conda_probe", {"prefix": conda_base, "environments": [{"python": "3.11"}]})
    assert bad.failed and "environment #1: no name" in bad["msg"], bad.result
    bad = run_module("condafleet.conda.conda_probe", {"prefix": conda_base, "environments": [
        {"name": "t", "cuda": "eleven"}]})
    assert bad.failed and "'eleven'" in bad["msg"], bad.result
    bad = run_module("condafleet.conda.conda_probe", {"prefix": "opt/conda"})
    assert bad.failed and "'opt/conda'" in bad["msg"], bad.result
    bad = run_module("condafleet.conda.conda_probe", {"prefix": conda_base, "files": [{"path": "/x", "mode": "rw"}]})
    assert bad.failed and "'rw'" in bad["msg"], bad.result
    bad = run_module("condafleet.conda.conda_probe", {"prefix": conda_base, "leftovers_older_than": -5})
    assert bad.failed and "got -5" in bad["msg"], bad.result
    # an option the module itself would refuse is not the probe's to judge: that step is pending, and runs
    odd = run_module("condafleet.conda.conda_probe", {"prefix": conda_base, "install": {"state": "sideways"}})
    assert not odd.failed and odd["install"]["converged"] is False, odd.result


def test_probe_keeps_credentials_out_of_what_it_returns(run_module, conda_base, assert_hidden):
    secret_password = "hunter2-probe-password"
    token = "tk-0123456789abcdef"
    run = run_module("condafleet.conda.conda_probe", {
        "prefix": conda_base,
        "config": {"prefix": conda_base,
                   "mirror": {"url": "https://mirror.example/conda", "username": "u", "password": secret_password}},
        "install": {"prefix": conda_base, "url_password": secret_password},
        "environments": [{"name": "private", "channels": ["https://conda.example/t/%s/private" % token]}]},
        verbosity=3)
    assert not run.failed, run.result
    assert run.result.get("invocation", {"module_args": {"prefix": conda_base}}) == {"module_args": {"prefix": conda_base}}
    assert_hidden([secret_password, token], [run])


def test_role_on_a_converged_host_runs_one_module(ansible_playbook, conda_base, tmp_path):
    """The second run of the role: conda_probe is the only module that reaches the host."""
    play = tmp_path / "play.yml"
    play.write_text("- name: The conda role\n  hosts: localhost\n  gather_facts: false\n  roles:\n"
                    "    - role: condafleet.conda.conda\n")
    role_vars = tmp_path / "vars.json"
    settings = {
        "conda_prefix": conda_base, "ansible_become": False, "conda_distribution": "miniconda",
        "conda_installer_allow_unverified": True, "conda_remove_unlisted_environments": True,
        "conda_environments": [{"name": "finance", "python": "3.11", "packages": ["pandas"]},
                               {"name": "webdev", "python": "3.12"}]}
    if os.geteuid() == 0:  # the system shell files too (root's), in a temporary directory instead of /etc
        etc = tmp_path / "etc"
        (etc / "profile.d").mkdir(parents=True)
        settings.update(conda_system_shell_init=True, conda_system_shells=["bash", "fish"], __conda_system_shell_files={
            "bash": str(etc / "profile.d" / "conda.sh"), "fish": str(etc / "fish" / "conf.d" / "conda.fish")})
    role_vars.write_text(json.dumps(settings))

    def run(name):
        remote = tmp_path / ("remote-" + name)
        proc = ansible_playbook(["-i", "localhost,", "-c", "local", str(play), "-e", "@%s" % role_vars],
                                tmp_path, {"ANSIBLE_KEEP_REMOTE_FILES": "1", "ANSIBLE_REMOTE_TMP": str(remote)})
        recap = RECAP.search(proc.stdout)
        assert proc.returncode == 0 and recap, proc.stdout + proc.stderr
        modules = sorted(os.path.basename(path)[len("AnsiballZ_"):-3]
                         for path in glob.glob(str(remote / "*" / "AnsiballZ_*.py")))
        return int(recap.group(1)), modules, proc.stdout

    changed, modules, out = run("first")
    assert changed >= 2 and modules.count("conda_env") == 2, out
    for path in settings.get("__conda_system_shell_files", {}).values():
        assert os.path.isfile(path), out
    changed, modules, out = run("second")
    assert changed == 0 and modules == ["conda_probe"], (modules, out)
    # the probe's answer is what it was asked: one environment drifts, only that one is converged again
    os.rename(os.path.join(conda_base, "envs", "webdev"), os.path.join(str(tmp_path), "webdev-moved"))
    changed, modules, out = run("third")
    assert changed == 1 and modules.count("conda_env") == 1, (modules, out)
    assert set(modules) <= {"conda_probe", "conda_env", "async_status"}, (modules, out)

    # a fleet rollout cut off half-way: the role's transport copies in the package cache, older than the longest
    # transaction (conda_env_async_timeout), are found by the probe and removed; young ones, links and others stay
    pkgs = os.path.join(conda_base, "pkgs")
    old = [os.path.join(pkgs, ".condafleet-0123456789abcdef.tar"), os.path.join(pkgs, ".condafleet-unpack.k1ll3d"),
           os.path.join(pkgs, ".condafleet-staging-0123456789abcdef")]
    kept = [os.path.join(pkgs, ".condafleet-fedcba9876543210.tar"), os.path.join(pkgs, ".part.not-ours"),
            os.path.join(pkgs, "mine.tar"), os.path.join(pkgs, ".condafleet-staging-link")]
    os.mkdir(old[2])
    for path in old[:2] + [os.path.join(old[2], "numpy-2.1.0-py311_0.conda")] + kept[:3]:
        with open(path, "wb") as handle:
            handle.write(b"x" * 1024)
    os.symlink(str(tmp_path), kept[3])
    three_days_ago = time.time() - 3 * 86400
    for path in old + kept[1:3]:
        os.utime(path, (three_days_ago, three_days_ago))
    changed, modules, out = run("fourth")
    assert changed == 1 and modules == ["conda_probe", "file"], (modules, out)
    assert not any(os.path.lexists(path) for path in old), os.listdir(pkgs)
    assert all(os.path.lexists(path) for path in kept) and os.path.isdir(str(tmp_path)), os.listdir(pkgs)
    changed, modules, out = run("fifth")
    assert changed == 0 and modules == ["conda_probe"], (modules, out)
