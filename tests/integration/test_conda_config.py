# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""condafleet.conda.conda_config through ansible-playbook, on installations of the offline conda world.

Every change is checked three ways: what the module reports (changed, then not
changed on the next run), the file on disk, and what the installation's own
``conda config --show --json`` reads from it.
"""
from __future__ import annotations

import glob
import json
import os
import shutil
import stat
import subprocess
from urllib.parse import quote

import pytest
from fixtures import run_conda  # noqa: F401  (tests/world, put on sys.path by conftest)

MODULE = "condafleet.conda.conda_config"


def condarc(prefix):
    with open(os.path.join(prefix, ".condarc"), encoding="utf-8") as handle:
        return handle.read()


def show(prefix):
    proc = run_conda(prefix, "config", "--show", "--json")
    assert proc.returncode == 0, proc.stderr
    return proc.json


def url_of(channel):
    """conda's Channel dump back to a URL."""
    return "%s://%s" % (channel["scheme"], "/".join(p for p in (channel["location"], channel["name"]) if p))


def converge(run_module, args, path=None):
    """check mode (predicts the file, writes nothing) -> apply -> apply again (nothing to do)."""
    path = path or os.path.join(args["prefix"], ".condarc")
    before = _read(path)
    check = run_module(MODULE, args, check=True, diff=True)
    assert check.changed and not check.failed, check.result
    assert _read(path) == before
    first = run_module(MODULE, args)
    assert first.changed and not first.failed, first.result
    assert first["changed_keys"] == check["changed_keys"] and check["diff"]["after"] == _read(path)
    second = run_module(MODULE, args)
    assert not second.changed and not second.failed and second["changed_keys"] == [], second.result
    return first


def _read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _base_url(prefix):
    return show(prefix)["channel_alias"]["scheme"] + "://" + show(prefix)["channel_alias"]["location"]


KEY_CASES = {
    "channels-exact": ({"channels": ["conda-forge", "defaults"]},
                       lambda s, u: s["channels"] == ["conda-forge", "defaults"]),
    "channels-prepend": ({"channels": ["conda-forge"], "channels_mode": "prepend"},
                         lambda s, u: s["channels"] == ["conda-forge", "defaults"]),
    "channels-append": ({"channels": ["pytorch", "nvidia"], "channels_mode": "append"},
                        lambda s, u: s["channels"] == ["defaults", "pytorch", "nvidia"]),
    "channels-present": ({"channels": ["defaults", "nvidia"], "channels_mode": "present"},
                         lambda s, u: s["channels"] == ["defaults", "nvidia"]),
    "channels-absent": ({"channels": ["defaults"], "channels_mode": "absent"},
                        lambda s, u: s["channels"] == []),
    "channel_priority": ({"settings": {"channel_priority": "strict"}}, lambda s, u: s["channel_priority"] == "strict"),
    "default_channels": ({"settings": {"default_channels": ["{url}/conda-forge", "{url}/pytorch"]}},
                         lambda s, u: [url_of(c) for c in s["default_channels"]] == [u + "/conda-forge",
                                                                                     u + "/pytorch"]),
    "channel_alias": ({"settings": {"channel_alias": "https://mirror.example.com/conda"}},
                      lambda s, u: url_of(s["channel_alias"]) == "https://mirror.example.com/conda"),
    "custom_channels": ({"settings": {"custom_channels": {"bioconda": "https://mirror.example.com/conda"}}},
                        lambda s, u: url_of(s["custom_channels"]["bioconda"])
                        == "https://mirror.example.com/conda/bioconda"),
    "override_channels_enabled": ({"settings": {"override_channels_enabled": False}},
                                  lambda s, u: s["override_channels_enabled"] is False),
    "pkgs_dirs": ({"settings": {"pkgs_dirs": ["/srv/conda/pkgs"]}}, lambda s, u: s["pkgs_dirs"][0] == "/srv/conda/pkgs"),
    "envs_dirs": ({"settings": {"envs_dirs": ["/srv/conda/envs", "~/envs"]}},
                  lambda s, u: s["envs_dirs"][:2] == ["/srv/conda/envs", os.path.expanduser("~/envs")]),
    "ssl_verify-bool": ({"settings": {"ssl_verify": False}}, lambda s, u: s["ssl_verify"] is False),
    "ssl_verify-ca": ({"settings": {"ssl_verify": "/etc/ssl/certs/ca-certificates.crt"}},
                      lambda s, u: s["ssl_verify"] == "/etc/ssl/certs/ca-certificates.crt"),
    "proxy_servers": ({"settings": {"proxy_servers": {"http": "http://proxy.example.com:3128",
                                                      "https": "http://proxy.example.com:3128"}}},
                      lambda s, u: s["proxy_servers"] == {"http": "http://proxy.example.com:3128",
                                                          "https": "http://proxy.example.com:3128"}),
    "solver": ({"settings": {"solver": "classic"}}, lambda s, u: s["solver"] == "classic"),
    "show_channel_urls": ({"settings": {"show_channel_urls": True}}, lambda s, u: s["show_channel_urls"] is True),
    "notify_outdated_conda": ({"settings": {"notify_outdated_conda": False}},
                              lambda s, u: s["notify_outdated_conda"] is False),
    "always_yes": ({"settings": {"always_yes": True}}, lambda s, u: s["always_yes"] is True),
    "passthrough-key": ({"settings": {"remote_max_retries": 7, "default_python": "3.12"}},
                        lambda s, u: s["remote_max_retries"] == 7 and s["default_python"] == "3.12"),
    "no_defaults": ({"no_defaults": True}, lambda s, u: s["channels"] == [] and s["default_channels"] == []),
    "mirror": ({"mirror": {"url": "https://mirror.example.com/conda", "custom_channels": ["conda-forge"]}},
               lambda s, u: url_of(s["channel_alias"]) == "https://mirror.example.com/conda"
               and [url_of(c) for c in s["default_channels"]] == ["https://mirror.example.com/conda/pkgs/main",
                                                                  "https://mirror.example.com/conda/pkgs/r"]
               and url_of(s["custom_channels"]["conda-forge"]) == "https://mirror.example.com/conda/conda-forge"),
}


