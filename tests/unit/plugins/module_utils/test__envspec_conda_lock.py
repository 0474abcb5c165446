# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""_envspec: conda-lock's unified lock file (conda-lock.yml), as conda-lock 4.0.3 wrote it against the world."""
from __future__ import annotations

import os

import pytest

from ansible_collections.condafleet.conda.plugins.module_utils import _envspec as es

LOCK = os.path.join(os.path.dirname(__file__), "..", "..", "data", "conda-lock", "conda-lock.yml")


def lock_text():
    with open(LOCK, encoding="utf-8") as handle:
        return handle.read()


def two_platforms():
    """The recorded lock with its linux-64 packages also listed (as other builds) for linux-aarch64."""
    text = lock_text()
    head, packages = text.split("package:\n", 1)
    other = packages.replace("platform: linux-64", "platform: linux-aarch64").replace("/linux-64/", "/linux-aarch64/")
    head = head.replace("  platforms:\n  - linux-64\n", "  platforms:\n  - linux-64\n  - linux-aarch64\n")
    return head + "package:\n" + packages + other


def test_a_conda_lock_file_is_recognised_and_an_environment_yml_is_not():
    assert es.is_conda_lock(lock_text())
    assert not es.is_conda_lock("name: x\ndependencies:\n  - python=3.11\n")
    assert not es.is_conda_lock("@EXPLICIT\nhttps://x/linux-64/a-1-0.conda\n")


def test_conda_packages_become_explicit_entries_and_pip_packages_pinned_lines():
    desired = es.desired_state({}, lock_text(), environ={}, machine="x86_64")
    assert desired["lock_format"] == "conda-lock"
    assert [(e["name"], e["version"], e["build"]) for e in desired["explicit"]] == [
        ("numpy", "1.26.4", "py311_0"), ("pip", "24.0", "py311_0"), ("python", "3.11.9", "h0_0_cpython")]
    assert desired["explicit"][0]["md5"] == "cf031b435255c47fddc6637190011658"
    assert desired["explicit"][0]["url"] == "http://127.0.0.1:8731/conda-forge/linux-64/numpy-1.26.4-py311_0.conda"
    assert desired["pip"] == ["condafleet-hello @ http://127.0.0.1:8731/pypi/packages/condafleet_hello-1.0-py3-none-any"
                              ".whl --hash=sha256:062ba487991d2fa00f74edbac1899c7ee2a0d5f2da9023c7a6b2c9c6be132786"]
    assert desired["pip_args"] == ["--no-deps"]
    es.validate(desired)
    text = es.explicit_text(desired["explicit"])
    assert es.parse_explicit(text) == desired["explicit"]  # what conda is given reads back the same


def test_the_host_platform_is_chosen_and_conda_subdir_overrides_it():
    text = two_platforms()
    arm = es.desired_state({}, text, environ={}, machine="aarch64")
    assert {e["subdir"] for e in arm["explicit"]} == {"linux-aarch64"} and len(arm["explicit"]) == 3
    forced = es.desired_state({}, text, environ={"CONDA_SUBDIR": "linux-aarch64"}, machine="x86_64")
    assert forced["explicit"] == arm["explicit"]


def test_a_platform_the_lock_was_not_made_for_is_named():
    with pytest.raises(es.SpecError, match=r"platform linux-aarch64 \(it was locked for linux-64\).*-p linux-aarch64"):
        es.desired_state({}, lock_text(), environ={}, machine="aarch64")


def test_dev_is_installed_as_conda_lock_install_does_and_other_categories_are_not():
    text = lock_text().replace("  category: main\n  optional: false\n", "  category: docs\n  optional: true\n", 1)
    text = text.replace("  category: main\n  optional: false\n", "  category: dev\n  optional: true\n", 1)
    desired = es.desired_state({}, text, environ={}, machine="x86_64")
    assert [e["name"] for e in desired["explicit"]] == ["pip", "python"]  # numpy is only in 'docs'


