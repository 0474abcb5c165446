# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""The stdlib .condarc reader/writer: parsing, emitting, editing, decisions."""
from __future__ import annotations

import pytest

from ansible_collections.condafleet.conda.plugins.module_utils import _condarc as rc

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
    doc = rc.parse(HAND_WRITTEN)
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
    assert rc.parse(HAND_WRITTEN).data() == yaml.safe_load(HAND_WRITTEN)


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
    doc = rc.parse(text + "\n")
    assert doc.problem is None and doc.opaque() == {}
    assert rc.same(doc.data()["k"], value)


@pytest.mark.parametrize("text", [
    "k: &anchor\n  a: 1", "k: *alias", "k: !!str 1", "k: |\n  text", "k: >\n  text",
    "k: [a,\n  b]", "k: 'open", "k:\n  a: 1\n    b: 2", "k: a: b", "k:\n  a: 1\n  a: 2", "k: \"\\q\"",
    "k: plain\n  continued",
])
def test_unsupported_blocks_are_opaque_not_guessed(text):
    doc = rc.parse(text + "\nother: 1\n")
    assert doc.problem is None
    assert list(doc.opaque()) == ["k"]
    assert doc.data()["other"] == 1


@pytest.mark.parametrize("text", [
    "---\nk: 1\n", "[a, b]\n", "- a\n- b\n", "k: 1\nk: 2\n", "? complex\n: value\n", "k: 1\nplain line\n",
])
def test_files_that_cannot_be_cut_into_blocks(text):
    assert rc.parse(text).problem


def test_anchor_detection():
    doc = rc.parse("base: &b\n  a: 1\nother: *b\n")
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
    text = rc.emit(DATA)
    doc = rc.parse(text)
    assert doc.problem is None and doc.opaque() == {}
    assert rc.same(doc.data(), DATA)


@needs_yaml
def test_emitted_yaml_means_the_same_to_pyyaml():
    """PyYAML is YAML 1.1: quoting must keep yes/no/on/3.11/... strings for it too."""
    assert rc.same(yaml.safe_load(rc.emit(DATA)), DATA)


def test_emit_uses_condas_layout():
    assert rc.emit({"channels": ["conda-forge"], "auto_activate": False, "proxy_servers": {"https": "http://p:1"}}) == (
        "channels:\n  - conda-forge\nauto_activate: false\nproxy_servers:\n  https: http://p:1\n")


def test_render_keeps_everything_it_does_not_manage():
    doc = rc.parse(HAND_WRITTEN)
    new = rc.render(doc, {"channels": ["conda-forge"], "channel_priority": "flexible", "empty": rc.REMOVE,
                          "solver": "libmamba"})
    assert new == HAND_WRITTEN.replace(
        'channels:  #!final\n  - conda-forge   # the main one\n  - "defaults"\n',
        "channels:  #!final\n  - conda-forge\n").replace(
        "channel_priority: strict # keep it strict", "channel_priority: flexible # keep it strict").replace(
        "empty:\n", "") + "solver: libmamba\n"
    assert rc.parse(new).data()["proxy_servers"] == rc.parse(HAND_WRITTEN).data()["proxy_servers"]


def test_render_appends_after_a_file_without_final_newline():
    assert rc.render(rc.parse("a: 1"), {"b": []}) == "a: 1\nb: []\n"


def test_render_into_an_empty_file():
    assert rc.render(rc.parse(""), {"channels": ["conda-forge"]}) == "channels:\n  - conda-forge\n"


# ---------------------------------------------------------------- decisions

@pytest.mark.parametrize("mode, wanted, result", [
    ("exact", ["b", "a"], ["b", "a"]),
    ("present", ["a", "d"], ["c", "a", "b", "d"]),
    ("absent", ["a", "x"], ["c", "b"]),
    ("prepend", ["b", "d"], ["b", "d", "c", "a"]),
    ("append", ["c", "d"], ["a", "b", "c", "d"]),
])
def test_merge_channels(mode, wanted, result):
    assert rc.merge_channels(["c", "a", "b"], wanted, mode) == result


def test_plan_is_empty_when_converged():
    current = {"channels": ["conda-forge"], "channel_priority": "strict", "auto_activate": False}
    request = {"channels": ["conda-forge"], "settings": {"channel_priority": "strict"}, "auto_activate": False,
               "auto_activate_key": "auto_activate"}
    assert rc.plan(current, request) == {}