def test_each_key_changed_then_unchanged_and_read_by_conda(run_module, conda_base):
    """One installation, each case from the installer's own .condarc: set (changed), again (not changed), read by conda."""
    url = _base_url(conda_base)
    path = os.path.join(conda_base, ".condarc")
    original = condarc(conda_base)
    failures = []
    for case in sorted(KEY_CASES):
        args, conda_reads = KEY_CASES[case]
        args = dict(json.loads(json.dumps(args).replace("{url}", url)), prefix=conda_base)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(original)
        first = run_module(MODULE, args)
        second = run_module(MODULE, args)
        shown = show(conda_base)
        if not (first.changed and not first.failed and not second.changed and not second.failed
                and conda_reads(shown, url)):
            failures.append((case, first.result, second.result, condarc(conda_base)))
    assert failures == []


HAND_WRITTEN = """\
# Site conda configuration.
# Maintained by hand AND by Ansible: keep these comments.
channels:   # what users get
  - defaults
channel_alias: {url}
default_channels:
  - {url}/conda-forge

# --- unmanaged below ---
remote_max_retries: 5      # flaky network
env_prompt: '({{name}}) '
custom_multichannels:
  mine: [conda-forge, pytorch]
create_default_packages:
- pip
"""


def test_hand_written_condarc_keeps_comments_and_unmanaged_keys(run_module, conda_base):
    url = _base_url(conda_base)
    text = HAND_WRITTEN.format(url=url)
    with open(os.path.join(conda_base, ".condarc"), "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(os.path.join(conda_base, ".condarc"), 0o640)
    args = {"prefix": conda_base, "channels": ["conda-forge"], "auto_activate": False,
            "settings": {"channel_priority": "strict"}}
    converge(run_module, args)
    new = condarc(conda_base)
    assert new == text.replace("  - defaults\n", "  - conda-forge\n") + "channel_priority: strict\nauto_activate: false\n"
    assert stat.S_IMODE(os.stat(os.path.join(conda_base, ".condarc")).st_mode) == 0o640
    shown = show(conda_base)
    assert shown["remote_max_retries"] == 5 and shown["env_prompt"] == "({name}) "
    assert shown["create_default_packages"] == ["pip"] and shown["channels"] == ["conda-forge"]
    assert shown["auto_activate"] is False and shown["channel_priority"] == "strict"


def test_auto_activate_on_new_conda_writes_auto_activate(run_module, conda_base):
    with open(os.path.join(conda_base, ".condarc"), "a", encoding="utf-8") as handle:
        handle.write("auto_activate_base: true\n")  # the name installers' docs still use
    result = converge(run_module, {"prefix": conda_base, "auto_activate": False})
    assert result["auto_activate_key"] == "auto_activate" and result["conda_version"] == "26.7.1"
    text = condarc(conda_base)
    assert "auto_activate: false\n" in text and "auto_activate_base" not in text
    assert show(conda_base)["auto_activate"] is False


def test_auto_activate_on_old_conda_writes_auto_activate_base(run_module, conda_base_old):
    with open(os.path.join(conda_base_old, ".condarc"), "a", encoding="utf-8") as handle:
        handle.write("auto_activate: true\n")  # unknown to conda < 25.5: a leftover twin
    result = converge(run_module, {"prefix": conda_base_old, "auto_activate": False})
    assert result["auto_activate_key"] == "auto_activate_base" and result["conda_version"] == "25.3.1"
    text = condarc(conda_base_old)
    assert "auto_activate_base: false\n" in text and "auto_activate:" not in text
    shown = show(conda_base_old)
    assert shown["auto_activate_base"] is False and "auto_activate" not in shown


def test_unknown_key_fails_and_writes_nothing(run_module, conda_base):
    path = os.path.join(conda_base, ".condarc")
    before = (condarc(conda_base), os.stat(path).st_mtime_ns)
    result = run_module(MODULE, {"prefix": conda_base, "settings": {"no_such_key": 1, "solver": "classic"}})
    assert result.failed and "'no_such_key'" in result["msg"] and "unknown parameter" in result["msg"]
    assert (condarc(conda_base), os.stat(path).st_mtime_ns) == before
    assert [name for name in os.listdir(conda_base) if name.startswith(".condarc.")] == []


def test_secrets_absent_from_output_diff_and_logs(run_module, conda_base):
    password, token, proxy_pw = "Mirr0rPassw0rd", "tk-S3CRET-t0ken", "Pr0xyPassw0rd"
    args = {"prefix": conda_base,
            "mirror": {"url": "https://mirror.example.com/conda", "username": "deploy", "password": password,
                       "custom_channels": ["conda-forge"]},
            "settings": {"proxy_servers": {"https": "http://bob:%s@proxy.example.com:3128" % proxy_pw}}}
    runs = [run_module(MODULE, args, check=True, diff=True, verbosity=3),
            run_module(MODULE, args, diff=True, verbosity=3),
            run_module(MODULE, args, diff=True, verbosity=3)]
    token_args = dict(args, mirror={"url": "https://mirror.example.com", "token": token})
    runs += [run_module(MODULE, token_args, diff=True, verbosity=3)]
    assert [r.changed for r in runs] == [True, True, False, True]
    for run in runs:
        seen = run.stdout + run.stderr + json.dumps(run.result)
        for secret in (password, token, proxy_pw):
            assert secret not in seen
    assert "https://deploy:********@mirror.example.com/conda" in runs[1]["diff"]["after"]
    assert "/t/********" in runs[3]["diff"]["after"]
    text = condarc(conda_base)
    assert "/t/%s" % token in text and proxy_pw in text  # the file itself carries them...
    assert stat.S_IMODE(os.stat(os.path.join(conda_base, ".condarc")).st_mode) == 0o600  # ...so only its owner reads it
    assert show(conda_base)["channel_alias"]["token"] == token  # conda reads the token it needs


def test_check_mode_predicts_the_file(run_module, conda_base):
    before = condarc(conda_base)
    args = {"prefix": conda_base, "channels": ["conda-forge"], "channels_mode": "prepend",
            "remove_keys": ["default_channels"]}
    check = run_module(MODULE, args, check=True, diff=True)
    assert check.changed and condarc(conda_base) == before
    assert check["diff"]["before"] == before
    applied = run_module(MODULE, args, diff=True)
    assert condarc(conda_base) == check["diff"]["after"] == applied["diff"]["after"]
    assert "default_channels" not in condarc(conda_base)


def test_user_and_path_scopes(run_module, conda_base, conda_home):
    converge(run_module, {"scope": "user", "channels": ["conda-forge"], "settings": {"channel_priority": "strict"}},
             os.path.join(conda_home, ".condarc"))
    with open(os.path.join(conda_home, ".condarc"), encoding="utf-8") as handle:
        assert handle.read() == "channel_priority: strict\nchannels:\n  - conda-forge\n"
    shown = show(conda_base)  # lists merge: the user's channel comes first, the system's follows
    assert shown["channels"] == ["conda-forge", "defaults"] and shown["channel_priority"] == "strict"
    site = os.path.join(conda_home, ".config", "conda", "condarc.d", "site.yml")
    converge(run_module, {"scope": "path", "path": site, "settings": {"notify_outdated_conda": False}}, site)
    assert show(conda_base)["notify_outdated_conda"] is False


# ---------------------------------------------------------------- YAML the module does not read by itself

ANCHORED = "base: &chans\n  - conda-forge\nchannels: *chans\nsolver: classic\n"


def test_opaque_unmanaged_yaml_is_kept_and_checked_by_conda_s_reader(run_module, conda_base):
    """A block the module leaves alone is kept verbatim; with an installation at hand, conda's reader
    (ruamel.yaml) confirms the file first, so a rewrite never hides YAML conda would refuse."""
    path = os.path.join(conda_base, ".condarc")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("notes: |\n  block scalar\n  kept verbatim\n")
    before = condarc(conda_base)
    result = converge(run_module, {"prefix": conda_base, "settings": {"show_channel_urls": True}})
    assert result["reader"] == "ruamel.yaml"
    assert condarc(conda_base) == before + "show_channel_urls: true\n"


def test_opaque_unmanaged_yaml_is_kept_without_any_reader(run_module, tmp_path):
    """No installation given (scope=path): the module's own reader, the unmanaged block kept verbatim."""
    path = tmp_path / "site.yml"
    path.write_text("notes: |\n  block scalar\n  kept verbatim\n", encoding="utf-8")
    result = converge(run_module, {"scope": "path", "path": str(path), "settings": {"show_channel_urls": True}},
                      str(path))
    assert result["reader"] == "builtin"
    assert path.read_text(encoding="utf-8") == "notes: |\n  block scalar\n  kept verbatim\nshow_channel_urls: true\n"


def test_managed_opaque_yaml_is_read_by_the_installations_python(run_module, conda_base):
    """Anchors are beyond the module's own reader: the installation's Python (ruamel.yaml, as conda) reads them."""
    path = os.path.join(conda_base, ".condarc")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(ANCHORED)
    result = run_module(MODULE, {"prefix": conda_base, "channels": ["pytorch"]})
    assert result.changed and not result.failed, result.result
    assert result["reader"] == "ruamel.yaml"
    assert show(conda_base)["channels"] == ["pytorch"]
    assert not run_module(MODULE, {"prefix": conda_base, "channels": ["pytorch"]}).changed


def test_managed_opaque_yaml_without_a_yaml_library_fails_cleanly(run_module, conda_base):
    """A broken installation whose Python has no YAML library (ruamel.yaml moved aside): a clear failure,
    the file untouched."""
    path = os.path.join(conda_base, ".condarc")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(ANCHORED)
    site = glob.glob(os.path.join(conda_base, "lib", "python3*", "site-packages"))[0]
    os.rename(os.path.join(site, "ruamel"), os.path.join(site, "ruamel.aside"))
    try:
        result = run_module(MODULE, {"prefix": conda_base, "channels": ["pytorch"]})
    finally:
        os.rename(os.path.join(site, "ruamel.aside"), os.path.join(site, "ruamel"))
    assert result.failed and "could not be read" in result["msg"], result.result
    assert condarc(conda_base) == ANCHORED


@pytest.mark.skipif(subprocess.run(["/usr/bin/python3", "-c", "import yaml"], check=False).returncode != 0,
                    reason="the host Python has no YAML library to stand in for a real conda's")
def test_managed_opaque_yaml_is_read_by_the_installation_python(run_module, tmp_path):
    """A real conda's Python has ruamel.yaml; here a prefix whose python is the host's (PyYAML)."""
    prefix = tmp_path / "realish"
    (prefix / "conda-meta").mkdir(parents=True)
    (prefix / "conda-meta" / "conda-26.7.1-py_0.json").write_text(json.dumps({"name": "conda", "version": "26.7.1"}))
    (prefix / "bin").mkdir()
    os.symlink("/usr/bin/python3", str(prefix / "bin" / "python"))
    target = tmp_path / "site.yml"
    target.write_text(ANCHORED)
    args = {"scope": "path", "path": str(target), "prefix": str(prefix)}
    same = run_module(MODULE, dict(args, channels=["conda-forge"]))
    assert not same.changed and same["reader"] == "PyYAML"
    result = converge(run_module, dict(args, channels=["pytorch"], auto_activate=False), str(target))
    assert result["reader"] == "PyYAML"
    assert target.read_text() == ("base: &chans\n  - conda-forge\nchannels:\n  - pytorch\nsolver: classic\n"
                                  "auto_activate: false\n")


# ---------------------------------------------------------------- Anaconda's Terms of Service

def _with_tos_plugin(prefix):
    with open(os.path.join(prefix, "conda-meta", "conda-anaconda-tos-0.2.2-py_0.json"), "w") as handle:
        json.dump({"name": "conda-anaconda-tos", "version": "0.2.2"}, handle)


def test_tos_unaccepted_anaconda_channels_fail_with_guidance(run_module, conda_base):
    _with_tos_plugin(conda_base)
    before = condarc(conda_base)
    args = {"prefix": conda_base, "channels": ["defaults"], "remove_keys": ["default_channels", "channel_alias"]}
    result = run_module(MODULE, args)
    assert result.failed and "accept_anaconda_tos: true" in result["msg"]
    assert "https://repo.anaconda.com/pkgs/main" in result["msg"] and condarc(conda_base) == before
    # an acceptance already on disk (what `conda tos accept --system` records) satisfies it
    for number, channel in enumerate(("main", "r")):
        record = os.path.join(conda_base, "conda-meta", "tos", "h%d" % number, "1752537600.0.json")
        os.makedirs(os.path.dirname(record))
        with open(record, "w") as handle:
            json.dump({"base_url": "https://repo.anaconda.com/pkgs/" + channel, "tos_accepted": True}, handle)
    accepted = run_module(MODULE, args)
    assert accepted.changed and not accepted.failed and accepted["tos_channels"] == []


def test_tos_not_needed_for_conda_forge_only(run_module, conda_base):
    _with_tos_plugin(conda_base)
    converge(run_module, {"prefix": conda_base, "channels": ["conda-forge"], "no_defaults": True})
    assert show(conda_base)["channels"] == ["conda-forge"]


def test_a_byte_order_mark_is_not_a_key(run_module, conda_base):
    """A .condarc saved with a UTF-8 BOM: the channels key is changed in place, never added a second time
    (conda would then fail every command with DuplicateKeyError), and the BOM stays."""
    path = os.path.join(conda_base, ".condarc")
    with open(path, "w", encoding="utf-8-sig") as handle:
        handle.write("channels:\n  - defaults\nsolver: rattler\n")
    first = run_module(MODULE, {"prefix": conda_base, "channels": ["conda-forge"]})
    assert first.changed and not first.failed, first.result
    with open(path, "rb") as handle:
        raw = handle.read()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"channels:") == 1, raw
    assert show(conda_base)["channels"] == ["conda-forge"]
    assert not run_module(MODULE, {"prefix": conda_base, "channels": ["conda-forge"]}).changed