def test_a_categories_list_counts_as_its_categories():
    text = lock_text().replace("  category: main\n", "  categories:\n  - docs\n", 1)
    desired = es.desired_state({}, text, environ={}, machine="x86_64")
    assert [e["name"] for e in desired["explicit"]] == ["pip", "python"]
    text = lock_text().replace("  category: main\n", "  categories:\n  - docs\n  - dev\n", 1)
    assert len(es.desired_state({}, text, environ={}, machine="x86_64")["explicit"]) == 3


def test_an_entry_listed_once_per_category_is_installed_once():
    text = lock_text()
    head, packages = text.split("package:\n", 1)
    first = packages.split("- name: pip\n", 1)[0].replace("category: main", "category: dev")
    desired = es.desired_state({}, head + "package:\n" + packages + first, environ={}, machine="x86_64")
    assert [e["name"] for e in desired["explicit"]].count("numpy") == 1


@pytest.mark.parametrize("edit, message", [
    (("version: 1\n", "version: 2\n"), "version 2 is not supported"),
    (("  hash:\n    md5: cf031b435255c47fddc6637190011658\n    sha256: 853359cf8e23ff892556012cff3ccab5d6a25c3ebd41577d21"
      "20301f6219f3c2\n", "  hash: {}\n"), "package numpy has no md5 or sha256"),
    (("  url: http://127.0.0.1:8731/conda-forge/linux-64/pip-24.0-py311_0.tar.bz2\n", ""), "package 2 has no url"),
    (("manager: pip", "manager: cargo"), "package condafleet-hello has manager 'cargo'"),
    (("md5: cf031b435255c47fddc6637190011658\n    sha256: 853359cf8e23ff892556012cff3ccab5d6a25c3ebd41577d2120301f6219f3c2",
      "md5: \"0\\nhttp://x/linux-64/evil-1-0.conda\""), "package numpy has no md5 or sha256"),
    (("- name: condafleet-hello\n", "- name: \"x\\n--index-url http://evil/\"\n"), "is not a pip package name"),
    (("url: http://127.0.0.1:8731/pypi/", "url: \"http://h/a b --pre \"\n  x: http://127.0.0.1:8731/pypi/"),
     "pip package condafleet-hello has URL"),
    (("sha256: 062ba487991d2fa00f74edbac1899c7ee2a0d5f2da9023c7a6b2c9c6be132786", "sha256: abc"),
     "pip package condafleet-hello has no sha256"),
    (("  platforms:\n  - linux-64\n", "  platforms: linux-64\n"), "metadata.platforms 'linux-64' is not a list"),
])
def test_a_broken_lock_is_refused_naming_what_is_wrong(edit, message):
    text = lock_text().replace(*edit)
    assert text != lock_text()
    with pytest.raises(es.SpecError, match=message):
        es.desired_state({}, text, environ={}, machine="x86_64")


def test_a_conda_lock_file_cannot_be_combined_with_packages():
    with pytest.raises(es.SpecError, match="conda-lock"):
        es.desired_state({"packages": ["numpy"]}, lock_text(), environ={}, machine="x86_64")


def test_a_wheel_url_is_met_only_by_the_version_it_names():
    line = "hello @ https://h/packages/hello-1.0-py3-none-any.whl --hash=sha256:00"
    assert es.wheel_version("https://h/p/condafleet_hello-1.0-py3-none-any.whl#sha256=00") == "1.0"
    assert es.wheel_version("https://h/p/hello-1.0.tar.gz") is None
    assert es.pip_unsatisfied([line], {"hello": "1.0"}) == []
    assert es.pip_unsatisfied([line], {"hello": "1.1"}) == [line]
    assert es.pip_unsatisfied([line], {}) == [line]
    assert es.pip_unsatisfied(["hello @ https://h/hello.tar.gz"], {"hello": "3"}) == []  # no version to compare
