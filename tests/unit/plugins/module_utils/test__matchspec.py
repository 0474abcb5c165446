# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""_matchspec: every recorded conda 26.7 verdict, plus ordering edges, parsing and errors."""
from __future__ import annotations

import json
import os

import pytest

from ansible_collections.condafleet.conda.plugins.module_utils._matchspec import (
    MatchSpec,
    MatchSpecError,
    VersionOrder,
    VersionSpec,
    unsatisfied,
)

CASES_FILE = os.path.join(os.path.dirname(__file__), "..", "..", "data", "matchspec-cases.json")

with open(CASES_FILE, encoding="utf-8") as _handle:
    REFERENCE = json.load(_handle)


def _case_id(case):
    if "error" in case:
        return "error:%s" % case["spec"]
    if "parsed_as" in case:
        return "parsed:%s" % case["spec"]
    record = "%s-%s-%s" % (case["name"], case["version"], case["build"])
    if "channel" in case:
        record = "%s::%s" % (case["channel"], record)
    return "%s@%s" % (case["spec"], record)


def _ids(cases):
    """Case ids, made unique where the reference repeats a (spec, record) pair."""
    seen = {}
    out = []
    for case in cases:
        base = _case_id(case)
        seen[base] = seen.get(base, 0) + 1
        out.append(base if seen[base] == 1 else "%s#%d" % (base, seen[base]))
    return out


CASES = REFERENCE["cases"]


def test_reference_is_not_empty():
    assert len(CASES) > 2000
    assert len(REFERENCE["version_order_ascending"]) > 20


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_reference_case(case):
    if "error" in case:
        with pytest.raises(MatchSpecError) as info:
            MatchSpec.parse(case["spec"])
        assert repr(case["spec"]) in str(info.value)
        return
    spec = MatchSpec.parse(case["spec"])
    if "parsed_as" in case:
        assert str(spec) == case["parsed_as"]
        return
    record = {"name": case["name"], "version": case["version"], "build": case["build"]}
    if "channel" in case:
        record["channel"] = case["channel"]
    assert spec.match(record) is case["matches"]


def order(a, b):
    """-1, 0 or 1 as ``VersionOrder`` sorts version ``a`` before, equal to or after ``b`` (its ``<`` and ``==``)."""
    first, second = VersionOrder(a), VersionOrder(b)
    return -1 if first < second else 0 if first == second else 1


def test_reference_version_order():
    versions = REFERENCE["version_order_ascending"]
    for low, high in zip(versions, versions[1:]):
        assert order(low, high) <= 0, (low, high)
    shuffled = list(reversed(versions))
    ordered = sorted(shuffled, key=VersionOrder)
    assert [VersionOrder(v) for v in ordered] == [VersionOrder(v) for v in versions]


# conda's documented ordering; '==' marks versions equal to the previous one.
DOC_ORDER = """
0.4 ==0.4.0 0.4.1.rc ==0.4.1.RC 0.4.1 0.5a1 0.5b3 0.5C1 0.5 0.9.6 0.960923 1.0 1.1dev1 1.1_ 1.1a1
1.1.0dev1 ==1.1.dev1 1.1.a1 1.1.0rc1 1.1.0 ==1.1 1.1.0post1 ==1.1.post1 1.1post1 1996.07.12
1!0.4.1 1!3.1.1.6 2!0.4.1
""".split()


def test_documented_order():
    previous = None
    for item in DOC_ORDER:
        equal = item.startswith("==")
        version = item[2:] if equal else item
        if previous is not None:
            assert order(previous, version) == (0 if equal else -1), (previous, version)
            assert order(version, previous) == (0 if equal else 1), (version, previous)
        previous = version


@pytest.mark.parametrize("low, high", [
    ("1.0", "1.0.1"),
    ("1.9", "1.10"),
    ("2.0.0dev1", "2.0.0_"),
    ("2.0.0_", "2.0.0a1"),
    ("2.0.0a1", "2.0.0b1"),
    ("2.0.0rc1", "2.0.0"),
    ("2.0.0", "2.0.0.post1"),
    ("1.0+abc", "1.0+abd"),
    ("1.0", "1.0+1"),
    ("9999", "1!0"),
    ("1.1.1g", "1.1.1w"),
    ("1.0-1", "1.0-2"),
])
def test_ordering_edges(low, high):
    assert order(low, high) == -1
    assert order(high, low) == 1
    assert VersionOrder(low) < VersionOrder(high)


