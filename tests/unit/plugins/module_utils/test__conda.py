# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""_conda: the runner's argv and environment, JSON and error parsing on what the real conda 26.7.1 and
25.3.1 printed (tests/world/record.py), history, envs, lock."""
from __future__ import annotations

import json
import os
import re

import pytest

from ansible_collections.condafleet.conda.plugins.module_utils import _conda, _envspec

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "data", "conda")
#: the conda versions recorded by tests/world/record.py (copies in tests/unit/data/conda/<version>/)
VERSIONS = ("26.7.1", "25.3.1")
NEW, OLD = VERSIONS


def path(version, name):
    return os.path.join(DATA, version, name)


def transcript(version, name):
    """One recorded run of the real conda ``version``: ``{"argv", "env", "rc", "stdout", "stderr", "stdout_json"}``."""
    with open(path(version, name + ".json"), encoding="utf-8") as handle:
        return json.load(handle)


def recorded_file(version, name):
    with open(path(version, name), encoding="utf-8") as handle:
        return handle.read()


def stdout_of(case):
    return case["stdout"] if case["stdout"] is not None else json.dumps(case["stdout_json"], indent=1) + "\n"


def make_env(path, records=(), history=""):
    meta = path / "conda-meta"
    meta.mkdir(parents=True)
    (meta / "history").write_text(history)
    for rec in records:
        (meta / ("%s-%s-%s.json" % (rec["name"], rec["version"], rec["build"]))).write_text(json.dumps(rec))
    return path


both = pytest.mark.parametrize("version", VERSIONS)


def test_recordings_are_there():
    for version in VERSIONS:
        assert transcript(version, "01-version")["stdout"] == "conda %s\n" % version


def test_parse_json_output_takes_last_document_after_progress_chunks():
    out = '{"fetch": "x", "finished": false}\n\0{"fetch": "x", "finished": true}\n\0{"success": true}\n'
    assert _conda.parse_json_output(out) == {"success": True}
    assert _conda.parse_json_output("") is None
    assert _conda.parse_json_output("not json") is None


@pytest.mark.parametrize("version, name, exception, words", [
    (NEW, "05-create-packages-not-found", "PackagesNotFoundInChannelsError", "no-such-package"),
    (OLD, "05-create-packages-not-found", "PackagesNotFoundError", "no-such-package"),
    (NEW, "06-create-unsatisfiable", "RattlerUnsatisfiableError", "Cannot solve the request"),
    (OLD, "06-create-unsatisfiable", "UnsatisfiableError", "found to be incompatible"),
    (NEW, "11-install-missing-env", "EnvironmentLocationNotFound", "Not a conda environment"),
    (OLD, "11-install-missing-env", "EnvironmentLocationNotFound", "Not a conda environment"),
    (NEW, "19-remove-not-installed", "PackagesNotFoundInPrefixError", "scikit-learn"),
    (OLD, "19-remove-not-installed", "PackagesNotFoundError", "scikit-learn"),
    (NEW, "20-gpu-no-driver", "RattlerUnsatisfiableError", "__cuda"),
    (OLD, "20-gpu-no-driver", "UnsatisfiableError", "pytorch-cuda"),  # classic: no __cuda to name
    (NEW, "22-gpu-driver-11.4-too-old", "RattlerUnsatisfiableError", "__cuda"),
    (OLD, "22-gpu-driver-11.4-too-old", "UnsatisfiableError", "__cuda"),
    (NEW, "45-create-name-with-space", "CondaValueError", "Environment names cannot contain"),
    (NEW, "46-create-name-with-hash", "CondaValueError", "Environment names cannot contain"),
])
def test_parse_error_reads_conda_error_json(version, name, exception, words):
    case = transcript(version, name)
    assert case["rc"] == 1
    info = _conda.parse_error(case["rc"], stdout_of(case), case["stderr"])
    assert info["exception_name"] == exception
    assert words in info["message"]
    text = _conda.describe_error(info)
    assert exception in text and words.split()[0] in text


@both
def test_describe_error_says_what_happened_in_plain_words(version):
    for name in ("06-create-unsatisfiable", "20-gpu-no-driver"):
        case = transcript(version, name)
        assert "cannot be installed together" in _conda.describe_error(_conda.parse_error(1, stdout_of(case), ""))
    case = transcript(version, "05-create-packages-not-found")
    assert "does not exist in the configured channels" in _conda.describe_error(
        _conda.parse_error(1, stdout_of(case), ""))


@pytest.mark.parametrize("version, name, key", [
    (NEW, "35-config-bad-key", "no_such_key"),
    (OLD, "35-config-bad-key", "no_such_key"),
    (OLD, "28-config-set-auto-activate", "auto_activate"),  # 25.3.1 knows only auto_activate_base
])
def test_parse_error_plain_text_on_stderr(version, name, key):
    case = transcript(version, name)
    assert case["rc"] == 1 and case["stdout"] == ""
    info = _conda.parse_error(case["rc"], case["stdout"], case["stderr"])
    assert info["exception_name"] == "CondaKeyError"
    assert key in info["message"]


def test_parse_error_argparse_error():
    assert _conda.parse_error(2, "", "usage: conda\nconda: error: unrecognized arguments: --bogus")[
        "exception_name"] == "ArgumentError"


@both
def test_parse_error_invalid_spec_traceback(version):
    """An invalid version spec makes conda crash while printing its JSON error: rc 1, nothing
    on stdout and a chained traceback on stderr whose LAST line is a TypeError about
    serialising the real error. The error to report is the one that names the spec."""
    case = transcript(version, "49-create-invalid-spec")
    assert case["rc"] == 1 and case["stdout"] == ""
    assert case["stderr"].rstrip().endswith("TypeError: Object of type InvalidVersionSpec is not JSON serializable")
    info = _conda.parse_error(case["rc"], case["stdout"], case["stderr"])
    assert info["exception_name"] == "InvalidMatchSpec"
    assert "Invalid spec 'numpy>>=1'" in info["message"]
    assert "numpy>>=1" in _conda.describe_error(info)


@both
def test_parse_actions_link_unlink(version):
    created = _conda.parse_actions(transcript(version, "04-create-success")["stdout_json"])
    assert [p["name"] for p in created["link"]] == ["python", "numpy", "pip", "opencv"]
    assert created["link"][1] == {"name": "numpy", "version": "2.1.0", "build": "py311_0", "channel": "conda-forge"}
    assert created["unlink"] == []
    removed = _conda.parse_actions(transcript(version, "18-remove-package")["stdout_json"])
    assert [p["name"] for p in removed["unlink"]] == ["pandas"] and removed["link"] == []
    nothing = _conda.parse_actions(transcript(version, "08-install-already-satisfied")["stdout_json"])
    assert nothing == {"link": [], "unlink": [], "pip": []}
    dry = _conda.parse_actions(transcript(version, "09-install-dry-run")["stdout_json"])
    assert [(p["name"], p["version"]) for p in dry["link"]] == [("pandas", "2.2.2")]


@both
def test_parse_actions_more_transactions(version):
    gpu = _conda.parse_actions(transcript(version, "21-gpu-driver-12.2-dry-run")["stdout_json"])
    torch = [p for p in gpu["link"] if p["name"] == "pytorch"]
    assert torch == [{"name": "pytorch", "version": "2.1.0", "build": "py3.11_cuda12.1_cudnn8_0",
                      "channel": "conda-forge"}]
    assert {p["name"] for p in gpu["link"]} >= {"cuda-version", "pytorch-cuda", "pytorch-mutex", "python"}
    empty = _conda.parse_actions(transcript(version, "39-create-empty")["stdout_json"])
    assert empty == {"link": [], "unlink": [], "pip": []}
    gone = _conda.parse_actions(transcript(version, "42-remove-all")["stdout_json"])
    assert sorted(p["name"] for p in gone["unlink"]) == ["numpy", "opencv", "pandas", "pip", "python"]
    assert gone["link"] == []
    moved = _conda.parse_actions(transcript(version, "44-install-update-specs")["stdout_json"])
    assert sorted((p["name"], p["build"]) for p in moved["link"]) == [
        ("numpy", "py312_0"), ("pandas", "py312_0"), ("pip", "py312_0"), ("python", "h0_0_cpython")]
    assert sorted(p["name"] for p in moved["unlink"]) == ["numpy", "pandas", "pip", "python"]
    star = _conda.parse_actions(transcript(version, "47-create-spec-version-star")["stdout_json"])
    assert [(p["name"], p["version"]) for p in star["link"] if p["name"] == "python"] == [("python", "3.11.9")]
    either = _conda.parse_actions(transcript(version, "48-create-spec-version-or")["stdout_json"])
    assert [(p["name"], p["version"]) for p in either["link"] if p["name"] == "numpy"] == [("numpy", "1.26.4")]


@both
def test_package_of_conda_meta_record(version):
    record = json.loads(recorded_file(version, "files-vision-conda-meta-numpy.json"))
    assert _conda.package_of(record) == {"name": "numpy", "version": "2.1.0", "build": "py311_0",
                                         "channel": "conda-forge"}
    listed = transcript(version, "14-list")["stdout_json"]
    assert [_conda.package_of(entry) for entry in listed if entry["name"] == "numpy"] == [_conda.package_of(record)]


@pytest.mark.parametrize("url, name", [
    ("file:///srv/conda-channel/linux-64", "conda-channel"),
    ("https://conda.anaconda.org/conda-forge/noarch", "conda-forge"),
    ("https://repo.anaconda.com/pkgs/main/linux-64", "pkgs/main"),
    ("http://127.0.0.1:8000/conda-forge", "conda-forge"),
    ("http://127.0.0.1:8731/conda-forge/linux-64", "conda-forge"),
    ("http://127.0.0.1:8000/t/SECRET/conda-forge/linux-64", "conda-forge"),
    ("conda-forge", "conda-forge"),
    ("defaults", "defaults"),
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


@both
def test_runner_argv_environment_and_success(version):
    case = transcript(version, "10-install-success")
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


@both
def test_runner_success_with_warnings_on_stderr(version):
    """conda 25.3.1's ``env update`` prints a FutureWarning on stderr next to its JSON answer."""
    case = transcript(version, "24-env-update-prune")
    assert case["rc"] == 0
    runner = _conda.CondaRunner(FakeModule((0, stdout_of(case), case["stderr"])), "conda")
    payload = runner.json(["env", "update", "-p", "/e", "--prune", "-f", "environment.yml"])
    assert payload["success"] is True
    assert [p["name"] for p in _conda.parse_actions(payload)["unlink"]] == ["numpy"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name, args", [
    ("36-create-lock-file", ["create", "-n", "locked", "--file", "vision.lock"]),
    ("37-install-lock-file", ["install", "-n", "locked", "--file", "vision.lock"]),
    ("41-remove-all-empty", ["remove", "-n", "empty", "--all"]),
])
def test_runner_rc0_and_no_output_is_success(version, name, args):
    """Real conda answers an @EXPLICIT ``create/install --file LOCK --json`` and ``remove --all
    --json`` of an empty environment with rc 0 and NOTHING on stdout: that is success."""
    case = transcript(version, name)
    assert case["rc"] == 0 and case["stdout"] == "" and case["stderr"] == ""
    runner = _conda.CondaRunner(FakeModule((case["rc"], case["stdout"], case["stderr"])), "conda")
    payload = runner.json(args)
    assert not payload
    assert _conda.parse_actions(payload) == {"link": [], "unlink": [], "pip": []}
    rc, parsed, out, err = runner.run(args)
    assert (rc, parsed, out, err) == (0, None, "", "")


