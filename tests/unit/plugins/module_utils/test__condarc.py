# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""The .condarc policy: known keys, value checks, and the pure plan() decisions."""
from __future__ import annotations

import pytest

from ansible_collections.condafleet.conda.plugins.module_utils import _condarc as rc
from ansible_collections.condafleet.conda.plugins.module_utils._yaml_subset import REMOVE


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
    assert rc.key_updates(current, request) == {}


def test_plan_prepend_is_idempotent():
    request = {"channels": ["internal"], "channels_mode": "prepend"}
    updates = rc.key_updates({"channels": ["conda-forge", "internal"]}, request)
    assert updates == {"channels": ["internal", "conda-forge"]}
    assert rc.key_updates(rc.apply_updates({"channels": ["conda-forge", "internal"]}, updates), request) == {}


@pytest.mark.parametrize("version, key, twin", [((26, 7, 1), "auto_activate", "auto_activate_base"),
                                                ((25, 5, 0), "auto_activate", "auto_activate_base"),
                                                ((25, 3, 1), "auto_activate_base", "auto_activate"),
                                                ((4, 14), "auto_activate_base", "auto_activate")])
def test_auto_activate_key_by_version_and_no_twin(version, key, twin):
    assert rc.auto_activate_key(version) == key
    request = {"auto_activate": False, "auto_activate_key": key}
    assert rc.key_updates({twin: True}, request) == {key: False, twin: REMOVE}
    assert rc.key_updates({key: False}, request) == {}
    # a twin holding the right value is still a conflict to remove
    assert rc.key_updates({key: False, twin: False}, request) == {twin: REMOVE}


def test_auto_activate_from_settings_goes_through_the_version():
    request = {"settings": {"auto_activate_base": "false"}, "auto_activate_key": "auto_activate"}
    assert rc.key_updates({}, request) == {"auto_activate": False}
    with pytest.raises(rc.CondarcError):
        rc.key_updates({}, {"settings": {"auto_activate": True}, "auto_activate": False, "auto_activate_key": "x"})


def test_true_is_not_one():
    assert rc.key_updates({"always_yes": 1}, {"settings": {"always_yes": True}}) == {"always_yes": True}


def test_setting_a_key_removes_its_aliases():
    assert rc.key_updates({"verify_ssl": False}, {"settings": {"ssl_verify": False}}) == {
        "ssl_verify": False, "verify_ssl": REMOVE}


def test_no_defaults():
    current = {"channels": ["defaults", "conda-forge"], "default_channels": ["https://repo.anaconda.com/pkgs/main"]}
    assert rc.key_updates(current, {"no_defaults": True}) == {"channels": ["conda-forge"], "default_channels": []}
    assert rc.key_updates({"channels": ["conda-forge"], "default_channels": []}, {"no_defaults": True}) == {}
    with pytest.raises(rc.CondarcError, match="no_defaults conflicts"):
        rc.key_updates({}, {"no_defaults": True, "channels": ["defaults"]})
    assert rc.key_updates(current, {"no_defaults": True, "channels": ["defaults"], "channels_mode": "absent"}) == {
        "channels": ["conda-forge"], "default_channels": []}


def test_remove_keys_with_aliases():
    assert rc.key_updates({"channel": ["a"], "solver": "classic"}, {"remove_keys": ["channels", "solver"]}) == {
        "channel": REMOVE, "solver": REMOVE}
    assert rc.key_updates({}, {"remove_keys": ["solver"]}) == {}
    with pytest.raises(rc.CondarcError):
        rc.key_updates({}, {"remove_keys": ["solver"], "settings": {"solver": "classic"}})


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
    updates = rc.key_updates({}, {"mirror": {"url": "https://m"}, "no_defaults": True})
    assert updates == {"channel_alias": "https://m", "default_channels": []}


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
    assert rc.key_updates({"root_dir": "/opt/x"}, {"settings": {"root_prefix": "/opt/y"}}) == {
        "root_prefix": "/opt/y", "root_dir": REMOVE}


# ---------------------------------------------------------------- the whole decision for one file, as data

