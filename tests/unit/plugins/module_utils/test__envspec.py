# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""_envspec: spec loading (environment.yml, @EXPLICIT), validation, and the pure plan() decisions."""
from __future__ import annotations

import json
import os
import re

import pytest

from ansible_collections.condafleet.conda.plugins.module_utils import _envspec as es
from ansible_collections.condafleet.conda.plugins.module_utils._runner import package_of

from recordings import both, recorded_file, transcript

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "data", "conda")


def rec(name, version, build="0", depends=()):
    return {"name": name, "version": version, "build": build, "depends": list(depends),
            "channel": "https://conda.anaconda.org/conda-forge/linux-64"}


VISION = [
    rec("python", "3.11.9", "h0_0_cpython", ["__glibc >=2.17"]),
    rec("pip", "24.0", "py311_0", ["python >=3.11,<3.12.0a0"]),
    rec("numpy", "2.1.0", "py311_0", ["python >=3.11,<3.12.0a0"]),
    rec("opencv", "4.9.0", "h0_0", ["numpy >=1.21"]),
    rec("pandas", "2.2.2", "py311_0", ["python >=3.11,<3.12.0a0", "numpy >=1.22"]),
]


def want(**params):
    text = params.pop("text", None)
    desired = es.desired_state(params, text)
    es.validate(desired)
    return desired


def test_environment_yml_with_nodefaults_and_pip():
    with open(os.path.join(DATA, "environment.yml"), encoding="utf-8") as handle:
        desired = want(text=handle.read())
    assert desired["specs"] == ["python=3.12", "fastapi"]
    assert desired["channels"] == ["file:///srv/conda-channel"] and desired["override_channels"] is True
    text = ("name: x\nchannels: [conda-forge]\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n"
            "    - --index-url http://127.0.0.1/simple\n    - condafleet-hello==1.0\nvariables:\n  A: b\n")
    desired = want(text=text, packages=["numpy"], channels=["mine"])
    assert desired["specs"] == ["python=3.11", "pip", "numpy"]
    assert desired["channels"] == ["mine", "conda-forge"] and not desired["override_channels"]
    assert desired["pip"] == ["--index-url http://127.0.0.1/simple", "condafleet-hello==1.0"]
    assert desired["variables"] == {"A": "b"}


@pytest.mark.parametrize("text, words", [
    ("dependencies:\n  - 3.10\n", "not a string; quote it"),
    ("dependencies:\n  - conda: [numpy]\n", "'conda:' mapping"),
    ("channels: [nodefaults]\n", "needs at least one channel"),
    ("dependencies: &x\n  - a\n", "does not read by itself"),
    ("dependencies:\n  - pip\n  - pip:\n    - --only-binary=:all:\n", "quote the line"),
    ("", "empty"),
    ("# only a comment\n", "empty"),
    ("- numpy\n", "not a YAML mapping"),
])
def test_environment_yml_errors(text, words):
    with pytest.raises(es.SpecError, match=words):
        es.desired_state({}, text)


def test_explicit_lock_file():
    with open(os.path.join(DATA, "15-list-explicit.json"), encoding="utf-8") as handle:
        text = json.load(handle)["stdout"]
    desired = want(text=text)
    entries = desired["explicit"]
    assert [(e["name"], e["version"], e["build"]) for e in entries][:2] == [
        ("python", "3.11.9", "h0_0_cpython"), ("numpy", "2.1.0", "py311_0")]
    assert entries[0]["md5"] == "bcbd4df0e6d075db37c0e5b5c46aee86"
    assert entries[0]["channel"] == "file:///srv/conda-channel"
    with pytest.raises(es.SpecError, match="cannot be combined"):
        es.desired_state({"packages": ["numpy"]}, text)
    with pytest.raises(es.SpecError, match="not a package URL"):
        es.parse_explicit("@EXPLICIT\nhttp://x/linux-64/README.txt\n")


@pytest.mark.parametrize("spec", ["python==>3.9", "numpy=<>1", "", "-r requirements.txt", "numpy >=1.0 ]"])
def test_validate_names_the_bad_spec(spec):
    with pytest.raises(es.SpecError) as err:
        want(packages=["pandas", spec])
    assert repr(spec) in str(err.value)


def test_validate_bad_pip_requirement():
    with pytest.raises(es.SpecError, match="'not a requirement!'"):
        want(pip=["not a requirement!"])


def test_python_option():
    assert es.python_spec("3.11") == "python=3.11"
    assert es.python_spec(">=3.10") == "python>=3.10"
    assert want(python="3.11")["specs"] == ["python=3.11"]


