# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""conda_config run in-process on fake prefixes: decisions, files written, check/diff, secrets, ToS, fallback."""
from __future__ import annotations

import json
import os
import stat

import pytest
import yaml
from ansible.module_utils import basic
from core_compat import patch_module_args

from ansible_collections.condafleet.conda.plugins.module_utils import _config_run as config_run
from ansible_collections.condafleet.conda.plugins.modules import conda_config

TOS_RECORD = "conda-anaconda-tos-0.2.2-py_0.json"


def make_prefix(tmp_path, version="26.7.1", tos=False, name="base"):
    prefix = tmp_path / name
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True)
    (meta / "history").write_text("")
    (prefix / "bin").mkdir()
    (prefix / "bin" / "conda").write_text("#!/bin/sh\n")  # with history and a conda record: an installation
    (meta / ("conda-%s-py_0.json" % version)).write_text(json.dumps({"name": "conda", "version": version}))
    if tos:
        (meta / TOS_RECORD).write_text(json.dumps({"name": "conda-anaconda-tos", "version": "0.2.2"}))
    return prefix


class Calls:
    """Records run_command calls and answers them with ``handler(cmd) -> (rc, out, err)``."""

    def __init__(self, handler=None):
        self.cmds = []
        self.handler = handler

    def __call__(self, _module, cmd, **_kwargs):
        self.cmds.append(cmd)
        if self.handler is None:
            raise AssertionError("unexpected command: %r" % (cmd,))
        return self.handler(cmd)


@pytest.fixture
def run(monkeypatch, capsys):
    def _run(args, check=False, diff=False, handler=None):
        calls = Calls(handler)

        def run_command(self, cmd, **kw):
            return calls(self, cmd, **kw)

        monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
        args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                conda_config.main()
        result = json.loads(capsys.readouterr().out)
        result["_calls"] = calls.cmds
        return result
    return _run


def test_creates_then_converges_without_conda(run, tmp_path):
    prefix = make_prefix(tmp_path)
    args = {"prefix": str(prefix), "channels": ["conda-forge"], "auto_activate": False,
            "settings": {"channel_priority": "strict", "pkgs_dirs": ["/srv/pkgs"]}}
    first = run(args)
    assert first["changed"] and not first.get("failed")
    assert first["changed_keys"] == ["channel_priority", "pkgs_dirs", "channels", "auto_activate"]
    assert (prefix / ".condarc").read_text() == (
        "channel_priority: strict\npkgs_dirs:\n  - /srv/pkgs\nchannels:\n  - conda-forge\nauto_activate: false\n")
    assert first["mode"] == "0644" and stat.S_IMODE(os.stat(prefix / ".condarc").st_mode) == 0o644
    second = run(args)
    assert not second["changed"] and second["changed_keys"] == [] and second["_calls"] == []
    assert second["settings"]["channels"] == ["conda-forge"]
    assert second["values"] == second["settings"]  # the deprecated name, kept for one release


def test_every_returned_key_is_documented(run, tmp_path):
    """``path`` makes AnsibleModule add the file's attributes (uid, owner, size, state...): RETURN lists them."""
    documented = set(yaml.safe_load(conda_config.RETURN))
    prefix = make_prefix(tmp_path)
    args = {"prefix": str(prefix), "channels": ["conda-forge"], "auto_activate": False}
    for result in (run(args, check=True), run(args), run(args)):
        assert not result.get("failed"), result
        undocumented = set(result) - documented - set(["changed", "invocation", "_calls"])
        assert not undocumented, undocumented
    assert result["state"] == "file" and result["size"] == os.path.getsize(str(prefix / ".condarc"))


def test_hand_written_file_keeps_comments_and_unmanaged_keys(run, tmp_path):
    prefix = make_prefix(tmp_path)
    text = ("# written by hand\nchannels:\n  - defaults  # old\nssl_verify: /etc/ca.pem   # site CA\n\n"
            "# unmanaged\ncustom_multichannels:\n  mine: [a, b]\nenv_prompt: '({name}) '\n")
    (prefix / ".condarc").write_text(text)
    os.chmod(prefix / ".condarc", 0o640)
    result = run({"prefix": str(prefix), "channels": ["conda-forge"]}, diff=True)
    new = (prefix / ".condarc").read_text()
    assert new == text.replace("  - defaults  # old\n", "  - conda-forge\n")
    assert stat.S_IMODE(os.stat(prefix / ".condarc").st_mode) == 0o640
    assert result["diff"]["before"] == text and result["diff"]["after"] == new