@pytest.mark.parametrize("a, b", [
    ("1.0", "1.0.0"), ("1.0", "1.0.0.0"), ("1.0A1", "1.0a1"), ("0!1.0", "1.0"),
    ("1.0-1", "1.0_1"), ("1.0-1", "1.0.1"), (" 1.2 ", "1.2"), ("1.1a", "1.1a0"),
])
def test_ordering_equal(a, b):
    assert order(a, b) == 0
    assert VersionOrder(a) == VersionOrder(b)


@pytest.mark.parametrize("bad", ["", "1..2", "1.0+", "1+a+b", "a!1.0", "!1.0", "1!", "1.0=", "1.0 2", "1.0$"])
def test_invalid_versions(bad):
    with pytest.raises(MatchSpecError) as info:
        VersionOrder(bad)
    assert repr(bad) in str(info.value)


@pytest.mark.parametrize("spec, yes, no", [
    (">=1.24,<2", ["1.24.0", "1.26.4"], ["1.23", "2.0"]),
    ("1.24.*|1.26.*", ["1.24.3", "1.26"], ["1.25", "1.2"]),
    ("1.2.*", ["1.2", "1.2.0", "1.2.9"], ["1.20", "1.3"]),
    ("1.2*", ["1.2.0"], ["1.20"]),
    ("=1.2", ["1.2.3"], ["1.3"]),
    ("!=1.2.*", ["1.3"], ["1.2.5"]),
    ("~=1.2.3", ["1.2.3", "1.2.9"], ["1.3.0", "1.2.2"]),
    ("1.0|1.2,>1.1", ["1.0", "1.2"], ["1.1"]),
    ("(1.0|1.2),>1.1", ["1.2"], ["1.0", "1.1"]),
    ("<2.0a0", ["1.99", "2.0dev0"], ["2.0a0", "2.0"]),  # dev sorts before a
    ("^1\\.2\\..*$", ["1.2.3"], ["1.3.0"]),
    ("*", ["0.1", "1!2.0"], []),
    ("1.*.3", ["1.2.3", "1.10.3"], ["1.2.4", "2.2.3"]),
    ("^(1\\.2|1\\.4)\\..*$", ["1.2.0", "1.4.1"], ["1.3.0"]),
    ("1.2.3|(>=2,<3)", ["1.2.3", "2.5"], ["1.2.4", "3.0"]),
    ("!=1.2", ["1.2.1", "1.3"], ["1.2", "1.2.0"]),
    (">1.0+1", ["1.0+2", "1.1"], ["1.0", "1.0+1"]),
    ("<1.0", ["1.0+a"], ["1.0+1"]),  # local 'a' is a string part: below the plain release
    (">=1.0 , <2", ["1.5"], ["2"]),
])
def test_version_spec(spec, yes, no):
    parsed = VersionSpec(spec)
    for version in yes:
        assert parsed.match(version), (spec, version)
    for version in no:
        assert not parsed.match(version), (spec, version)


@pytest.mark.parametrize("spec, name, version, build, channel, subdir", [
    ("numpy", "numpy", None, None, None, None),
    ("numpy 1.26", "numpy", "1.26", None, None, None),
    ("numpy 1.26 py311_0", "numpy", "1.26", "py311_0", None, None),
    ("numpy=1.26=py311_0", "numpy", "1.26", "py311_0", None, None),
    ("numpy=1.26", "numpy", "1.26*", None, None, None),
    ("numpy==1.26", "numpy", "1.26", None, None, None),
    ("numpy >=1.0 , <2 py*", "numpy", ">=1.0,<2", "py*", None, None),
    ("numpy[version='>=1,<2', build=py311*]", "numpy", ">=1,<2", "py311*", None, None),
    ("conda-forge::numpy>=1.26", "numpy", ">=1.26", None, "conda-forge", None),
    ("conda-forge/linux-64::numpy", "numpy", None, None, "conda-forge", "linux-64"),
    ("conda-forge/label/dev::numpy", "numpy", None, None, "conda-forge/label/dev", None),
    ("python==>3.9", "python", ">3.9", None, None, None),
    ("pytorch * *cuda*", "pytorch", "*", "*cuda*", None, None),
    ("numpy 1.26  # pinned", "numpy", "1.26", None, None, None),
    ("https://conda.anaconda.org/conda-forge/linux-64/numpy-1.26.4-py311_0.conda",
     "numpy", "==1.26.4", "py311_0", "https://conda.anaconda.org/conda-forge", "linux-64"),
])
def test_parse_fields(spec, name, version, build, channel, subdir):
    parsed = MatchSpec.parse(spec)
    assert parsed.name == name
    assert (str(parsed.version) if parsed.version else None) == version
    assert parsed.build == build
    assert parsed.channel == channel
    assert parsed.subdir == subdir