@pytest.mark.parametrize("python, meant", [("3.1", "3.10"), (3.1, "3.10"), ("3.2", "3.20"), ("python=3.1", "3.10"),
                                           ("==3.2", "3.20"), ("3.1.*", "3.10")])
def test_python_3_1_and_3_2_are_yaml_numbers_refused_with_the_fix(python, meant):
    """``python: 3.10`` unquoted reaches the module as 3.1: no channel has Python 3.1 or 3.2."""
    with pytest.raises(es.SpecError) as raised:
        want(python=python)
    assert str(raised.value).startswith("python %r: did you mean '%s'? YAML reads an unquoted %s as the number %s: "
                                        "quote it" % (str(python), meant, meant, meant[:3]))


@pytest.mark.parametrize("python", ["3.10", "3.12", "3.20", ">=3.1", "3.13.1", "3.11.*"])
def test_other_python_versions_are_no_yaml_numbers(python):
    assert es.yaml_number_python_error(python) is None
    assert es.python_spec(python).startswith("python")


def test_plan_missing_environment_creates():
    decision = es.plan(None, want(python="3.11", packages=["numpy"], pip=["tinyjson"]))
    assert decision["action"] == "create" and decision["unsatisfied"] == ["python=3.11", "numpy"]
    assert decision["pip"] == ["tinyjson"]


def test_plan_converged_does_nothing():
    decision = es.plan(VISION, want(python="3.11", packages=["numpy", "opencv", "pandas=2.2"]))
    assert not es.needs_change(decision) and decision["action"] is None


def test_plan_add_and_tighten():
    decision = es.plan(VISION, want(python="3.11", packages=["numpy<2", "scikit-learn"]))
    assert decision["action"] == "install" and decision["unsatisfied"] == ["numpy<2", "scikit-learn"]
    assert decision["specs"] == ["python=3.11", "numpy<2", "scikit-learn"]


def test_plan_latest_always_asks_conda():
    decision = es.plan(VISION, want(packages=["numpy"]), state="latest")
    assert decision["action"] == "update" and decision["unsatisfied"] == []


def test_plan_prune_keeps_the_dependency_closure_and_pip():
    decision = es.plan(VISION, want(packages=["opencv"]), prune=True)
    # opencv needs numpy, numpy needs python, python brings pip; pandas is needed by nothing requested
    assert decision["remove"] == ["pandas"] and decision["action"] is None
    assert es.needs_change(decision)
    assert es.plan(VISION, want(packages=["pandas", "opencv"]), prune=True)["remove"] == []


def test_plan_prune_protects_base_conda():
    base = VISION + [rec("conda", "26.7.1", "py311_0", ["python >=3.11", "requests"]), rec("requests", "2.32", "0")]
    decision = es.plan(base, want(packages=["numpy"]), prune=True, protect=["conda"])
    assert decision["remove"] == ["opencv", "pandas"]


def test_plan_pip():
    desired = want(packages=["python"], pip=["condafleet-hello>=1.0,<2", "tinyjson==0.1"])
    decision = es.plan(VISION, desired, pip_installed={"condafleet-hello": "1.1"})
    assert decision["pip"] == ["tinyjson==0.1"] and decision["action"] is None
    decision = es.plan(VISION, desired, pip_installed={"condafleet-hello": "2.0", "tinyjson": "0.1"})
    assert decision["pip"] == ["condafleet-hello>=1.0,<2"]
    assert not es.needs_change(es.plan(VISION, desired, pip_installed={"condafleet-hello": "1.0", "tinyjson": "0.1"}))


def test_plan_explicit():
    text = "@EXPLICIT\nfile:///c/linux-64/python-3.11.9-h0_0_cpython.tar.bz2\nfile:///c/linux-64/numpy-1.26.4-py311_0.conda\n"
    decision = es.plan(VISION, want(text=text))
    assert decision["action"] == "install" and decision["unsatisfied"] == ["numpy-1.26.4-py311_0"]
    decision = es.plan(VISION, want(text=text), prune=True)
    assert decision["remove"] == ["opencv", "pandas", "pip"]