@pytest.mark.parametrize("version, name", [
    (NEW, "05-create-packages-not-found"),
    (OLD, "05-create-packages-not-found"),
])
def test_runner_raises_with_exception_name(version, name):
    case = transcript(version, name)
    runner = _conda.CondaRunner(FakeModule((1, stdout_of(case), "")), "conda")
    with pytest.raises(_conda.CondaError) as err:
        runner.json(["create", "-p", "/e", "no-such-package"])
    result = err.value.result()
    assert result["exception_name"] == case["stdout_json"]["exception_name"]
    assert result["rc"] == 1 and result["cmd"][:2] == ["conda", "create"]
    assert "no-such-package" in result["msg"]


def test_runner_error_json_then_abort_at_exit():
    """conda 26.7.1 (py-rattler) sometimes aborts at interpreter exit after printing its
    unsatisfiable error (seen while recording: rc -6, SIGABRT; the JSON on stdout is whole)."""
    case = transcript(NEW, "22-gpu-driver-11.4-too-old")
    stderr = ("Fatal Python error: PyGILState_Release: thread state 0x7fe83405a710 must be current when releasing\n"
              "Python runtime state: finalizing (tstate=0x0000000000a840f8)\n")
    runner = _conda.CondaRunner(FakeModule((-6, stdout_of(case), stderr)), "conda")
    with pytest.raises(_conda.CondaError) as err:
        runner.json(["create", "-p", "/e", "--dry-run", "pytorch-cuda=12.1"])
    assert err.value.result()["exception_name"] == "RattlerUnsatisfiableError"
    assert "__cuda" in err.value.result()["msg"]