# ---------------------------------------------------------------- hostile input, faults, other users

def run_as(ansible_playbook, work, user, args, check=False):
    """The module run through ansible-playbook with ``become`` to ``user`` (su, pipelining: no temporary files)."""
    work.mkdir(parents=True, exist_ok=True)
    result_path = str(work / "result.json")
    task = {MODULE: args, "register": "__result", "ignore_errors": True, "become": True, "become_method": "su",
            "become_user": user, "become_flags": "-s /bin/sh"}
    save = {"ansible.builtin.copy": {"content": "{{ __result | to_json }}", "dest": result_path, "mode": "0600"},
            "check_mode": False}
    (work / "play.yml").write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [task, save]}]))
    proc = ansible_playbook(["-i", "localhost,", "-c", "local", str(work / "play.yml")] + (["--check"] if check else []),
                            work, {"ANSIBLE_PIPELINING": "1"})
    assert os.path.exists(result_path), proc.stdout + proc.stderr
    with open(result_path, encoding="utf-8") as handle:
        return json.load(handle)


def _clear_failure(result, *words):
    assert result.get("failed") and not result.get("changed"), result
    assert "Errno" not in result["msg"] and "Module failed" not in result["msg"], result["msg"]
    for word in words:
        assert word in result["msg"], result["msg"]


