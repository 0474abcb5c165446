# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""conda_env run in-process on fake prefixes with a mocked run_command: argv, decisions, check/diff, errors, safety."""
from __future__ import annotations

import json
import os

import pytest
from ansible.module_utils import basic
from core_compat import patch_module_args

from ansible_collections.condafleet.conda.plugins.modules import conda_env

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "data", "conda")


def transcript(name):
    with open(os.path.join(DATA, name), encoding="utf-8") as handle:
        case = json.load(handle)
    return case["rc"], json.dumps(case["stdout_json"]), case["stderr"]


def rec(name, version, build="0", depends=()):
    return {"name": name, "version": version, "build": build, "depends": list(depends),
            "channel": "file:///srv/conda-channel/linux-64"}


VISION = [rec("python", "3.11.9", "h0_0_cpython"), rec("pip", "24.0", "py311_0", ["python >=3.11,<3.12.0a0"]),
          rec("numpy", "2.1.0", "py311_0", ["python >=3.11,<3.12.0a0"]), rec("opencv", "4.9.0", "h0_0", ["numpy >=1.21"])]


def write_records(prefix, records, history="==> 2026-11-24 18:14:15 <==\n# update specs: ['numpy']\n"):
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True, exist_ok=True)
    (meta / "history").write_text(history)
    for record in records:
        (meta / ("%s-%s-%s.json" % (record["name"], record["version"], record["build"]))).write_text(json.dumps(record))
    return prefix