def test_check_mode_writes_nothing_and_predicts_the_diff(run, tmp_path):
    prefix = make_prefix(tmp_path)
    result = run({"prefix": str(prefix), "settings": {"solver": "classic"}}, check=True, diff=True)
    assert result["changed"] and not (prefix / ".condarc").exists()
    assert result["diff"] == {"before": "", "after": "solver: classic\n", "before_header": str(prefix / ".condarc"),
                              "after_header": str(prefix / ".condarc")}


@pytest.mark.parametrize("version, key, twin", [("26.7.1", "auto_activate", "auto_activate_base"),
                                                ("25.3.1", "auto_activate_base", "auto_activate")])
def test_auto_activate_key_follows_the_installed_conda(run, tmp_path, version, key, twin):
    prefix = make_prefix(tmp_path, version)
    (prefix / ".condarc").write_text("%s: true\nchannels: [conda-forge]\n" % twin)
    result = run({"prefix": str(prefix), "auto_activate": False})
    assert result["auto_activate_key"] == key and result["conda_version"] == version
    assert (prefix / ".condarc").read_text() == "channels: [conda-forge]\n%s: false\n" % key


def test_auto_activate_needs_a_version(run, tmp_path):
    result = run({"scope": "path", "path": str(tmp_path / ".condarc"), "auto_activate": False})
    assert result["failed"] and "prefix" in result["msg"]


def test_unknown_key_fails_and_writes_nothing(run, tmp_path):
    prefix = make_prefix(tmp_path)
    (prefix / ".condarc").write_text("channels: [conda-forge]\n")
    result = run({"prefix": str(prefix), "settings": {"no_such_key": 1, "solver": "classic"}})
    assert result["failed"] and "'no_such_key'" in result["msg"] and "unknown parameter" in result["msg"]
    assert (prefix / ".condarc").read_text() == "channels: [conda-forge]\n"
    ok = run({"prefix": str(prefix), "settings": {"no_such_key": 1}, "extra_keys": ["no_such_key"]})
    assert ok["changed"]


def test_bad_value_fails(run, tmp_path):
    prefix = make_prefix(tmp_path)
    result = run({"prefix": str(prefix), "settings": {"channel_priority": "bogus"}})
    assert result["failed"] and "channel_priority" in result["msg"] and not (prefix / ".condarc").exists()


def test_mirror_credentials_are_masked_and_file_is_private(run, tmp_path):
    prefix = make_prefix(tmp_path)
    (prefix / ".condarc").write_text("channels:\n  - conda-forge\n")
    os.chmod(prefix / ".condarc", 0o644)
    args = {"prefix": str(prefix), "mirror": {"url": "https://mirror.example.com/conda", "username": "deploy",
                                              "password": "Sup3rS3cret", "custom_channels": ["conda-forge"]}}
    result = run(args, diff=True)
    assert result["changed"] and result["mode"] == "0600"
    assert stat.S_IMODE(os.stat(prefix / ".condarc").st_mode) == 0o600
    written = (prefix / ".condarc").read_text()
    assert "deploy:Sup3rS3cret@mirror.example.com/conda" in written
    shown = json.dumps(result)
    assert "Sup3rS3cret" not in shown
    assert "https://deploy:********@mirror.example.com/conda/pkgs/main" in result["diff"]["after"]
    again = run(args)
    assert not again["changed"]


def test_token_and_settings_credentials_are_masked(run, tmp_path):
    prefix = make_prefix(tmp_path)
    args = {"prefix": str(prefix), "mirror": {"url": "https://m.example.com", "token": "tk-SECRET-42"},
            "settings": {"proxy_servers": {"https": "http://bob:Pr0xyPw@proxy:3128"}}}
    result = run(args, diff=True)
    shown = json.dumps(result)
    assert "tk-SECRET-42" not in shown and "Pr0xyPw" not in shown
    assert "/t/tk-SECRET-42" in (prefix / ".condarc").read_text()