def test_plan_prepend_is_idempotent():
    request = {"channels": ["internal"], "channels_mode": "prepend"}
    updates = rc.plan({"channels": ["conda-forge", "internal"]}, request)
    assert updates == {"channels": ["internal", "conda-forge"]}
    assert rc.plan(rc.apply_updates({"channels": ["conda-forge", "internal"]}, updates), request) == {}


@pytest.mark.parametrize("version, key, twin", [((26, 7, 1), "auto_activate", "auto_activate_base"),
                                                ((25, 5, 0), "auto_activate", "auto_activate_base"),
                                                ((25, 3, 1), "auto_activate_base", "auto_activate"),
                                                ((4, 14), "auto_activate_base", "auto_activate")])
def test_auto_activate_key_by_version_and_no_twin(version, key, twin):
    assert rc.auto_activate_key(version) == key
    request = {"auto_activate": False, "auto_activate_key": key}
    assert rc.plan({twin: True}, request) == {key: False, twin: rc.REMOVE}
    assert rc.plan({key: False}, request) == {}
    # a twin holding the right value is still a conflict to remove
    assert rc.plan({key: False, twin: False}, request) == {twin: rc.REMOVE}


def test_auto_activate_from_settings_goes_through_the_version():
    request = {"settings": {"auto_activate_base": "false"}, "auto_activate_key": "auto_activate"}
    assert rc.plan({}, request) == {"auto_activate": False}
    with pytest.raises(rc.CondarcError):
        rc.plan({}, {"settings": {"auto_activate": True}, "auto_activate": False, "auto_activate_key": "x"})


def test_true_is_not_one():
    assert rc.plan({"always_yes": 1}, {"settings": {"always_yes": True}}) == {"always_yes": True}


def test_setting_a_key_removes_its_aliases():
    assert rc.plan({"verify_ssl": False}, {"settings": {"ssl_verify": False}}) == {
        "ssl_verify": False, "verify_ssl": rc.REMOVE}


def test_no_defaults():
    current = {"channels": ["defaults", "conda-forge"], "default_channels": ["https://repo.anaconda.com/pkgs/main"]}
    assert rc.plan(current, {"no_defaults": True}) == {"channels": ["conda-forge"], "default_channels": []}
    assert rc.plan({"channels": ["conda-forge"], "default_channels": []}, {"no_defaults": True}) == {}
    with pytest.raises(rc.CondarcError, match="no_defaults conflicts"):
        rc.plan({}, {"no_defaults": True, "channels": ["defaults"]})
    assert rc.plan(current, {"no_defaults": True, "channels": ["defaults"], "channels_mode": "absent"}) == {
        "channels": ["conda-forge"], "default_channels": []}


def test_remove_keys_with_aliases():
    assert rc.plan({"channel": ["a"], "solver": "classic"}, {"remove_keys": ["channels", "solver"]}) == {
        "channel": rc.REMOVE, "solver": rc.REMOVE}
    assert rc.plan({}, {"remove_keys": ["solver"]}) == {}
    with pytest.raises(rc.CondarcError):
        rc.plan({}, {"remove_keys": ["solver"], "settings": {"solver": "classic"}})


@pytest.mark.parametrize("key, value", [("channel_priority", "bogus"), ("channels", "conda-forge"),
                                        ("proxy_servers", "http://p"), ("always_yes", "maybe"),
                                        ("ssl_verify", 3)])
def test_bad_values(key, value):
    with pytest.raises(rc.CondarcError):
        rc.check_value(key, value)


def test_value_coercion():
    assert rc.check_value("ssl_verify", "False") is False
    assert rc.check_value("ssl_verify", "/etc/ca.pem") == "/etc/ca.pem"
    assert rc.check_value("always_yes", "yes") is True


def test_unknown_keys():
    assert rc.unknown_keys(["channels", "no_such_key", "plugins", "auto_activate_base"]) == ["no_such_key"]
    assert rc.unknown_keys(["no_such_key"], ["no_such_key"]) == []