def test_explicit_actions_link_what_is_unsatisfied_and_unlink_what_it_replaces():
    text = "@EXPLICIT\nfile:///c/linux-64/python-3.11.9-h0_0_cpython.tar.bz2\nfile:///c/linux-64/numpy-1.26.4-py311_0.conda\n"
    desired = want(text=text)
    decision = es.plan(VISION, desired)
    actions = es.explicit_actions(desired["explicit"], VISION, decision["unsatisfied"])
    assert actions == {"link": [{"name": "numpy", "version": "1.26.4", "build": "py311_0", "channel": "c"}],
                       "unlink": [{"name": "numpy", "version": "2.1.0", "build": "py311_0", "channel": ""}]}
    assert es.explicit_actions(desired["explicit"], [], es.plan(None, desired)["unsatisfied"])["unlink"] == []
    assert [p["name"] for p in es.explicit_actions(desired["explicit"], [], es.plan(None, desired)["unsatisfied"])
            ["link"]] == ["python", "numpy"]


def test_prune_removals_are_what_plan_decides_and_follow_the_records_after_an_install():
    desired = want(packages=["opencv"])
    assert es.prune_removals(VISION, desired) == es.plan(VISION, desired, prune=True)["remove"] == ["pandas"]
    # after an install that made pandas a dependency of what is requested, it stays
    after = VISION[:3] + [rec("opencv", "4.10.0", "h0_0", ["numpy >=1.21", "pandas"]), VISION[4]]
    assert es.prune_removals(after, desired) == []
    assert es.prune_removals(VISION, desired, protect=["pandas"]) == []


def test_unlink_entries_of_all_or_of_named_records():
    assert [e["name"] for e in es.unlink_entries(VISION)] == [r["name"] for r in VISION]
    pandas = {"name": "pandas", "version": "2.2.2", "build": "py311_0", "channel": ""}
    assert es.unlink_entries(VISION, {"pandas"}) == [pandas]


def test_env_changed_is_one_rule_for_the_real_run_and_the_prediction():
    assert es.env_changed(None, [], False)  # created, even empty
    assert not es.env_changed(VISION, list(VISION), False)
    assert es.env_changed(VISION, VISION[:-1], False) and es.env_changed(VISION, VISION, True)
    relinked = es.predict(VISION, [dict(package_of(VISION[2]))], [dict(package_of(VISION[2]))])
    assert not es.env_changed(VISION, relinked, False)  # the same build again is no change


def test_compare_of_a_missing_environment_names_everything_missing_as_for_an_existing_one():
    text = "@EXPLICIT\nfile:///c/linux-64/numpy-1.26.4-py311_0.conda\n"
    absent = es.compare(None, want(text=text))
    assert absent["missing"] == es.compare([], want(text=text))["missing"] == ["numpy 1.26.4 py311_0"]
    assert absent["satisfied"] is False and es.compare([], want())["satisfied"] is True
    assert es.compare(None, want(packages=["numpy"], pip=["tinyjson"]))["pip_unsatisfied"] == ["tinyjson"]


def test_predict_and_delta():
    link = [{"name": "numpy", "version": "1.26.4", "build": "py311_0", "channel": "c"},
            {"name": "scikit-learn", "version": "1.3.2", "build": "py311_0", "channel": "c"}]
    unlink = [{"name": "numpy", "version": "2.1.0", "build": "py311_0", "channel": "c"},
              {"name": "pandas", "version": "2.2.2", "build": "py311_0", "channel": "c"}]
    after = es.predict(VISION, link, unlink)
    assert es.package_lines(after) == ["numpy 1.26.4 py311_0", "opencv 4.9.0 h0_0", "pip 24.0 py311_0",
                                       "python 3.11.9 h0_0_cpython", "scikit-learn 1.3.2 py311_0"]
    added, removed, changed = es.delta(VISION, after)
    assert [p["name"] for p in added] == ["scikit-learn"]
    assert [p["name"] for p in removed] == ["pandas"]
    assert changed == [{"name": "numpy", "before": package_of(VISION[2]), "after": link[0]}]


def test_compare_for_info():
    result = es.compare(VISION, want(python="3.12", packages=["numpy", "scikit-learn"], pip=["tinyjson"]))
    assert result["missing"] == ["scikit-learn"]
    assert result["unsatisfied"] == [{"spec": "python=3.12", "installed": "python 3.11.9 h0_0_cpython"}]
    assert result["extra"] == ["opencv", "pandas"]
    assert result["pip_unsatisfied"] == ["tinyjson"] and result["satisfied"] is False
    assert es.compare(VISION, want(packages=["pandas", "opencv"]))["satisfied"] is True


@pytest.mark.parametrize("name, bad", [
    ("two words", "' '"), ("a#b", "'#'"), ("a:b", "':'"), ("a/b", "'/'"), ("new\nline", "'\\n'"), ("tab\there", "'\\t'"),
])
def test_env_name_error_follows_conda(name, bad):
    msg = es.env_name_error(name)
    assert msg is not None and repr(name) in msg and bad in msg