@pytest.fixture
def world_dir(shared_dir):
    """A directory every user may write to (tmp_path is root's own)."""
    return shared_dir(0o1777)


@pytest.mark.skipif(os.geteuid() != 0, reason="becomes another user")
def test_global_and_user_scope_as_a_user_who_cannot_write_fail_clearly(ansible_playbook, tmp_path):
    """nobody cannot create /etc/conda, and its home (/nonexistent) is not there: a clear error naming the file
    and the user, in check mode too (the prediction is that the run fails), never a traceback, nothing made."""
    assert not os.path.exists("/etc/conda"), "this test needs a host without /etc/conda"
    for number, (args, path) in enumerate(((
            {"scope": "global", "settings": {"channel_priority": "strict"}}, "/etc/conda/.condarc"), (
            {"scope": "user", "channels": ["conda-forge"]}, "/nonexistent/.condarc"))):
        for check in (True, False):
            result = run_as(ansible_playbook, tmp_path / ("run-%d-%s" % (number, check)), "nobody", args, check)
            _clear_failure(result, path, "cannot be written as nobody", "Nothing was written")
    assert not os.path.exists("/etc/conda") and not os.path.exists("/nonexistent")


@pytest.mark.skipif(os.geteuid() != 0, reason="becomes another user")
def test_a_file_of_another_user_is_not_chmodded_by_a_traceback(ansible_playbook, tmp_path, world_dir):
    """A converged root-owned file that holds a credential at 0644: nobody may not make it 0600, and is told so."""
    path = os.path.join(world_dir, "condarc.yml")
    text = "channel_alias: https://deploy:S3cret@mirror.example.com/conda\n"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o644)
    result = run_as(ansible_playbook, tmp_path / "run", "nobody", {
        "scope": "path", "path": path, "settings": {"channel_alias": "https://deploy:S3cret@mirror.example.com/conda"}})
    _clear_failure(result, path, "belongs to root")
    assert "S3cret" not in json.dumps(result)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644 and _read(path) == text