def test_mirror_settings_with_password_and_token():
    settings = rc.mirror_settings({"url": "https://mirror.example.com/conda/", "username": "deploy",
                                   "password": "p@ss/word", "custom_channels": ["conda-forge"]})
    base = "https://deploy:p%40ss%2Fword@mirror.example.com/conda"
    assert settings == {"channel_alias": base, "default_channels": [base + "/pkgs/main", base + "/pkgs/r"],
                        "custom_channels": {"conda-forge": base}}
    token = rc.mirror_settings({"url": "https://m.example.com", "token": "tk-123", "default_channels": []})
    assert token == {"channel_alias": "https://m.example.com/t/tk-123"}
    with pytest.raises(rc.CondarcError):
        rc.mirror_settings({"url": "mirror.example.com"})


def test_mirror_and_no_defaults():
    updates = rc.plan({}, {"mirror": {"url": "https://m"}, "no_defaults": True})
    assert updates == {"channel_alias": "https://m", "default_channels": []}


# ---------------------------------------------------------------- ToS and secrets

def test_anaconda_channels():
    assert rc.anaconda_channels({"channels": ["defaults", "conda-forge"]}) == list(rc.DEFAULT_CHANNELS)
    assert rc.anaconda_channels({"channels": ["conda-forge"]}) == []
    assert rc.anaconda_channels({"channels": ["defaults"], "default_channels": ["https://m/pkgs/main"]}) == []
    assert rc.anaconda_channels({"channels": ["defaults"], "default_channels": []}) == list(rc.DEFAULT_CHANNELS)
    assert rc.anaconda_channels({"channels": ["pkgs/main", "https://repo.anaconda.com/pkgs/r/"]}) == [
        "https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r"]


def test_tos_accepted():
    records = [{"base_url": "https://repo.anaconda.com/pkgs/main", "tos_accepted": True},
               {"base_url": "https://repo.anaconda.com/pkgs/r", "tos_accepted": False}]
    assert rc.tos_accepted(records, "https://repo.anaconda.com/pkgs/main")
    assert not rc.tos_accepted(records, "https://repo.anaconda.com/pkgs/r")


@needs_yaml
def test_external_reader_script_reads_what_the_builtin_reader_does_not(tmp_path):
    """The script the module runs with the installation's Python (here: this Python, PyYAML)."""
    import json
    import subprocess
    import sys
    path = tmp_path / ".condarc"
    path.write_text("base: &b\n  - conda-forge\nchannels: *b\nnote: |\n  two\n  lines\n")
    out = subprocess.run([sys.executable, "-c", rc.EXTERNAL_READER, str(path)], capture_output=True, text=True,
                         check=True).stdout
    answer = json.loads(out)
    assert answer["reader"] in ("ruamel.yaml", "PyYAML")
    assert answer["data"] == {"base": ["conda-forge"], "channels": ["conda-forge"], "note": "two\nlines\n"}
    assert list(rc.parse(path.read_text()).opaque()) == ["base", "channels", "note"]


# ---------------------------------------------------------------- hostile input

@pytest.mark.parametrize("key, value, message", [
    ("remote_max_retries", "abc", "remote_max_retries must be an integer, got a string 'abc'"),
    ("remote_max_retries", True, "must be an integer, got a boolean"),
    ("remote_connect_timeout_secs", [1], "must be a number"),
    ("default_python", 3.1, "quote it"),
    ("channel_alias", 5, "channel_alias must be a string"),
    ("channels", ["conda-forge", 3], r"channels\[1\] must be a string, got an integer 3"),
    ("channels", ["conda-forge\nchannel_alias: http://evil"], r"channels\[0\] holds a control character"),
    ("channels", ["conda forge"], r"channels\[0\] must be a channel name or URL without spaces"),
    ("channels", [""], "without spaces"),
    ("custom_channels", {"bioconda": ["x"]}, "custom_channels.bioconda must be a string"),
    ("custom_multichannels", {"mine": "conda-forge"}, "custom_multichannels.mine must be a list"),
    ("proxy_servers", {"https": "http://u:pw@proxy\r\n:3128"}, r"proxy_servers.https holds a control character"),
    ("env_prompt", "(x)\x1b[31m ", "env_prompt holds a control character"),
    ("solver", None, "remove_keys"),
    ("safety_checks", "sometimes", "safety_checks must be one of disabled, warn, enabled"),
])
def test_values_conda_would_refuse_are_refused(key, value, message):
    with pytest.raises(rc.CondarcError, match=message):
        rc.check_value(key, value)