def test_runner_rc1_and_no_output_is_an_error():
    """conda 25.3.1 rejects ``-n 'my env'`` / ``-n 'a#b'`` with --json by exiting 1 and printing nothing."""
    for name in ("45-create-name-with-space", "46-create-name-with-hash"):
        case = transcript(OLD, name)
        assert (case["rc"], case["stdout"], case["stderr"]) == (1, "", "")
        runner = _conda.CondaRunner(FakeModule((1, "", "")), "conda")
        with pytest.raises(_conda.CondaError) as err:
            runner.json(case["argv"][1:])
        assert err.value.result()["rc"] == 1


def test_runner_rc0_without_json_is_an_error():
    runner = _conda.CondaRunner(FakeModule((0, "garbage", "")), "conda")
    with pytest.raises(_conda.CondaError, match="InvalidOutput"):
        runner.json(["install", "-p", "/e", "x"])


@both
def test_read_history_specs_follows_update_and_remove(version, tmp_path):
    env = make_env(tmp_path / "vision", history=recorded_file(version, "files-vision-history.txt"))
    assert _conda.read_history_specs(str(env)) == {"python": "python=3.11", "numpy": "numpy", "opencv": "opencv"}
    assert _conda.read_history_specs(str(env), ["numpy", "python"]) == {"python": "python=3.11", "numpy": "numpy"}
    assert _conda.history_revision(str(env)) == 2
    assert _conda.read_history_specs(str(tmp_path / "nothing")) == {}