def file_plan(text, request, old_mode=0o644, no_rewrite=None, tos_records=None):
    from ansible_collections.condafleet.conda.plugins.module_utils._yaml_subset import parse
    doc = parse(text)
    return rc.plan(doc, text, doc.data(), request, old_mode, no_rewrite, tos_records)


def test_file_plan_converged_changes_nothing_and_keeps_the_text():
    text = "# mine\nchannels:\n  - conda-forge\nchannel_priority: strict\n"
    decision = file_plan(text, {"channels": ["conda-forge"], "settings": {"channel_priority": "strict"}})
    assert decision == {"updates": {}, "after": {"channels": ["conda-forge"], "channel_priority": "strict"},
                        "text": text, "write": False, "mode": 0o644, "chmod": False, "tos": [], "changed": False}


def test_file_plan_rewrites_only_the_changed_block_and_keeps_comments():
    text = "# mine\nchannels: [defaults]  # old\nsolver: classic\n"
    decision = file_plan(text, {"channels": ["conda-forge"]})
    assert decision["write"] and decision["changed"] and list(decision["updates"]) == ["channels"]
    assert decision["text"].startswith("# mine\n") and decision["text"].endswith("solver: classic\n")
    assert "conda-forge" in decision["text"] and decision["mode"] == 0o644


def test_file_plan_makes_a_file_with_a_credential_private_even_when_no_key_changes():
    text = "channels:\n  - https://bob:s3cret@mirror.example.com/cf\n"
    decision = file_plan(text, {"channels": ["https://bob:s3cret@mirror.example.com/cf"]}, old_mode=0o644)
    assert not decision["write"] and decision["chmod"] and decision["mode"] == 0o600 and decision["changed"]
    new = file_plan("", {"channels": ["https://mirror.example.com/t/tk-1/cf"]}, old_mode=None)
    assert new["write"] and not new["chmod"] and new["mode"] == 0o600
    assert file_plan("", {"channels": ["conda-forge"]}, old_mode=None)["mode"] == 0o644


def test_file_plan_refuses_a_change_it_cannot_write_with_certainty():
    with pytest.raises(rc.CondarcError, match=r"must change \(channels\) but cannot be rewritten with certainty: x"):
        file_plan("channels: [a]\n", {"channels": ["b"]}, no_rewrite="x")
    assert not file_plan("channels: [a]\n", {"channels": ["a"]}, no_rewrite="x")["changed"]


def test_file_plan_and_anaconda_terms_of_service():
    request = {"channels": ["defaults"]}
    assert file_plan("", request, old_mode=None)["tos"] == []  # no ToS plugin: nothing to accept
    with pytest.raises(rc.CondarcError, match="accept_anaconda_tos: true"):
        file_plan("", request, old_mode=None, tos_records=[])
    accepting = file_plan("", dict(request, accept_anaconda_tos=True), old_mode=None, tos_records=[])
    assert accepting["tos"] == ["https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r"]
    records = [{"base_url": url, "tos_accepted": True} for url in accepting["tos"]]
    converged = file_plan(accepting["text"], request, tos_records=records)
    assert converged["tos"] == [] and not converged["changed"]


def test_request_of_chooses_the_auto_activate_key_from_the_conda_version():
    params = {"settings": {}, "channels": None, "channels_mode": "exact", "no_defaults": False, "auto_activate": False,
              "mirror": None, "remove_keys": [], "accept_anaconda_tos": None, "prefix": "/opt/x"}
    assert rc.request_of(params, "26.7.1")["auto_activate_key"] == "auto_activate"
    assert rc.request_of(params, "25.3.1")["auto_activate_key"] == "auto_activate_base"
    with pytest.raises(rc.CondarcError, match=r"installation at prefix \(/opt/x\)"):
        rc.request_of(params, None)
    assert rc.request_of(dict(params, auto_activate=None), None)["auto_activate_key"] is None


def test_needed_keys_and_managed_values():
    assert rc.needed_keys({"auto_activate": False}, False) == {"auto_activate", "auto_activate_base"}
    assert set(rc.TOS_KEYS) <= rc.needed_keys({}, True)
    decision = file_plan("solver: classic\nchannels: [a]\n", {"channels": ["b"]})
    assert rc.managed_values(decision, {"channels": ["b"]}, {"channels"}) == {"channels": ["b"]}
