# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""_yaml_subset: the stdlib reader and writer of conda's YAML: parsing, emitting, rendering."""
from __future__ import annotations

import pytest

from ansible_collections.condafleet.conda.plugins.module_utils import _yaml_subset as ys

try:
    import yaml
except ImportError:  # pragma: no cover
    yaml = None

needs_yaml = pytest.mark.skipif(yaml is None, reason="PyYAML is not installed")


HAND_WRITTEN = """\
# Site configuration -- managed partly by hand.
channels:  #!final
  - conda-forge   # the main one
  - "defaults"

channel_priority: strict # keep it strict
# proxies, unmanaged
proxy_servers:
  http: http://proxy.example.com:3128
  'https': http://proxy.example.com:3128
  http://10.1.1.1: http://other:1
envs_dirs: [/srv/envs, '/srv/my envs', ~/envs]
channel_settings:
  - channel: conda-forge
    param: x
  - {channel: b, p: 1}
create_default_packages:
- pip
- ipykernel
empty:
"""


def test_parse_hand_written_file():
    doc = ys.parse(HAND_WRITTEN)
    assert doc.problem is None
    assert doc.opaque() == {}
    assert doc.data() == {
        "channels": ["conda-forge", "defaults"],
        "channel_priority": "strict",
        "proxy_servers": {"http": "http://proxy.example.com:3128", "https": "http://proxy.example.com:3128",
                          "http://10.1.1.1": "http://other:1"},
        "envs_dirs": ["/srv/envs", "/srv/my envs", "~/envs"],
        "channel_settings": [{"channel": "conda-forge", "param": "x"}, {"channel": "b", "p": 1}],
        "create_default_packages": ["pip", "ipykernel"],
        "empty": None,
    }


@needs_yaml
def test_parse_agrees_with_pyyaml_on_hand_written_file():
    assert ys.parse(HAND_WRITTEN).data() == yaml.safe_load(HAND_WRITTEN)


@pytest.mark.parametrize("text, value", [
    ("k: true", True), ("k: False", False), ("k: ~", None), ("k: null", None), ("k:", None),
    ("k: 12", 12), ("k: -3", -3), ("k: 0x1f", 31), ("k: 0o17", 15), ("k: 9.15", 9.15), ("k: 1e3", 1000.0),
    ("k: yes", "yes"), ("k: no", "no"), ("k: on", "on"),  # YAML 1.2, as conda's ruamel loader reads them
    ("k: 'it''s'", "it's"), ('k: "a\\tb\\u00e9"', "a\tb\u00e9"), ("k: 'a # b'", "a # b"),
    ("k: a # comment", "a"), ("k: a#b", "a#b"), ("k: https://x.org:8443/p", "https://x.org:8443/p"),
    ("k: [a, 'b, c', \"d\"]", ["a", "b, c", "d"]), ("k: []", []), ("k: {}", {}),
    ("k: {a: 1, b: [x, y]}", {"a": 1, "b": ["x", "y"]}), ("k:\n  - - 1\n    - 2\n  - 3", [[1, 2], 3]),
    ("k:\n  a:\n    b: c\n  d: e", {"a": {"b": "c"}, "d": "e"}), ("k:\n- a\n-\n- c", ["a", None, "c"]),
])
def test_scalars_and_nodes(text, value):
    doc = ys.parse(text + "\n")
    assert doc.problem is None and doc.opaque() == {}
    assert ys.same(doc.data()["k"], value)


@pytest.mark.parametrize("text", [
    "k: &anchor\n  a: 1", "k: *alias", "k: !!str 1", "k: |\n  text", "k: >\n  text",
    "k: [a,\n  b]", "k: 'open", "k:\n  a: 1\n    b: 2", "k: a: b", "k:\n  a: 1\n  a: 2", "k: \"\\q\"",
    "k: plain\n  continued",
])
def test_unsupported_blocks_are_opaque_not_guessed(text):
    doc = ys.parse(text + "\nother: 1\n")
    assert doc.problem is None
    assert list(doc.opaque()) == ["k"]
    assert doc.data()["other"] == 1


