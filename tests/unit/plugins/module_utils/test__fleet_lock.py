# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""_fleet_lock and _fleet_plan: the class key of an environment, its lock file, and which host of a class solves."""
from __future__ import annotations

import pytest

from ansible_collections.condafleet.conda.plugins.filter.conda_lock_plan import conda_lock_plan
from ansible_collections.condafleet.conda.plugins.module_utils import _fleet_lock as fl
from ansible_collections.condafleet.conda.plugins.module_utils import _fleet_plan as fp
from ansible_collections.condafleet.conda.plugins.module_utils._envspec import parse_explicit

ARGS = {"name": "vision", "prefix": "/opt/conda", "state": "present", "python": "3.11", "packages": ["numpy"],
        "pip": [], "channels": [], "override_channels": False, "prune": False, "environment": {}}


def key(**changes):
    args = dict(ARGS, **changes.pop("args", {}))
    options = dict(spec_text=None, subdir="linux-64", installation_channels=["conda-forge"], mirror_url=None)
    options.update(changes)
    return fl.lock_key(args, options["spec_text"], options["subdir"], options["installation_channels"],
                       options["mirror_url"])


def test_the_key_is_stable_and_short():
    assert key() == key()
    assert len(key()) == 16 and int(key(), 16) >= 0


@pytest.mark.parametrize("change", [
    {"args": {"packages": ["numpy", "scipy"]}},
    {"args": {"python": "3.12"}},
    {"args": {"name": "other"}},
    {"args": {"channels": ["bioconda"]}},
    {"args": {"override_channels": True}},
    {"args": {"environment": {"CONDA_OVERRIDE_CUDA": "12.4"}}},
    {"subdir": "linux-aarch64"},
    {"spec_text": "dependencies: [numpy]\n"},
    {"installation_channels": ["conda-forge", "bioconda"]},
    {"mirror_url": "https://mirror.example.org/conda"},
])
def test_what_decides_the_solution_changes_the_key(change):
    assert key(**change) != key()


@pytest.mark.parametrize("change", [
    {"args": {"prefix": "/srv/conda"}},          # the same builds install anywhere
    {"args": {"prune": True}},
    {"args": {"environment": {"https_proxy": "http://proxy:3128"}}},  # how packages travel, not which
])
def test_what_does_not_decide_the_solution_keeps_the_key(change):
    assert key(**change) == key()


def test_a_mirror_password_does_not_enter_the_key_as_written():
    # the key is a digest of the masked URL: two passwords give the same key, and no password can be read back
    assert key(mirror_url="https://bob:one@mirror.example.org/c") == key(mirror_url="https://bob:two@mirror.example.org/c")


@pytest.mark.parametrize("args, text, expected", [
    ({}, None, True),
    ({"state": "latest"}, None, True),
    ({"state": "absent"}, None, False),
    ({"pip": ["requests"]}, None, False),
    ({}, "name: x\ndependencies:\n  - numpy\n", True),
    ({}, "name: x\ndependencies:\n  - pip\n  - pip:\n      - requests\n", False),
    ({}, "@EXPLICIT\nhttps://h/c/linux-64/a-1-0.conda#%s\n" % ("0" * 32), False),
    ({}, "version: 1\nmetadata:\n  platforms: [linux-64]\npackage:\n  - name: a\n", False),
    ({}, "dependencies: numpy\n", False),  # conda would misread it: conda_env reports that on the host
    ({"name": "../evil"}, None, False),   # never a path on the controller
    ({"name": ".hidden"}, None, False),
    ({"name": "py3.9-pandas_v2+cu"}, None, True),
])
def test_lockable(args, text, expected):
    assert fl.lockable(dict(ARGS, **args), text) is expected


def test_lock_file_names_round_trip():
    name = fl.lock_file_name("py3.9-pandas", "linux-64", "0123456789abcdef")
    assert name == "py3.9-pandas.linux-64.0123456789abcdef.lock"
    assert fl.parse_lock_file_name(name) == {"name": "py3.9-pandas", "subdir": "linux-64", "key": "0123456789abcdef"}
    assert fl.parse_lock_file_name("notes.txt") is None
    assert fl.parse_lock_file_name("vision.linux-64.XYZ.lock") is None


@pytest.mark.parametrize("url, expected", [
    ("https://conda.example.org/conda-forge/linux-64/a-1-0.conda", "https://conda.example.org/conda-forge/linux-64/a-1-0.conda"),
    ("https://bob:s3cret@mirror.example.org/cf/linux-64/a-1-0.conda", "https://mirror.example.org/cf/linux-64/a-1-0.conda"),
    ("https://TOKEN@mirror.example.org/cf/noarch/a-1-0.tar.bz2", "https://mirror.example.org/cf/noarch/a-1-0.tar.bz2"),
    ("https://conda.example.org/t/tk-123/cf/linux-64/a-1-0.conda", "https://conda.example.org/cf/linux-64/a-1-0.conda"),
    ("http://127.0.0.1:8731/conda-forge/linux-64/a-1-0.conda", "http://127.0.0.1:8731/conda-forge/linux-64/a-1-0.conda"),
])
def test_strip_credentials(url, expected):
    assert fl.strip_credentials(url) == expected


