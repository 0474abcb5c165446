# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""_conda: the runner's argv and environment, JSON and error parsing on real conda 26.7 output, history, envs, lock."""
from __future__ import annotations

import json
import os

import pytest

from ansible_collections.condafleet.conda.plugins.module_utils import _conda

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "data", "conda")


def transcript(name):
    with open(os.path.join(DATA, name), encoding="utf-8") as handle:
        return json.load(handle)


def stdout_of(case):
    return case["stdout"] if case["stdout"] is not None else json.dumps(case["stdout_json"], indent=1) + "\n"


def make_env(path, records=(), history=""):
    meta = path / "conda-meta"
    meta.mkdir(parents=True)
    (meta / "history").write_text(history)
    for rec in records:
        (meta / ("%s-%s-%s.json" % (rec["name"], rec["version"], rec["build"]))).write_text(json.dumps(rec))
    return path


def test_parse_json_output_takes_last_document_after_progress_chunks():
    out = '{"fetch": "x", "finished": false}\n\0{"fetch": "x", "finished": true}\n\0{"success": true}\n'
    assert _conda.parse_json_output(out) == {"success": True}
    assert _conda.parse_json_output("") is None
    assert _conda.parse_json_output("not json") is None


@pytest.mark.parametrize("name, exception, words", [
    ("05-create-packages-not-found.json", "PackagesNotFoundInChannelsError", "no-such-package"),
    ("06-create-unsatisfiable.json", "RattlerUnsatisfiableError", "Cannot solve the request"),
    ("11-install-missing-env.json", "EnvironmentLocationNotFound", "Not a conda environment"),
    ("19-remove-not-installed.json", "PackagesNotFoundInPrefixError", "scikit-learn"),
])
def test_parse_error_reads_conda_error_json(name, exception, words):
    case = transcript(name)
    info = _conda.parse_error(case["rc"], stdout_of(case), case["stderr"])
    assert info["exception_name"] == exception
    assert words in info["message"]
    text = _conda.describe_error(info)
    assert exception in text and words.split()[0] in text


def test_describe_error_says_what_happened_in_plain_words():
    case = transcript("06-create-unsatisfiable.json")
    text = _conda.describe_error(_conda.parse_error(1, stdout_of(case), ""))
    assert "cannot be installed together" in text
    case = transcript("05-create-packages-not-found.json")
    assert "does not exist in the configured channels" in _conda.describe_error(
        _conda.parse_error(1, stdout_of(case), ""))


def test_parse_error_plain_text_on_stderr():
    case = transcript("35-config-bad-key.json")
    info = _conda.parse_error(case["rc"], case["stdout"], case["stderr"])
    assert info["exception_name"] == "CondaKeyError"
    assert "no_such_key" in info["message"]
    assert _conda.parse_error(2, "", "usage: conda\nconda: error: unrecognized arguments: --bogus")[
        "exception_name"] == "ArgumentError"


def test_parse_actions_link_unlink():
    created = _conda.parse_actions(transcript("04-create-success.json")["stdout_json"])
    assert [p["name"] for p in created["link"]] == ["python", "numpy", "pip", "opencv"]
    assert created["link"][1] == {"name": "numpy", "version": "2.1.0", "build": "py311_0", "channel": "conda-channel"}
    assert created["unlink"] == []
    removed = _conda.parse_actions(transcript("18-remove-package.json")["stdout_json"])
    assert [p["name"] for p in removed["unlink"]] == ["pandas"] and removed["link"] == []
    nothing = _conda.parse_actions(transcript("08-install-already-satisfied.json")["stdout_json"])
    assert nothing == {"link": [], "unlink": [], "pip": []}
    dry = _conda.parse_actions(transcript("09-install-dry-run.json")["stdout_json"])
    assert [(p["name"], p["version"]) for p in dry["link"]] == [("pandas", "2.2.2")]


@pytest.mark.parametrize("url, name", [
    ("file:///srv/conda-channel/linux-64", "conda-channel"),
    ("https://conda.anaconda.org/conda-forge/noarch", "conda-forge"),
    ("https://repo.anaconda.com/pkgs/main/linux-64", "pkgs/main"),
    ("http://127.0.0.1:8000/conda-forge", "conda-forge"),
    ("http://127.0.0.1:8000/t/SECRET/conda-forge/linux-64", "conda-forge"),
    ("conda-forge", "conda-forge"),
])
def test_channel_name(url, name):
    assert _conda.channel_name(url) == name


class FakeModule:
    def __init__(self, answer):
        self.answer = answer
        self.calls = []

    def run_command(self, argv, **kwargs):
        self.calls.append((argv, kwargs))
        return self.answer


def test_runner_argv_environment_and_success():
    case = transcript("10-install-success.json")
    module = FakeModule((0, stdout_of(case), ""))
    runner = _conda.CondaRunner(module, "/opt/conda/bin/conda", environ={"CONDA_OVERRIDE_CUDA": "12.4"})
    payload = runner.json(["install", "-p", "/e", "pandas=2.2"])
    assert payload["success"] is True
    argv, kwargs = module.calls[0]
    assert argv == ["/opt/conda/bin/conda", "install", "-p", "/e", "pandas=2.2", "--yes", "--json", "--quiet"]
    env = kwargs["environ_update"]
    assert env["LC_ALL"] == "C" and env["CONDA_OVERRIDE_CUDA"] == "12.4" and env["CONDA_AUTO_UPDATE_CONDA"] == "false"
    assert kwargs["expand_user_and_vars"] is False
    assert runner.argv(["install", "-p", "/e", "x"], dry_run=True)[-3:] == ["--dry-run", "--json", "--quiet"]
    assert "--yes" not in runner.argv(["env", "update", "-f", "f.yml"])