@pytest.fixture
def base(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    prefix = write_records(tmp_path / "conda", [rec("python", "3.12.4", "h0_0_cpython"), rec("conda", "26.7.1", "py_0")])
    (prefix / "envs").mkdir()
    (prefix / "bin").mkdir()
    (prefix / "bin" / "conda").write_text("#!/bin/sh\nexit 99\n")  # what makes it an installation (never run)
    return prefix


def answer_link(argv, records):
    """A fake conda that 'installs': writes the records and answers like conda 26.7."""
    prefix = argv[argv.index("-p") + 1]
    write_records(__import__("pathlib").Path(prefix), records)
    link = [{"name": r["name"], "version": r["version"], "build_string": r["build"], "channel": "conda-channel"}
            for r in records]
    return 0, json.dumps({"success": True, "actions": {"FETCH": [], "PREFIX": prefix, "LINK": link},
                          "prefix": prefix}), ""


@pytest.fixture
def run(monkeypatch, capsys):
    def _run(args, check=False, diff=False, handler=None):
        calls = []

        def fake(self, cmd, **kwargs):
            calls.append((cmd, kwargs))
            if handler is None:
                raise AssertionError("unexpected command: %r" % (cmd,))
            return handler(cmd)

        monkeypatch.setattr(basic.AnsibleModule, "run_command", fake)
        with patch_module_args(dict(args, _ansible_check_mode=check, _ansible_diff=diff)):
            with pytest.raises(SystemExit):
                conda_env.main()
        result = json.loads(capsys.readouterr().out)
        result["_calls"] = [c for c, _kw in calls]
        result["_env"] = [kw.get("environ_update") for _c, kw in calls]
        return result
    return _run


def test_create_then_converged_without_any_process(run, base):
    args = {"prefix": str(base), "name": "vision", "python": "3.11", "packages": ["numpy", "opencv"],
            "channels": ["file:///srv/conda-channel"], "override_channels": True}
    first = run(args, diff=True, handler=lambda cmd: answer_link(cmd, VISION))
    target = str(base / "envs" / "vision")
    assert first["changed"] and first["prefix"] == target
    assert first["_calls"] == [[str(base / "bin" / "conda"), "create", "-p", target, "--override-channels",
                                "-c", "file:///srv/conda-channel", "python=3.11", "numpy", "opencv",
                                "--yes", "--json", "--quiet"]]
    assert first["cmd"] == first["_calls"][0]
    assert [p["name"] for p in first["packages_added"]] == ["numpy", "opencv", "pip", "python"]
    assert first["diff"]["before"] == "" and "numpy 2.1.0 py311_0\n" in first["diff"]["after"]
    second = run(args, diff=True)
    assert not second["changed"] and second["_calls"] == [] and second["cmd"] is None
    assert second["diff"]["before"] == second["diff"]["after"]


def test_install_passes_all_specs_in_one_process(run, base):
    target = write_records(base / "envs" / "vision", VISION)
    new = [rec("numpy", "1.26.4", "py311_0", ["python >=3.11,<3.12.0a0"])]

    def handler(cmd):
        (target / "conda-meta" / "numpy-2.1.0-py311_0.json").unlink()
        return answer_link(cmd, new)

    result = run({"prefix": str(base), "name": "vision", "packages": ["numpy<2", "opencv"]}, handler=handler)
    assert result["changed"] and result["unsatisfied"] == ["numpy<2"]
    assert result["_calls"] == [[str(base / "bin" / "conda"), "install", "-p", str(target), "numpy<2", "opencv",
                                 "--yes", "--json", "--quiet"]]
    assert result["packages_changed"][0]["name"] == "numpy"
    assert result["packages_changed"][0]["after"]["version"] == "1.26.4"


def test_check_mode_predicts_with_dry_run_and_changes_nothing(run, base):
    rc, out, err = transcript("09-install-dry-run.json")
    target = write_records(base / "envs" / "vision", VISION)
    before = sorted(os.listdir(target / "conda-meta"))
    result = run({"prefix": str(base), "name": "vision", "packages": ["pandas=2.2"]}, check=True, diff=True,
                 handler=lambda cmd: (rc, out, err))
    assert result["changed"]
    assert result["_calls"][0][-4:] == ["pandas=2.2", "--dry-run", "--json", "--quiet"]
    assert [p["name"] for p in result["actions"]["link"]] == ["pandas"]
    assert "pandas 2.2.2 py311_0\n" in result["diff"]["after"] and "pandas" not in result["diff"]["before"]
    assert [p["name"] for p in result["packages_added"]] == ["pandas"]
    assert sorted(os.listdir(target / "conda-meta")) == before


def test_check_mode_on_missing_env_uses_create_dry_run(run, base):
    rc, out, err = transcript("04-create-success.json")
    result = run({"prefix": str(base), "name": "vision", "python": "3.11"}, check=True,
                 handler=lambda cmd: (rc, out, err))
    assert result["changed"] and result["_calls"][0][1] == "create" and "--dry-run" in result["_calls"][0]
    assert not (base / "envs" / "vision").exists()


@pytest.mark.parametrize("name, exception", [
    ("05-create-packages-not-found.json", "PackagesNotFoundInChannelsError"),
    ("06-create-unsatisfiable.json", "RattlerUnsatisfiableError"),
])
def test_failure_reports_conda_error_and_leaves_env_alone(run, base, name, exception):
    target = write_records(base / "envs" / "vision", VISION)
    snapshot = dict((f, (target / "conda-meta" / f).read_bytes()) for f in os.listdir(target / "conda-meta"))
    rc, out, err = transcript(name)
    result = run({"prefix": str(base), "name": "vision", "packages": ["no-such-package"]},
                 handler=lambda cmd: (rc, out, err))
    # conda changed nothing: nothing to roll back, and its raw output is left out below -vvv
    assert result["failed"] and result["exception_name"] == exception and "rolled_back" not in result
    assert exception in result["msg"] and result["msg"].endswith("; the environment was not changed")
    assert "stdout" not in result and "stderr" not in result and result["conda_message"]
    assert len(result["_calls"]) == 1
    assert dict((f, (target / "conda-meta" / f).read_bytes()) for f in os.listdir(target / "conda-meta")) == snapshot


def test_python_3_10_read_by_yaml_as_3_1_is_refused_before_conda_runs(run, base):
    result = run({"prefix": str(base), "name": "vision", "python": 3.1})
    assert result["failed"] and "did you mean '3.10'? YAML reads an unquoted 3.10 as the number 3.1" in result["msg"]
    assert result["_calls"] == [] and not (base / "envs" / "vision").exists()


def test_failure_that_changed_the_env_rolls_back_to_the_revision(run, base):
    target = write_records(base / "envs" / "vision", VISION, history="==> a <==\n==> b <==\n")
    rc, out, err = transcript("06-create-unsatisfiable.json")

    def handler(cmd):
        if "--revision" in cmd:
            return 0, json.dumps({"success": True, "actions": {}}), ""
        (target / "conda-meta" / "half-1-0.json").write_text("{}")
        return rc, out, err

    result = run({"prefix": str(base), "name": "vision", "packages": ["pandas"]}, handler=handler)
    assert result["failed"] and result["rolled_back"] is True
    assert result["_calls"][1][1:6] == ["install", "-p", str(target), "--revision", "1"]


def test_failed_create_removes_half_created_env(run, base):
    rc, out, err = transcript("06-create-unsatisfiable.json")
    target = base / "envs" / "finance"

    def handler(cmd):
        (target / "conda-meta").mkdir(parents=True, exist_ok=True)
        return rc, out, err

    result = run({"prefix": str(base), "name": "finance", "packages": ["numpy=2.1", "python=3.9"]}, handler=handler)
    assert result["failed"] and result["rolled_back"] is True and not target.exists()


def test_bad_spec_fails_before_anything_runs(run, base):
    result = run({"prefix": str(base), "name": "vision", "packages": ["numpy", "python==>3.9"]})
    assert result["failed"] and "'python==>3.9'" in result["msg"] and result["_calls"] == []


def test_latest_asks_conda_and_reports_no_change(run, base):
    write_records(base / "envs" / "vision", VISION)
    rc, out, err = transcript("08-install-already-satisfied.json")
    result = run({"prefix": str(base), "name": "vision", "packages": ["numpy"], "state": "latest"},
                 handler=lambda cmd: (rc, out, err))
    assert not result["changed"] and "--update-specs" in result["_calls"][0]


def test_prune_removes_only_what_nothing_requested_needs(run, base):
    target = write_records(base / "envs" / "vision", VISION + [rec("pandas", "2.2.2", "py311_0", ["numpy"])])

    def handler(cmd):
        assert cmd[1:4] == ["remove", "-p", str(target)]
        (target / "conda-meta" / "pandas-2.2.2-py311_0.json").unlink()
        return transcript("18-remove-package.json")

    result = run({"prefix": str(base), "name": "vision", "packages": ["opencv"], "prune": True}, handler=handler)
    assert result["changed"] and result["_calls"][0][4:5] == ["pandas"] and len(result["_calls"]) == 1
    assert [p["name"] for p in result["packages_removed"]] == ["pandas"]


def test_base_conda_is_pinned(run, base):
    def handler(cmd):
        return 0, json.dumps({"success": True, "message": "All requested packages already installed."}), ""

    result = run({"prefix": str(base), "name": "base", "packages": ["numpy"],
                  "environment": {"CONDA_OVERRIDE_CUDA": "12.4"}}, handler=handler)
    env = result["_env"][0]
    assert env["CONDA_PINNED_PACKAGES"].endswith("conda==26.7.1") and env["CONDA_OVERRIDE_CUDA"] == "12.4"
    assert result["_calls"][0][2:4] == ["-p", str(base)]


def test_lock_file_content_creates_with_file(run, base):
    text = "@EXPLICIT\nfile:///srv/conda-channel/linux-64/python-3.11.9-h0_0_cpython.tar.bz2\n"
    result = run({"prefix": str(base), "name": "locked", "spec_content": text},
                 handler=lambda cmd: answer_link(cmd, [VISION[0]]))
    cmd = result["_calls"][0]
    assert cmd[1:5] == ["create", "-p", str(base / "envs" / "locked"), "--file"] and result["changed"]
    checked = run({"prefix": str(base), "name": "locked", "spec_content": text}, check=True)
    assert not checked["changed"] and checked["_calls"] == []


def test_absent(run, base):
    target = write_records(base / "envs" / "old", VISION)
    checked = run({"prefix": str(base), "name": "old", "state": "absent"}, check=True, diff=True)
    assert checked["changed"] and checked["_calls"] == [] and checked["diff"]["after"] == ""
    assert target.exists()

    def handler(cmd):
        assert cmd[1:5] == ["remove", "--all", "-p", str(target)]
        return transcript("27-env-remove.json")

    result = run({"prefix": str(base), "name": "old", "state": "absent"}, handler=handler)
    assert result["changed"]
    import shutil
    shutil.rmtree(str(target))
    again = run({"prefix": str(base), "name": "old", "state": "absent"})
    assert not again["changed"] and again["_calls"] == []


def test_absent_refuses_base_and_foreign_envs(run, base, tmp_path):
    result = run({"prefix": str(base), "name": "base", "state": "absent"})
    assert result["failed"] and "base" in result["msg"]
    foreign = write_records(tmp_path / "elsewhere", VISION, history="# cmd: /other/bin/conda create\n")
    result = run({"prefix": str(base), "path": str(foreign), "state": "absent"})
    assert result["failed"] and "not an environment of the installation" in result["msg"]


def test_refuses_a_directory_that_is_not_an_env(run, base):
    target = base / "envs" / "data"
    target.mkdir()
    (target / "important.txt").write_text("x")
    result = run({"prefix": str(base), "name": "data", "packages": ["numpy"]})
    assert result["failed"] and "not a conda environment" in result["msg"] and result["_calls"] == []


def test_pip_runs_only_when_unsatisfied(run, base):
    target = write_records(base / "envs" / "api", VISION)
    site = target / "lib" / "python3.11" / "site-packages"

    def handler(cmd):
        assert cmd[:4] == [str(target / "bin" / "python"), "-m", "pip", "install"]
        assert cmd[-2] == "-r" and "http://127.0.0.1:1/pypi/simple/" not in " ".join(cmd)
        with open(cmd[-1], encoding="utf-8") as handle:  # the lines as written, as conda hands them to pip
            assert handle.read() == "--index-url http://127.0.0.1:1/pypi/simple/\ntinyjson==0.1\n"
        (site / "tinyjson-0.1.dist-info").mkdir(parents=True)
        (site / "tinyjson-0.1.dist-info" / "INSTALLER").write_text("pip\n")
        return 0, "Successfully installed tinyjson-0.1\n", ""

    args = {"prefix": str(base), "name": "api", "packages": ["python"],
            "pip": ["--index-url http://127.0.0.1:1/pypi/simple/", "tinyjson==0.1"]}
    first = run(args, handler=handler)
    assert first["changed"] and first["actions"]["pip"] == ["tinyjson==0.1"] and len(first["_calls"]) == 1
    second = run(args)
    assert not second["changed"] and second["_calls"] == []


def test_spec_file_warnings_are_conda_s_and_a_converged_env_runs_nothing(run, base, tmp_path):
    target = write_records(base / "envs" / "api", VISION)
    dist = target / "lib" / "python3.11" / "site-packages" / "tinyjson-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "INSTALLER").write_text("pip\n")
    spec = tmp_path / "environment.yml"
    spec.write_text("---\n  name: api\n  category: main\n  dependencies:\n    - python=3.11\n    - numpy\n"
                    "    - pip:\n      - --index-url https://user:secret@pypi.example.com/simple\n      - tinyjson==0.1\n")
    result = run({"prefix": str(base), "name": "api", "spec_file": str(spec)})
    assert not result["changed"] and result["_calls"] == [], result
    warnings = json.dumps(result["warnings"])
    assert "EnvironmentSectionNotValid" in warnings and "category" in warnings and "pip is added" in warnings


def test_a_pip_line_without_a_name_goes_to_pip_as_written(run, base, tmp_path):
    target = write_records(base / "envs" / "api", VISION)
    spec = tmp_path / "environment.yml"
    spec.write_text("dependencies:\n  - python\n  - pip\n  - pip:\n    - -e .\n")
    seen = []

    def handler(cmd):
        with open(cmd[-1], encoding="utf-8") as handle:
            seen.append(handle.read())
        return 0, "Requirement already satisfied\n", ""

    result = run({"prefix": str(base), "name": "api", "spec_file": str(spec)}, handler=handler)
    assert seen == ["-e .\n"] and not result["changed"] and result["actions"]["pip"] == ["-e ."]
    assert str(target / "bin" / "python") == result["commands"][0][0]