@pytest.mark.parametrize("text", [
    "---\nk: 1\n", "[a, b]\n", "- a\n- b\n", "k: 1\nk: 2\n", "? complex\n: value\n", "k: 1\nplain line\n",
])
def test_files_that_cannot_be_cut_into_blocks(text):
    assert ys.parse(text).problem


def test_anchor_detection():
    doc = ys.parse("base: &b\n  a: 1\nother: *b\n")
    assert doc.anchored("base") and not doc.anchored("other")


DATA = {
    "channels": ["conda-forge", "defaults", "file:///srv/conda-channel", "pkgs/main"],
    "channel_alias": "https://alice:p%40ss@mirror.example.com/conda",
    "ssl_verify": "/etc/ssl/certs/ca.pem", "always_yes": True, "remote_connect_timeout_secs": 9.15,
    "strings": ["yes", "no", "on", "3.11", "1e5", "0x1F", "", "#x", "-x", "a: b", "it's", "a\nb", "~", "null",
                "2026-01-01", "@at", " lead", "tab\there", "[x]", "{x}", "*x", "&x", "!x", "%x", "`x", "|", ">"],
    "numbers": [0, -1, 2.5, 1e-05, float("inf")],
    "nested": {"http://10.1.1.1": "http://u:pw@proxy:3128", "deep": {"list": [{"a": 1, "b": [1, 2]}, [3, [4]], {}]}},
    "empty_list": [], "empty_map": {}, "nothing": None,
}


def test_emit_parse_round_trip():
    text = ys.render(ys.parse(""), DATA)
    doc = ys.parse(text)
    assert doc.problem is None and doc.opaque() == {}
    assert ys.same(doc.data(), DATA)


@needs_yaml
def test_emitted_yaml_means_the_same_to_pyyaml():
    """PyYAML is YAML 1.1: quoting must keep yes/no/on/3.11/... strings for it too."""
    assert ys.same(yaml.safe_load(ys.render(ys.parse(""), DATA)), DATA)


def test_emit_uses_condas_layout():
    assert ys.render(ys.parse(""), {"channels": ["conda-forge"], "auto_activate": False,
                                    "proxy_servers": {"https": "http://p:1"}}) == (
        "channels:\n  - conda-forge\nauto_activate: false\nproxy_servers:\n  https: http://p:1\n")


def test_render_keeps_everything_it_does_not_manage():
    doc = ys.parse(HAND_WRITTEN)
    new = ys.render(doc, {"channels": ["conda-forge"], "channel_priority": "flexible", "empty": ys.REMOVE,
                          "solver": "libmamba"})
    assert new == HAND_WRITTEN.replace(
        'channels:  #!final\n  - conda-forge   # the main one\n  - "defaults"\n',
        "channels:  #!final\n  - conda-forge\n").replace(
        "channel_priority: strict # keep it strict", "channel_priority: flexible # keep it strict").replace(
        "empty:\n", "") + "solver: libmamba\n"
    assert ys.parse(new).data()["proxy_servers"] == ys.parse(HAND_WRITTEN).data()["proxy_servers"]


def test_render_appends_after_a_file_without_final_newline():
    assert ys.render(ys.parse("a: 1"), {"b": []}) == "a: 1\nb: []\n"


def test_render_into_an_empty_file():
    assert ys.render(ys.parse(""), {"channels": ["conda-forge"]}) == "channels:\n  - conda-forge\n"


@pytest.mark.parametrize("text", ["x: " + "[" * 40 + "]" * 40 + "\n",
                                  "x:\n" + "".join("  " * (level + 1) + "k%d:\n" % level for level in range(40))])
def test_deep_nesting_is_left_to_conda_s_reader(text):
    block = ys.parse(text).block("x")
    assert block.value is ys.OPAQUE and "nested more than 32 deep" in block.error


def test_nesting_within_the_limit_is_read():
    assert ys.parse("x: " + "[" * 30 + "]" * 30 + "\n").data()["x"] is not ys.OPAQUE