def record(name, depends=(), **extra):
    out = {"name": name, "version": "1.0", "build": "0", "depends": list(depends),
           "url": "https://bob:pw@h/cf/linux-64/%s-1.0-0.conda" % name, "md5": "%032x" % len(name)}
    out.update(extra)
    return out


def test_the_lock_lists_each_package_after_what_it_depends_on():
    records = [record("numpy", ["python >=3.11", "libblas"]), record("python", ["libzlib"]),
               record("libblas"), record("libzlib"), record("zz-tool", ["numpy"])]
    text = fl.lock_text(records, header=["lock of vision"])
    lines = text.splitlines()
    assert lines[0] == "# lock of vision" and lines[1] == "@EXPLICIT"
    names = [entry["name"] for entry in parse_explicit(text)]
    assert names == ["libblas", "libzlib", "python", "numpy", "zz-tool"]
    assert "bob" not in text and "pw@" not in text
    assert all(entry["md5"] for entry in parse_explicit(text))


def test_a_dependency_cycle_still_lists_every_package():
    records = [record("a", ["b"]), record("b", ["a"]), record("c")]
    assert sorted(e["name"] for e in parse_explicit(fl.lock_text(records))) == ["a", "b", "c"]


def test_a_record_without_its_url_cannot_be_locked():
    with pytest.raises(fl.LockError, match="numpy-1.0-0 has no URL"):
        fl.lock_text([record("numpy", url=None)])


def answers(*locks):
    return [{"name": "e%d" % number, "lock": lock} for number, lock in enumerate(locks)]


CPU = {"file": "vision.linux-64.aaaaaaaaaaaaaaaa.lock", "locked": False}
GPU = {"file": "vision.linux-64.bbbbbbbbbbbbbbbb.lock", "locked": False}
HAD = {"file": "web.linux-64.cccccccccccccccc.lock", "locked": True}


def test_the_first_host_of_each_class_solves_and_the_others_follow():
    play = {"cpu1": answers(CPU, HAD, None), "gpu1": answers(GPU, HAD, None), "cpu2": answers(CPU, HAD, None),
            "gpu2": answers(GPU, HAD, None)}
    assert fp.lock_plan("cpu1", play) == ["solve", "locked", "host"]
    assert fp.lock_plan("gpu1", play) == ["solve", "locked", "host"]
    assert fp.lock_plan("cpu2", play) == ["follow", "locked", "host"]
    assert fp.lock_plan("gpu2", play) == ["follow", "locked", "host"]


def test_environments_in_another_order_on_another_host_still_share_the_solver():
    play = {"a": answers(None, CPU), "b": answers(CPU)}
    assert fp.lock_plan("a", play) == ["host", "solve"]
    assert fp.lock_plan("b", play) == ["follow"]


def test_the_followers_know_their_solver():
    play = {"cpu1": answers(CPU, HAD), "gpu1": answers(GPU), "cpu2": answers(CPU)}
    assert conda_lock_plan(play, "cpu2", solvers=True) == {CPU["file"]: "cpu1", GPU["file"]: "gpu1"}


def test_in_check_mode_a_new_lock_is_predicted_on_each_host():
    play = {"a": answers(CPU, HAD), "b": answers(CPU, HAD)}
    assert fp.lock_plan("b", play, check_mode=True) == ["host", "locked"]
    assert conda_lock_plan(play, "a", check_mode=True) == ["host", "locked"]


def test_the_filter_refuses_what_is_not_a_dict_of_answers():
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError, match="expected a dict"):
        conda_lock_plan(["a"], "a")
    assert conda_lock_plan({"a": answers(CPU)}, "a") == ["solve"]


def test_the_report_names_for_each_lock_the_hosts_that_have_its_builds_and_those_that_differ():
    from ansible_collections.condafleet.conda.plugins.filter.conda_lock_report import conda_lock_report
    had = dict(HAD)
    play = {"a": [{"lock": had, "converged": True}, {"lock": None, "converged": False}],
            "b": [{"lock": had, "converged": False}],
            "c": [{"lock": CPU, "converged": True}]}
    assert conda_lock_report(play, locks=["old.linux-64.dddddddddddddddd.lock", HAD["file"]]) == [
        {"lock": "old.linux-64.dddddddddddddddd.lock", "identical": [], "differ": [], "missing": []},
        {"lock": CPU["file"], "identical": [], "differ": [], "missing": ["c"]},
        {"lock": HAD["file"], "identical": ["a"], "differ": ["b"], "missing": []},
    ]