@pytest.mark.parametrize("password, mirror_password", [("pa'ss@1", None), ("x", "y")])
def test_hostile_and_one_character_passwords_are_masked_by_pattern_only(run, tmp_path, password, mirror_password):
    """A quote and a raw @ in a proxy password; one-character passwords hide nothing but themselves ('y' is in proxy)."""
    prefix = make_prefix(tmp_path)
    proxy = "http://bob:%s@proxy.example.com:3128" % password
    args = {"prefix": str(prefix), "settings": {"proxy_servers": {"https": proxy}}}
    if mirror_password:
        args["mirror"] = {"url": "https://mirror.example.com/conda", "username": "deploy", "password": mirror_password}
    result = run(args, diff=True)
    assert result["settings"]["proxy_servers"] == {"https": "http://bob:********@proxy.example.com:3128"}
    assert result["path"] == str(prefix / ".condarc") and result["mode"] == "0600"
    assert stat.S_IMODE(os.stat(prefix / ".condarc").st_mode) == 0o600
    invocation = result["invocation"]["module_args"]
    assert invocation["settings"] == {"proxy_servers": {"https": "http://bob:********@proxy.example.com:3128"}}
    assert "bob:" + password not in json.dumps(result)
    if mirror_password:
        assert result["settings"]["channel_alias"] == "https://deploy:********@mirror.example.com/conda"
        assert invocation["mirror"]["password"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
        assert "deploy:" + mirror_password not in json.dumps(result)


def test_remove_keys(run, tmp_path):
    prefix = make_prefix(tmp_path)
    (prefix / ".condarc").write_text("# c\nalways_yes: true\nyes: true\nsolver: classic\n")
    result = run({"prefix": str(prefix), "remove_keys": ["always_yes"]})
    assert result["changed_keys"] == ["always_yes", "yes"]
    assert (prefix / ".condarc").read_text() == "# c\nsolver: classic\n"
    assert not run({"prefix": str(prefix), "remove_keys": ["always_yes"]})["changed"]


def test_no_defaults(run, tmp_path):
    prefix = make_prefix(tmp_path)
    (prefix / ".condarc").write_text("channels:\n  - defaults\n  - conda-forge\n")
    result = run({"prefix": str(prefix), "no_defaults": True})
    assert result["changed"]
    assert (prefix / ".condarc").read_text() == "channels:\n  - conda-forge\ndefault_channels: []\n"


def test_global_user_and_path_scopes(run, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    result = run({"scope": "user", "channels": ["conda-forge"]})
    assert result["path"] == str(tmp_path / "home" / ".condarc") and result["changed"]
    target = tmp_path / "etc" / "conda" / "condarc.d" / "site.yml"
    result = run({"scope": "path", "path": str(target), "settings": {"show_channel_urls": True}})
    assert target.read_text() == "show_channel_urls: true\n"
    result = run({"scope": "path", "path": str(target), "user": "root"})
    assert result["failed"] and "scope=user" in result["msg"]
    site = tmp_path / "etc-conda" / ".condarc"
    monkeypatch.setattr(config_run, "GLOBAL_CONDARC", str(site))
    result = run({"scope": "global", "settings": {"envs_dirs": ["/srv/envs"]}})
    assert result["path"] == str(site) and site.read_text() == "envs_dirs:\n  - /srv/envs\n"


# ---------------------------------------------------------------- YAML this module does not read by itself

ANCHORED = "defaults_list: &d\n  - conda-forge\nchannels: *d\nsolver: classic\n"


def test_unmanaged_opaque_block_needs_no_external_reader(run, tmp_path):
    prefix = make_prefix(tmp_path)
    (prefix / ".condarc").write_text(ANCHORED)
    result = run({"prefix": str(prefix), "settings": {"solver": "libmamba"}})
    assert result["changed"] and result["reader"] == "builtin" and result["_calls"] == []
    assert (prefix / ".condarc").read_text() == ANCHORED.replace("classic", "libmamba")


def _fake_python(prefix):
    python = prefix / "bin" / "python"
    python.parent.mkdir(exist_ok=True)
    python.write_text("#!/bin/sh\n")
    python.chmod(0o755)
    return str(python)


def test_managed_opaque_block_is_read_by_the_installation_python(run, tmp_path):
    prefix = make_prefix(tmp_path)
    python = _fake_python(prefix)
    (prefix / ".condarc").write_text(ANCHORED)
    data = {"defaults_list": ["conda-forge"], "channels": ["conda-forge"], "solver": "classic"}

    def reader(cmd):
        assert cmd[0] == python and cmd[-1] == str(prefix / ".condarc")
        return 0, json.dumps({"reader": "ruamel.yaml", "data": data}), ""

    converged = run({"prefix": str(prefix), "channels": ["conda-forge"]}, handler=reader)
    assert not converged["changed"] and converged["reader"] == "ruamel.yaml" and len(converged["_calls"]) == 1
    changed = run({"prefix": str(prefix), "channels": ["bioconda"]}, handler=reader)
    assert changed["changed"]
    assert (prefix / ".condarc").read_text() == "defaults_list: &d\n  - conda-forge\nchannels:\n  - bioconda\n" \
                                                "solver: classic\n"


def test_anchor_in_a_managed_block_is_never_rewritten(run, tmp_path):
    prefix = make_prefix(tmp_path)
    _fake_python(prefix)
    (prefix / ".condarc").write_text(ANCHORED)
    data = {"defaults_list": ["conda-forge"], "channels": ["conda-forge"], "solver": "classic"}
    result = run({"prefix": str(prefix), "settings": {"defaults_list": ["x"]}, "validate_keys": False},
                 handler=lambda cmd: (0, json.dumps({"reader": "ruamel.yaml", "data": data}), ""))
    assert result["failed"] and "anchor" in result["msg"]
    assert (prefix / ".condarc").read_text() == ANCHORED


def test_unsegmentable_file_is_read_but_not_rewritten(run, tmp_path):
    prefix = make_prefix(tmp_path)
    _fake_python(prefix)
    (prefix / ".condarc").write_text("---\nchannels: [conda-forge]\n")
    answer = (0, json.dumps({"reader": "ruamel.yaml", "data": {"channels": ["conda-forge"]}}), "")
    assert not run({"prefix": str(prefix), "channels": ["conda-forge"]}, handler=lambda cmd: answer)["changed"]
    result = run({"prefix": str(prefix), "channels": ["bioconda"]}, handler=lambda cmd: answer)
    assert result["failed"] and "cannot be rewritten" in result["msg"]
    assert (prefix / ".condarc").read_text() == "---\nchannels: [conda-forge]\n"


def test_unreadable_without_a_prefix_python_fails_clearly(run, tmp_path):
    path = tmp_path / ".condarc"
    path.write_text("channels: !!seq [a]\n")
    result = run({"scope": "path", "path": str(path), "channels": ["b"]})
    assert result["failed"] and "does not read by itself" in result["msg"]


# ---------------------------------------------------------------- Anaconda's Terms of Service

def test_tos_not_accepted_fails_with_guidance(run, tmp_path):
    prefix = make_prefix(tmp_path, tos=True)
    result = run({"prefix": str(prefix), "channels": ["defaults"]})
    assert result["failed"] and "accept_anaconda_tos: true" in result["msg"]
    assert "https://repo.anaconda.com/pkgs/main" in result["msg"] and not (prefix / ".condarc").exists()


def test_tos_without_plugin_or_anaconda_channels_is_not_checked(run, tmp_path):
    assert run({"prefix": str(make_prefix(tmp_path)), "channels": ["defaults"]})["changed"]
    assert run({"prefix": str(make_prefix(tmp_path, tos=True, name="b2")), "channels": ["conda-forge"]})["changed"]


def test_tos_acceptance_is_recorded_once(run, tmp_path):
    prefix = make_prefix(tmp_path, tos=True)
    conda = str(prefix / "bin" / "conda")

    def accept(cmd):
        assert cmd[:4] == [conda, "tos", "accept", "--override-channels"] and cmd[-1] == "--system"
        channels = [cmd[i + 1] for i, arg in enumerate(cmd) if arg == "--channel"]
        for number, url in enumerate(channels):
            record = prefix / "conda-meta" / "tos" / ("hash%d" % number) / "1752537600.0.json"
            record.parent.mkdir(parents=True)
            record.write_text(json.dumps({"base_url": url, "tos_accepted": True}))
        return 0, "", ""

    args = {"prefix": str(prefix), "channels": ["defaults"], "accept_anaconda_tos": True}
    checked = run(args, check=True)
    assert checked["changed"] and checked["_calls"] == [] and not (prefix / ".condarc").exists()
    first = run(args, handler=accept)
    assert first["changed"] and first["tos_channels"] == ["https://repo.anaconda.com/pkgs/main",
                                                          "https://repo.anaconda.com/pkgs/r"]
    second = run(args)
    assert not second["changed"] and second["tos_channels"] == [] and second["_calls"] == []


def test_system_scope_needs_an_installation(run, tmp_path):
    """The positive evidence conda_install uses: history, bin/conda and a conda record; a plain environment
    (conda-meta/history only) is no installation and gets no .condarc."""
    env = tmp_path / "env"
    (env / "conda-meta").mkdir(parents=True)
    (env / "conda-meta" / "history").write_text("")
    result = run({"prefix": str(env), "channels": ["conda-forge"]})
    assert result["failed"] and "no conda installation at %s" % env in result["msg"], result
    assert "a conda environment (conda-meta/history) without bin/conda" in result["msg"]
    assert os.listdir(str(env)) == ["conda-meta"]