@pytest.mark.parametrize("bad, reason", [
    ("", "empty spec"),
    ("   ", "empty spec"),
    (">=1.0", "no package name"),
    ("numpy>=", "operator"),
    ("numpy<<2", "operator"),
    ("numpy >=1.0,", "empty term"),
    ("numpy[version=", "brackets"),
    ("numpy[colour=red]", "unknown bracket key"),
    ("numpy 1..2", "empty version component"),
    ("numpy (1.0|2.0", "parenthesis"),
    ("numpy ~=1.2.*", "'~='"),
    ("numpy[build_number=abc]", "build_number"),
    ("::numpy", "channel"),
])
def test_parse_errors_name_the_spec(bad, reason):
    with pytest.raises(MatchSpecError) as info:
        MatchSpec.parse(bad)
    message = str(info.value)
    assert repr(bad) in message
    assert reason in message
    assert isinstance(info.value, ValueError)
    assert info.value.spec == bad


def test_parse_rejects_non_strings():
    with pytest.raises(MatchSpecError):
        MatchSpec.parse(None)
    parsed = MatchSpec.parse("numpy")
    assert MatchSpec.parse(parsed) is parsed


CF = "https://conda.anaconda.org/conda-forge"


@pytest.mark.parametrize("spec, channel, expected", [
    ("conda-forge::numpy", "conda-forge", True),
    ("conda-forge::numpy", CF, True),
    ("conda-forge::numpy", CF + "/linux-64", True),
    ("conda-forge::numpy", CF + "/linux-64/", True),
    ("conda-forge::numpy", "https://example.org/not-conda-forge/linux-64", False),
    ("conda-forge::numpy", CF + "/label/dev/linux-64", False),
    ("conda-forge::numpy", "pkgs/main", False),
    ("conda-forge::numpy", "", False),
    ("pkgs/main::numpy", "https://repo.anaconda.com/pkgs/main/linux-64", True),
    ("pkgs/main::numpy", "pkgs/main", True),
    ("defaults::numpy", "https://repo.anaconda.com/pkgs/main/noarch", True),
    ("defaults::numpy", "conda-forge", False),
    (CF + "::numpy", CF + "/linux-64", True),
    (CF + "::numpy", "conda-forge", True),
    (CF + "::numpy", "https://mirror.example/conda-forge/linux-64", False),
    ("conda-forge/linux-64::numpy", CF + "/linux-64", True),
    ("conda-forge/linux-64::numpy", CF + "/noarch", False),
])
def test_channel_matching(spec, channel, expected):
    record = {"name": "numpy", "version": "1.26.4", "build": "py311_0", "channel": channel}
    assert MatchSpec.parse(spec).match(record) is expected


def test_match_conda_list_style_record():
    """`conda list --json` rows: build_string, channel name, base_url, platform."""
    record = {"name": "python", "version": "3.13.1", "build_string": "h0_0_cpython", "build_number": 0,
              "channel": "conda-channel", "base_url": "file:///srv/conda-channel", "platform": "linux-64"}
    assert MatchSpec.parse("python>3.9=h0_*").match(record)
    assert MatchSpec.parse("file:///srv/conda-channel::python").match(record)
    assert MatchSpec.parse("conda-channel/linux-64::python").match(record)
    assert not MatchSpec.parse("conda-channel/noarch::python").match(record)


@pytest.mark.parametrize("spec, expected", [
    ("numpy[build_number=3]", True),
    ("numpy[build_number='>=3']", True),
    ("numpy[build_number='>3']", False),
    ("numpy[build_number=4]", False),
    ("numpy[subdir=linux-64]", True),
    ("numpy[md5=abc]", True),
    ("numpy[md5=abd]", False),
    ("num*", True),
    ("scipy", False),
])
def test_other_fields(spec, expected):
    record = {"name": "numpy", "version": "1.26.4", "build": "py311_3", "build_number": 3,
              "channel": CF + "/linux-64", "subdir": "linux-64", "md5": "abc"}
    assert MatchSpec.parse(spec).match(record) is expected