def test_symlinked_condarc_is_updated_through_the_link(run_module, conda_base, tmp_path):
    """A .condarc kept elsewhere (dotfiles, config management) and linked into the prefix: the file it points to
    is rewritten in its own directory, keeping its mode; the link stays, and conda reads the change through it."""
    link = os.path.join(conda_base, ".condarc")
    target_dir = tmp_path / "site-config"
    target_dir.mkdir()
    target = str(target_dir / "condarc")
    shutil.move(link, target)
    os.chmod(target, 0o640)
    os.symlink(target, link)
    converge(run_module, {"prefix": conda_base, "channels": ["conda-forge"]}, link)
    assert os.path.islink(link) and os.readlink(link) == target
    assert "  - conda-forge\n" in _read(target) and stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert os.listdir(str(target_dir)) == ["condarc"]
    assert show(conda_base)["channels"] == ["conda-forge"]
    # credentials make the target 0600, never the link's directory's new regular file
    run_module(MODULE, {"prefix": conda_base, "settings": {"channel_alias": "https://u:pw@mirror.example.com/c"}})
    assert os.path.islink(link) and stat.S_IMODE(os.stat(target).st_mode) == 0o600


def test_dangling_symlink_is_refused(run_module, tmp_path):
    link = str(tmp_path / ".condarc")
    os.symlink(str(tmp_path / "not-there" / "condarc"), link)
    for check in (True, False):
        result = run_module(MODULE, {"scope": "path", "path": link, "channels": ["conda-forge"]}, check=check)
        _clear_failure(result.result, link, "dangling")
    assert os.path.islink(link) and not os.path.exists(str(tmp_path / "not-there"))