@pytest.mark.parametrize("version, python", [
    # conda's History.get_requested_specs_map(): neutered specs override the update specs of
    # the same request; conda-rattler-solver (26.7.1) also neuters the requested python.
    (NEW, "python==3.12.4"),
    (OLD, "python=3.12"),
])
def test_read_history_specs_neutered(version, python, tmp_path):
    history = recorded_file(version, "files-neuter-history.txt")
    assert "# neutered specs: " in history
    env = make_env(tmp_path / "neuter", history=history)
    assert _conda.read_history_specs(str(env)) == {"python": python, "pandas": "pandas==2.2.2"}
    assert _conda.history_revision(str(env)) == 1


@both
def test_read_history_specs_of_lock_file_env(version, tmp_path):
    env = make_env(tmp_path / "locked", history=recorded_file(version, "files-locked-history.txt"))
    specs = _conda.read_history_specs(str(env))
    assert sorted(specs) == ["numpy", "opencv", "pandas", "pip", "python"]
    assert all(spec.startswith("defaults/linux-64::%s==" % name) for name, spec in specs.items())
    assert _conda.history_revision(str(env)) == 1  # the install --file of 37 adds a revision without specs


@both
def test_read_history_specs_of_empty_env(version, tmp_path):
    env = make_env(tmp_path / "empty", history=recorded_file(version, "files-empty-history.txt"))
    assert _conda.read_history_specs(str(env)) == {}
    assert _conda.history_revision(str(env)) == 0


@both
def test_explicit_lock_from_list_explicit_sha256(version):
    """``conda list --explicit --sha256`` writes the bare sha256 after ``#``."""
    lock = transcript(version, "15-list-explicit")["stdout"]
    assert lock == recorded_file(version, "input-vision.lock")
    entries = _envspec.parse_explicit(lock)
    listed = dict((p["name"], p) for p in transcript(version, "14-list")["stdout_json"])
    assert sorted(e["name"] for e in entries) == sorted(listed)
    for entry in entries:
        assert (entry["version"], entry["build"]) == (listed[entry["name"]]["version"],
                                                      listed[entry["name"]]["build_string"])
        assert len(entry["sha256"]) == 64 and "md5" not in entry
    assert _envspec.is_explicit(lock)