def test_control_character_message_masks_credentials():
    with pytest.raises(rc.CondarcError) as caught:
        rc.check_value("channel_alias", "https://u:Secr3t@mirror/\n")
    assert "Secr3t" not in str(caught.value) and "********" in str(caught.value)


def test_numbers_from_strings_and_floats_from_integers():
    assert rc.check_value("remote_max_retries", "7") == 7
    assert rc.check_value("remote_read_timeout_secs", 60) == 60.0
    assert isinstance(rc.check_value("remote_read_timeout_secs", 60), float)
    assert rc.check_value("local_repodata_ttl", False) is False and rc.check_value("local_repodata_ttl", 30) == 30
    assert rc.check_value("default_python", "3.10") == "3.10"
    assert rc.check_value("proxy_servers", {"http": None}) == {"http": None}


def test_requested_channels_and_mirror_values_are_checked():
    with pytest.raises(rc.CondarcError, match=r"channels\[0\] holds a control character"):
        rc.desired_values({}, {"channels": ["bad\nname"]})
    with pytest.raises(rc.CondarcError, match="channel_alias holds a control character"):
        rc.desired_values({}, {"mirror": {"url": "https://mirror.example.com/\x00"}})
    # what the file already holds is not the request's fault
    assert rc.desired_values({"channels": ["odd name"]}, {"channels": ["conda-forge"], "channels_mode": "present"})[
        "channels"] == ["odd name", "conda-forge"]


def test_bad_key_names_and_suggestions():
    assert rc.bad_key_names(["channels", "conda-build", "chan nels", "a\nb", "", "_x", "1x"]) == [
        "chan nels", "a\nb", "", "1x"]
    assert rc.suggest("chanels")[:2] == ["channels", "channel"]
    assert rc.suggest("channel_prority")[0] == "channel_priority"
    assert rc.suggest("zzzz") == []


@pytest.mark.parametrize("text, message", [
    ("- conda-forge\n- defaults\n", "a list at its top level (line 1)"),
    ("# comment\n\n[conda-forge]\n", "a list at its top level (line 3)"),
    ("--- - a\n", "a list"),
    ("just a string\n", "a scalar at its top level (line 1: \"just a string\")"),
    ("'quoted'\n", "a scalar"),
    ("channels:\n  - a\x00b\n", "control character \"\\u0000\" on line 2"),
    ("\x7fELF\x02\x01\x01\n", "control character"),
])
def test_file_problem(text, message):
    assert message in rc.file_problem(text)


@pytest.mark.parametrize("text", ["", "# only a comment\n", "channels:\n  - a\n", "---\nchannels: [a]\n",
                                  "{channels: [a]}\n", "'quoted key': 1\n", "? complex\n: key\n",
                                  "base: &a\n  - x\n", "%YAML 1.2\n---\nsolver: classic\n", "x: 1\r\n\ty: 2\n"])
def test_file_problem_none_for_mappings(text):
    assert rc.file_problem(text) is None


def test_older_names_conda_still_reads_are_known_and_typed():
    assert rc.unknown_keys(["pip_interop_enabled", "root_dir", "softlink", "conda-build", "verbose"]) == []
    assert rc.alias_group("softlink") == ("softlink", "always_softlink")
    assert rc.check_value("softlink", "yes") is True
    with pytest.raises(rc.CondarcError, match="verbose is the older name of verbosity"):
        rc.check_value("verbose", "loud")
    assert rc.plan({"root_dir": "/opt/x"}, {"settings": {"root_prefix": "/opt/y"}}) == {
        "root_prefix": "/opt/y", "root_dir": rc.REMOVE}


@pytest.mark.parametrize("text", ["x: " + "[" * 40 + "]" * 40 + "\n",
                                  "x:\n" + "".join("  " * (level + 1) + "k%d:\n" % level for level in range(40))])
def test_deep_nesting_is_left_to_conda_s_reader(text):
    block = rc.parse(text).block("x")
    assert block.value is rc.OPAQUE and "nested more than 32 deep" in block.error


def test_nesting_within_the_limit_is_read():
    assert rc.parse("x: " + "[" * 30 + "]" * 30 + "\n").data()["x"] is not rc.OPAQUE