@pytest.mark.parametrize("layout, found", [
    ({"data.csv": "a,b\n"}, "a directory that no conda installer or conda wrote"),
    ({"conda-meta/history": "==> 2026-01-01 <==\n"}, "a conda environment (conda-meta/history) without bin/conda"),
    ({}, "an empty directory"),
])
def test_system_scope_refuses_what_is_not_an_installation(run_module, tmp_path, layout, found):
    prefix = tmp_path / "not-conda"
    prefix.mkdir()
    for name, content in layout.items():
        (prefix / name).parent.mkdir(parents=True, exist_ok=True)
        (prefix / name).write_text(content)
    before = sorted(str(p.relative_to(prefix)) for p in prefix.rglob("*"))
    result = run_module(MODULE, {"prefix": str(prefix), "channels": ["conda-forge"]})
    _clear_failure(result.result, "no conda installation at %s" % prefix, found)
    assert sorted(str(p.relative_to(prefix)) for p in prefix.rglob("*")) == before


HOSTILE_ARGS = [
    ({"settings": {"chanels": ["conda-forge"]}}, ["'chanels'", "did you mean 'channels'"]),
    ({"settings": {"channel_prority": "strict"}}, ["did you mean 'channel_priority'"]),
    ({"settings": {"solver: classic\nchannels": ["evil"]}, "validate_keys": False}, ["Not a conda setting name"]),
    ({"remove_keys": ["a b"], "validate_keys": False}, ["Not a conda setting name", '"a b"']),
    ({"settings": {"remote_max_retries": "many"}}, ["remote_max_retries must be an integer, got a string 'many'"]),
    ({"settings": {"default_python": 3.1}}, ["default_python must be a string", "quote it"]),
    ({"settings": {"channels": "conda-forge"}}, ["channels must be a list"]),
    ({"channels": ["conda-forge\nchannel_alias: https://evil.example.com"]}, ["channels[0] holds a control character"]),
    ({"channels": ["conda-forge", "\u2028defaults"]}, ["channels[1] holds a control character"]),
    ({"channels": ["conda forge"]}, ["without spaces"]),
    ({"settings": {"custom_channels": {"bioconda": ["https://a", "https://b"]}}}, ["custom_channels.bioconda must be a string"]),
    ({"settings": {"solver": None}}, ["remove_keys"]),
    ({"mirror": {"url": "https://mirror.example.com/\tconda"}}, ["channel_alias holds a control character"]),
]