@pytest.mark.parametrize("name", ["", ".", ".."])
def test_env_name_error_empty_and_dots(name):
    assert es.env_name_error(name) == "invalid environment name %r" % name


@pytest.mark.parametrize("name", ["vision", "py3.11-env", "web_dev", "A+B", "ünïcode"])
def test_env_name_error_accepts_what_conda_accepts(name):
    assert es.env_name_error(name) is None


def test_transaction_actions_from_records():
    def rec(name, version, build="0"):
        return {"name": name, "version": version, "build": build, "channel": "https://c.example/conda-forge/linux-64"}
    before = [rec("python", "3.11.9"), rec("numpy", "1.26.4"), rec("pip", "24.0")]
    after = [rec("python", "3.11.9"), rec("numpy", "2.1.0"), rec("fastapi", "0.110.0")]
    actions = es.transaction_actions(before, after)
    assert [(p["name"], p["version"]) for p in actions["link"]] == [("fastapi", "0.110.0"), ("numpy", "2.1.0")]
    assert [(p["name"], p["version"]) for p in actions["unlink"]] == [("numpy", "1.26.4"), ("pip", "24.0")]
    assert es.transaction_actions(before, before) == {"link": [], "unlink": []}
    created = es.transaction_actions([], after)
    assert len(created["link"]) == 3 and created["unlink"] == []


@pytest.mark.parametrize("text, key", [
    ("dependencies: numpy\n", "dependencies"),
    ("channels: conda-forge\ndependencies:\n  - numpy\n", "channels"),
    ("dependencies:\n  - pip\n  - pip: requests\n", "pip"),
    ("  dependencies: numpy\n", "dependencies"),
])
def test_environment_yml_string_where_a_list_belongs_is_an_error(text, key):
    """A string field is never split into one spec per character (``n u m p y``)."""
    with pytest.raises(es.SpecError) as err:
        es.parse_environment_yml(text)
    assert key in str(err.value) and "must be a list" in str(err.value)


def test_prune_needs_a_spec_that_names_a_package():
    assert "names at least one package" in es.prune_error(want(), True)
    assert "names at least one package" in es.prune_error(want(pip=["tinyjson"]), True)
    assert "names at least one package" in es.prune_error(want(text="@EXPLICIT\n"), True)
    assert es.prune_error(want(), False) is None
    assert es.prune_error(want(packages=["numpy"]), True) is None
    assert es.prune_error(want(python="3.11"), True) is None


def test_prune_keeps_python_pip_and_the_conda_packages_that_meet_pip_requirements():
    decision = es.plan(VISION, want(packages=["opencv"], pip=["Pandas>=2"]), prune=True,
                       pip_installed={"pandas": "2.2.2"})
    assert decision["remove"] == [] and decision["pip"] == []
    assert es.plan(VISION, want(packages=["opencv"]), prune=True)["remove"] == ["pandas"]
    assert es.compare(VISION, want(packages=["opencv"], pip=["pandas"]), {"pandas": "2.2.2"})["extra"] == []


def test_bad_names_are_refused_by_validate():
    for spec in ("../../etc", "numpy\n", "nu mpy=1\nx"):
        with pytest.raises(es.SpecError, match="invalid package spec %s" % re.escape(repr(spec))):
            want(packages=[spec])


@both
def test_explicit_lock_from_list_explicit_sha256(version):
    """``conda list --explicit --sha256`` writes the bare sha256 after ``#``."""
    lock = transcript(version, "15-list-explicit")["stdout"]
    assert lock == recorded_file(version, "input-vision.lock")
    entries = es.parse_explicit(lock)
    listed = dict((p["name"], p) for p in transcript(version, "14-list")["stdout_json"])
    assert sorted(e["name"] for e in entries) == sorted(listed)
    for entry in entries:
        assert (entry["version"], entry["build"]) == (listed[entry["name"]]["version"],
                                                      listed[entry["name"]]["build_string"])
        assert len(entry["sha256"]) == 64 and "md5" not in entry
    assert es.is_explicit(lock)


@both
def test_env_name_rule_matches_conda(version):
    assert transcript(version, "45-create-name-with-space")["rc"] == 1
    assert transcript(version, "46-create-name-with-hash")["rc"] == 1
    assert es.env_name_error("my env") and es.env_name_error("a#b")
    assert transcript(version, "04-create-success")["rc"] == 0 and es.env_name_error("vision") is None