def test_runner_raises_with_exception_name():
    case = transcript("05-create-packages-not-found.json")
    runner = _conda.CondaRunner(FakeModule((1, stdout_of(case), "")), "conda")
    with pytest.raises(_conda.CondaError) as err:
        runner.json(["create", "-p", "/e", "no-such-package"])
    result = err.value.result()
    assert result["exception_name"] == "PackagesNotFoundInChannelsError"
    assert result["rc"] == 1 and result["cmd"][:2] == ["conda", "create"]
    assert "no-such-package" in result["msg"]


def test_runner_rc0_without_json_is_an_error():
    runner = _conda.CondaRunner(FakeModule((0, "garbage", "")), "conda")
    with pytest.raises(_conda.CondaError, match="InvalidOutput"):
        runner.json(["install", "-p", "/e", "x"])


def test_read_history_specs_follows_update_and_remove(tmp_path):
    with open(os.path.join(DATA, "files-vision-history.txt"), encoding="utf-8") as handle:
        history = handle.read()
    env = make_env(tmp_path / "vision", history=history)
    assert _conda.read_history_specs(str(env)) == {"python": "python=3.11", "numpy": "numpy", "opencv": "opencv"}
    assert _conda.read_history_specs(str(env), ["numpy", "python"]) == {"python": "python=3.11", "numpy": "numpy"}
    assert _conda.history_revision(str(env)) == 2
    assert _conda.read_history_specs(str(tmp_path / "nothing")) == {}


def test_read_history_specs_old_formats(tmp_path):
    env = make_env(tmp_path / "old", history=(
        "==> 2017-01-01 00:00:00 <==\n# install specs: numpy 1.11*, scipy\n"
        "==> 2017-01-02 00:00:00 <==\n# update specs: [\"conda-forge::numpy >=1.12\"]\n# neutered specs: ['scipy']\n"))
    assert _conda.read_history_specs(str(env)) == {"numpy": "conda-forge::numpy >=1.12", "scipy": "scipy"}


def test_environments_from_disk(tmp_path, monkeypatch):
    base = make_env(tmp_path / "conda", history="==> 2026 <==\n# cmd: x\n")
    make_env(base / "envs" / "vision")
    (base / "envs" / "not-an-env").mkdir()
    mine = make_env(tmp_path / "srv" / "e3", history="# cmd: %s/bin/conda create -p /srv/e3\n" % base)
    other = make_env(tmp_path / "other" / "e4", history="# cmd: /elsewhere/bin/conda create -p x\n")
    home = tmp_path / "home"
    (home / ".conda").mkdir(parents=True)
    (home / ".conda" / "environments.txt").write_text("%s\n%s\n%s\n/gone\n" % (base, mine, other))
    envs = _conda.environments(str(base), home=str(home))
    assert envs == [
        {"name": "base", "prefix": str(base), "base": True},
        {"name": "vision", "prefix": str(base / "envs" / "vision"), "base": False},
        {"name": "", "prefix": str(mine), "base": False},
    ]


def test_pip_dists_skips_conda_installed(tmp_path):
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    for dist, installer in (("condafleet_hello-1.0", "pip"), ("pip-24.0", "conda"), ("TinyJSON-0.1", None)):
        info = site / (dist + ".dist-info")
        info.mkdir(parents=True)
        if installer:
            (info / "INSTALLER").write_text(installer + "\n")
    assert _conda.pip_dists(str(tmp_path)) == {"condafleet-hello": "1.0", "tinyjson": "0.1"}


def test_installation_lock_serializes(tmp_path):
    base = make_env(tmp_path / "conda")
    with _conda.InstallationLock(str(base), timeout=5):
        with pytest.raises(_conda.LockTimeout):
            with _conda.InstallationLock(str(base), timeout=0.3):
                pass
    with _conda.InstallationLock(str(base), timeout=0.3):
        pass
    assert (base / "conda-meta" / ".condafleet.lock").exists()


def test_meta_fingerprint_sees_changes(tmp_path):
    env = make_env(tmp_path / "e", records=[{"name": "a", "version": "1", "build": "0"}])
    before = _conda.meta_fingerprint(str(env))
    assert _conda.meta_fingerprint(str(env)) == before
    (env / "conda-meta" / "b-1-0.json").write_text("{}")
    assert _conda.meta_fingerprint(str(env)) != before


def test_package_records_parses_only_what_is_asked(tmp_path):
    env = make_env(tmp_path / "e", records=[
        {"name": "numpy", "version": "2.1.0", "build": "py311_0", "depends": ["python"]},
        {"name": "scikit-learn", "version": "1.3.2", "build": "py311_0", "depends": ["numpy"]},
    ])
    (env / "conda-meta" / "broken-1-0.json").write_text("{")
    quick = _conda.package_records(str(env), ["numpy"])
    assert quick == [{"name": "broken", "version": "1", "build": "0"},
                     {"name": "numpy", "version": "2.1.0", "build": "py311_0", "depends": ["python"]},
                     {"name": "scikit-learn", "version": "1.3.2", "build": "py311_0"}]
    assert [r["name"] for r in _conda.package_records(str(env))] == ["numpy", "scikit-learn"]