def test_hostile_requests_fail_before_anything_changes(run_module, conda_base):
    """Typos, names that are no setting, values conda could not load (every conda command would then fail):
    each is refused with the key and value named, the file untouched, and conda still works."""
    path = os.path.join(conda_base, ".condarc")
    before = (_read(path), os.stat(path).st_mtime_ns)
    failures = []
    for args, words in HOSTILE_ARGS:
        result = run_module(MODULE, dict(args, prefix=conda_base))
        msg = result.get("msg", "")
        if not (result.failed and "Errno" not in msg and all(word in msg for word in words)):
            failures.append((args, result.result))
    assert failures == []
    assert (_read(path), os.stat(path).st_mtime_ns) == before
    assert [name for name in os.listdir(conda_base) if name.startswith(".condarc.")] == []
    assert show(conda_base)["channels"] == ["defaults"]


HOSTILE_FILES = [
    (b"- conda-forge\n- defaults\n", "holds a list at its top level (line 1)"),
    (b"conda-forge\n", "holds a scalar at its top level (line 1"),
    (b"\x7fELF\x02\x01\x01\x00\x00\x00\x00", "holds the control character"),
    (b"channels:\n  - caf\xe9\n", "is not UTF-8 text (byte 0xe9 at offset 17)"),
]


def test_a_condarc_that_is_not_settings_is_never_rewritten(run_module, conda_base):
    """A list, a scalar, binary garbage, Latin-1 bytes: a clear error naming the file, in check mode too, and the
    file byte for byte as it was."""
    path = os.path.join(conda_base, ".condarc")
    failures = []
    for raw, words in HOSTILE_FILES:
        with open(path, "wb") as handle:
            handle.write(raw)
        for check in (True, False):
            result = run_module(MODULE, {"prefix": conda_base, "channels": ["conda-forge"]}, check=check)
            msg = result.get("msg", "")
            with open(path, "rb") as handle:
                kept = handle.read() == raw
            if not (result.failed and path in msg and words in msg and "Nothing was written" in msg and kept):
                failures.append((raw, check, result.result))
    assert failures == []