@both
def test_env_name_rule_matches_conda(version):
    assert transcript(version, "45-create-name-with-space")["rc"] == 1
    assert transcript(version, "46-create-name-with-hash")["rc"] == 1
    assert _envspec.env_name_error("my env") and _envspec.env_name_error("a#b")
    assert transcript(version, "04-create-success")["rc"] == 0 and _envspec.env_name_error("vision") is None


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


def test_pip_dists_counts_only_what_pip_installed_and_site_dists_counts_everything(tmp_path):
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    for dist, installer in (("condafleet_hello-1.0", "pip"), ("pip-24.0", "conda"), ("TinyJSON-0.1", None)):
        info = site / (dist + ".dist-info")
        info.mkdir(parents=True)
        if installer:
            (info / "INSTALLER").write_text(installer + "\n")
    (site / "Old_Thing-2.3-py3.11.egg-info").write_text("Metadata-Version: 1.0\n")
    # a dist-info without INSTALLER is not pip's: conda packages ship them so
    assert _conda.pip_dists(str(tmp_path)) == {"condafleet-hello": "1.0"}
    assert _conda.dist_versions(str(tmp_path)) == {"condafleet-hello": "1.0", "pip": "24.0", "tinyjson": "0.1",
                                                   "old-thing": "2.3"}
    assert _conda.site_dists(str(tmp_path))["pip"] == {"version": "24.0", "installer": "conda"}


def _record(meta, name, version, build):
    meta.mkdir(parents=True, exist_ok=True)
    (meta / ("%s-%s-%s.json" % (name, version, build))).write_text(
        json.dumps({"name": name, "version": version, "build": build, "files": []}))


def test_environment_state_needs_positive_evidence(tmp_path):
    assert _conda.environment_state(str(tmp_path / "none"))["state"] == "absent"
    (tmp_path / "empty").mkdir()
    assert _conda.environment_state(str(tmp_path / "empty"))["state"] == "absent"
    # records without history: a create killed half-way
    _record(tmp_path / "killed" / "conda-meta", "python", "3.11.9", "h0_0_cpython")
    killed = _conda.environment_state(str(tmp_path / "killed"))
    assert killed["state"] == "incomplete" and killed["records"] == 1 and killed["marker"] is None
    assert "no conda-meta/history" in killed["found"]
    # this collection's marker, even before conda wrote anything
    _conda.write_create_marker(str(tmp_path / "started"), "/opt/conda")
    started = _conda.environment_state(str(tmp_path / "started"))
    assert started["state"] == "incomplete" and started["marker"] == "/opt/conda"
    _conda.remove_create_marker(str(tmp_path / "started"))
    assert _conda.environment_state(str(tmp_path / "started"))["state"] == "absent"  # the empty directory it was
    # an empty conda-meta beside user files, or a .json that is not a record: not an environment
    user = tmp_path / "user"
    (user / "conda-meta").mkdir(parents=True)
    (user / "conda-meta" / "notes-1-2.json").write_text('{"name": "other"}')
    (user / "thesis.tex").write_text("x")
    found = _conda.environment_state(str(user))
    assert found["state"] == "foreign" and "thesis.tex" in found["found"]
    (tmp_path / "file").write_text("x")
    assert _conda.environment_state(str(tmp_path / "file"))["state"] == "foreign"
    env = make_env(tmp_path / "env")
    assert _conda.environment_state(str(env))["state"] == "environment"


def test_incomplete_environments_of_an_installation(tmp_path):
    base = make_env(tmp_path / "conda")
    _record(base / "envs" / "half" / "conda-meta", "python", "3.11.9", "h0_0_cpython")
    make_env(base / "envs" / "whole")
    (base / "envs" / "junk").mkdir()
    (base / "envs" / "junk" / "file").write_text("x")
    assert _conda.incomplete_environments(str(base)) == [str(base / "envs" / "half")]


@pytest.mark.parametrize("value, expected", [("0022", 0o022), ("027", 0o027), ("0002", 0o002)])
def test_parse_umask(value, expected):
    assert _conda.parse_umask(value) == expected


@pytest.mark.parametrize("value", ["22", "0o22", "0088", "", None, "00022"])
def test_parse_umask_names_the_bad_value(value):
    with pytest.raises(ValueError, match="umask must be an octal string such as '0022', got %s" % re.escape(repr(value))):
        _conda.parse_umask(value)