@pytest.mark.parametrize("spec, text", [
    ("numpy", "numpy"),
    ("numpy=1.26", "numpy=1.26"),
    ("numpy 1.26", "numpy==1.26"),
    ("numpy>=1.0,<2", "numpy[version='>=1.0,<2']"),
    ("numpy!=1.0", "numpy!=1.0"),
    ("numpy=1.26=py311_0", "numpy==1.26=py311_0"),
    ("numpy * py311*", "numpy[build=py311*]"),
    ("conda-forge::numpy 1.26.*", "conda-forge::numpy=1.26"),
    ("numpy[version='=1.2']", "numpy=1.2"),
    ("numpy[version='==1.2',build=py_0]", "numpy==1.2=py_0"),
    ("numpy ~=1.2", "numpy~=1.2"),
    ("numpy[build_number='>=3']", "numpy[build_number='>=3']"),
])
def test_str_is_canonical(spec, text):
    assert str(MatchSpec.parse(spec)) == text
    assert str(MatchSpec.parse(str(MatchSpec.parse(spec)))) == text


INSTALLED = [
    {"name": "python", "version": "3.11.9", "build": "h0_0", "channel": CF + "/linux-64"},
    {"name": "numpy", "version": "1.26.4", "build": "py311_0", "channel": CF + "/linux-64"},
    {"name": "pytorch", "version": "2.1.0", "build": "cuda121_py311_0", "channel": "https://conda.anaconda.org/pytorch/linux-64"},
]


def test_unsatisfied():
    specs = ["python=3.11", "numpy>=2", "pytorch * *cuda*", "scipy", "conda-forge::pytorch", "conda-forge::numpy"]
    assert unsatisfied(specs, INSTALLED) == ["numpy>=2", "scipy", "conda-forge::pytorch"]
    assert unsatisfied(specs[:1], iter(INSTALLED)) == []
    assert unsatisfied([], INSTALLED) == []
    assert unsatisfied(["python"], []) == ["python"]


def test_unsatisfied_rejects_bad_specs():
    with pytest.raises(MatchSpecError):
        unsatisfied(["numpy<<2"], INSTALLED)


def test_spec_name():
    assert MatchSpec.parse("conda-forge::numpy>=1.26").name == "numpy"
    assert MatchSpec.parse("numpy[version='>=1']").name == "numpy"
    assert MatchSpec.parse("python==>3.9").name == "python"
    with pytest.raises(MatchSpecError):
        MatchSpec.parse(">=1.0")


@pytest.mark.parametrize("spec, bad", [
    ("../../etc", "'../../etc'"),
    ("numpy\nrm", "control character"),
    ("numpy=1.0\n", "control character"),
    ("a/b", "invalid package name 'a/b'"),
    (".hidden", "invalid package name '.hidden'"),
    ("-numpy", "invalid package name"),
    ("../x::numpy", "invalid channel '../x'"),
    ("conda-forge/../x::numpy", "invalid channel"),
    ("https://example.com/a/../b/x-1.0-0.conda", None),
])
def test_names_and_channels_conda_cannot_have_are_refused(spec, bad):
    if bad is None:
        MatchSpec.parse(spec)
        return
    with pytest.raises(MatchSpecError) as err:
        MatchSpec.parse(spec)
    assert bad in str(err.value) and repr(spec) in str(err.value)


@pytest.mark.parametrize("spec", ["numpy", "scikit-learn>=1.3", "_libgcc_mutex", "py*", "^py.*$", "conda-forge::numpy",
                                  "/srv/chan::numpy", "file:///srv/chan::numpy", "pkgs/main::numpy", "r-base=4.3"])
def test_names_conda_has_are_accepted(spec):
    MatchSpec.parse(spec)


NUMPY = {"name": "numpy", "version": "2.1.0", "build": "py311_0", "build_number": 0, "subdir": "linux-64",
         "channel": "http://127.0.0.1:8731/conda-forge/linux-64",
         "url": "http://127.0.0.1:8731/conda-forge/linux-64/numpy-2.1.0-py311_0.tar.bz2"}


@pytest.mark.parametrize("spec, ok", [
    ("*/linux-64::numpy", True),
    ("*::numpy", True),
    ("*/osx-64::numpy", False),
    ("conda-forge/linux-64::numpy", True),
    ("conda-forge/noarch::numpy", False),
    ("other/linux-64::numpy", False),
    ("numpy[channel='*', subdir=linux-64]", True),
])
def test_wildcard_channel_and_subdir_match_the_record(spec, ok):
    assert MatchSpec.parse(spec).match(NUMPY) is ok