def test_a_condarc_that_is_a_fifo_or_a_directory_is_refused(run_module, tmp_path):
    """Opening a FIFO would hang the task forever; a directory is nobody's configuration file."""
    fifo = str(tmp_path / "fifo.yml")
    os.mkfifo(fifo)
    result = run_module(MODULE, {"scope": "path", "path": fifo, "channels": ["conda-forge"]})
    _clear_failure(result.result, fifo, "is a FIFO")
    folder = tmp_path / "folder.yml"
    folder.mkdir()
    result = run_module(MODULE, {"scope": "path", "path": str(folder), "channels": ["conda-forge"]})
    _clear_failure(result.result, str(folder), "is a directory")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and os.listdir(str(folder)) == []


@pytest.mark.parametrize("password, mirror_password", [("pa'ss@1", None), ("x", "y")])
def test_hostile_and_one_character_passwords_are_masked_and_nothing_else(run_module, conda_base, tmp_path, password,
                                                                         mirror_password, assert_hidden):
    """A quote or a raw @ in a proxy password is masked whole (the file then 0600); a one-character one hides only
    itself: no other 'x' or 'y' of the output is touched."""
    log = tmp_path / "ansible.log"
    proxy = "http://bob:%s@proxy.example.com:3128" % password
    args = {"prefix": conda_base, "settings": {"proxy_servers": {"https": proxy}}}
    secrets = ["bob:" + password] + ([password] if len(password) > 1 else [])
    if mirror_password:
        args["mirror"] = {"url": "https://mirror.example.com/conda", "username": "deploy", "password": mirror_password}
        secrets.append("deploy:" + quote(mirror_password, safe=""))
    runs = [run_module(MODULE, args, diff=True, verbosity=3, extra_env={"ANSIBLE_LOG_PATH": str(log)}),
            run_module(MODULE, args, verbosity=1, extra_env={"ANSIBLE_LOG_PATH": str(log)})]
    assert [r.changed for r in runs] == [True, False] and not any(r.failed for r in runs), runs[0].result
    assert runs[0]["settings"]["proxy_servers"] == {"https": "http://bob:********@proxy.example.com:3128"}
    assert "http://bob:********@proxy.example.com:3128" in runs[0]["diff"]["after"]
    if mirror_password:
        assert runs[0]["settings"]["channel_alias"] == "https://deploy:********@mirror.example.com/conda"
    assert runs[0]["path"] == os.path.join(conda_base, ".condarc") and runs[0]["mode"] == "0600"
    assert "proxy.example.com" in runs[0].stdout and "proxy.example.com" in runs[1].stdout
    assert stat.S_IMODE(os.stat(os.path.join(conda_base, ".condarc")).st_mode) == 0o600
    assert show(conda_base)["proxy_servers"] == {"https": proxy}  # conda reads what it needs
    assert_hidden(secrets, runs, [log])