def test_read_text_file_names_a_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "environment.yml"
    path.write_bytes(b"dependencies:\n  - caf\xe9\n")
    with pytest.raises(ValueError, match=r"cannot read spec_file .*environment.yml: it is not UTF-8 text \(byte 0xe9 at offset 21\)"):
        _conda.read_text_file(str(path), "spec_file")
    with pytest.raises(ValueError, match="cannot read spec_file .*missing"):
        _conda.read_text_file(str(tmp_path / "missing"), "spec_file")


def test_installation_lock_serializes(tmp_path):
    base = make_env(tmp_path / "conda")
    with _conda.InstallationLock(str(base), timeout=5):
        with pytest.raises(_conda.LockTimeout):
            with _conda.InstallationLock(str(base), timeout=0.3):
                pass
    with _conda.InstallationLock(str(base), timeout=0.3):
        pass
    assert not (base / "conda-meta" / ".condafleet.lock").exists()  # the directory itself is locked


def test_installation_lock_needs_no_write_access(tmp_path):
    """A user who can only read the base (root's shared install) still takes the lock: it is a read-only
    open of conda-meta, so nothing is created there."""
    base = make_env(tmp_path / "conda")
    meta = base / "conda-meta"
    meta.chmod(0o555)
    try:
        with _conda.InstallationLock(str(base), timeout=1):
            pass
    finally:
        meta.chmod(0o755)


def test_installation_error_names_what_is_there(tmp_path):
    assert "nothing is there" in _conda.installation_error(str(tmp_path / "nope"))
    env = make_env(tmp_path / "env")  # conda-meta/history, no bin/conda
    msg = _conda.installation_error(str(env))
    assert str(env) in msg and "conda environment" in msg and "/opt/miniforge3" in msg


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


class _Module:
    def __init__(self, rc, out, err=""):
        self.answer = (rc, out, err)
        self.warnings = []

    def run_command(self, argv, **kwargs):
        return self.answer

    def warn(self, msg):
        self.warnings.append(msg)


@pytest.mark.parametrize("rc", [-11, -6, 139, 134])
def test_a_crash_after_a_complete_success_answer_keeps_the_answer(rc):
    """conda printed its whole JSON answer, then died of a signal at interpreter exit."""
    out = json.dumps({"success": True, "actions": {"LINK": [{"name": "numpy", "version": "2.1.0", "build": "py311_0",
                                                             "channel": "conda-forge"}]}})
    module = _Module(rc, out, "Fatal Python error: PyGILState_Release\n")
    runner = _conda.CondaRunner(module, "/opt/conda/bin/conda")
    answer = runner.json(["install", "-p", "/opt/conda/envs/x", "numpy"])
    assert _conda.parse_actions(answer)["link"][0]["name"] == "numpy"
    assert len(module.warnings) == 1 and "after it reported success" in module.warnings[0]


@pytest.mark.parametrize("rc, out", [
    (-11, ""),                                                       # died before answering
    (-11, '{"success": true, "actions": {"LI'),                     # died while answering
    (1, json.dumps({"success": True})),                              # a plain failure exit stays a failure
    (-6, json.dumps({"exception_name": "RattlerUnsatisfiableError", "message": "nope"})),
])
def test_a_crash_without_a_complete_success_answer_is_a_failure(rc, out):
    runner = _conda.CondaRunner(_Module(rc, out), "/opt/conda/bin/conda")
    with pytest.raises(_conda.CondaError):
        runner.json(["install", "-p", "/opt/conda/envs/x", "numpy"])


def test_spec_files_are_utf8_or_utf16_with_its_byte_order_mark():
    text = "name: x\ndependencies:\n  - python\n"
    assert _conda.decode_text(text.encode("utf-16")) == text
    assert _conda.decode_text(text.encode("utf-8")) == text
    # conda would read these bytes as UTF-16 (any even length decodes): unrelated characters, not the file
    latin1 = "dependencies:\n  - cafés\n".encode("latin-1")
    assert len(latin1) % 2 == 0
    with pytest.raises(UnicodeDecodeError):
        _conda.decode_text(latin1)


def test_read_text_file_names_a_broken_utf16_file(tmp_path):
    path = tmp_path / "environment.yml"
    path.write_bytes(b"\xff\xfe" + "name: x\n".encode("utf-16-le") + b"\x00")
    with pytest.raises(ValueError, match=r"environment.yml: it starts as UTF-16 text but is not"):
        _conda.read_text_file(str(path), "spec_file")
