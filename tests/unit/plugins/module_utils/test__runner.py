# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""_runner: the runner's argv and environment, JSON and error parsing on what the real conda 26.7.1
and 25.3.1 printed (tests/world/record.py)."""
from __future__ import annotations

import json

import pytest

from ansible_collections.condafleet.conda.plugins.module_utils import _runner

from recordings import NEW, OLD, VERSIONS, both, recorded_file, stdout_of, transcript


def test_recordings_are_there():
    for version in VERSIONS:
        assert transcript(version, "01-version")["stdout"] == "conda %s\n" % version


def test_parse_json_output_takes_last_document_after_progress_chunks():
    out = '{"fetch": "x", "finished": false}\n\0{"fetch": "x", "finished": true}\n\0{"success": true}\n'
    assert _runner.parse_json_output(out) == {"success": True}
    assert _runner.parse_json_output("") is None
    assert _runner.parse_json_output("not json") is None


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
    info = _runner.parse_error(case["rc"], stdout_of(case), case["stderr"])
    assert info["exception_name"] == exception
    assert words in info["message"]
    text = _runner.describe_error(info)
    assert exception in text and words.split()[0] in text


@both
def test_describe_error_says_what_happened_in_plain_words(version):
    for name in ("06-create-unsatisfiable", "20-gpu-no-driver"):
        case = transcript(version, name)
        assert "cannot be installed together" in _runner.describe_error(_runner.parse_error(1, stdout_of(case), ""))
    case = transcript(version, "05-create-packages-not-found")
    assert "does not exist in the configured channels" in _runner.describe_error(
        _runner.parse_error(1, stdout_of(case), ""))


@both
def test_a_missing_package_is_named_in_a_short_message(version):
    info = _runner.parse_error(1, stdout_of(transcript(version, "05-create-packages-not-found")), "")
    text = _runner.describe_error(info)
    assert "no-such-package (channels: " in text and "check the spelling" in text
    assert "anaconda.org" not in text and "\n" not in text  # conda's search tip stays in conda_message
    assert "anaconda.org" in info["message"]


def test_conda_error_result_carries_conda_output_only_when_verbose():
    error = _runner.CondaError("conda failed (X)", cmd=["conda"], rc=1, stdout='{"error": "X"}', stderr="trace",
                               info={"exception_name": "X", "message": "m"})
    short = error.result()
    assert short == {"msg": "conda failed (X)", "cmd": ["conda"], "rc": 1, "exception_name": "X", "conda_message": "m"}
    assert error.result(verbose=True) == dict(short, stdout='{"error": "X"}', stderr="trace")


@pytest.mark.parametrize("version, name, key", [
    (NEW, "35-config-bad-key", "no_such_key"),
    (OLD, "35-config-bad-key", "no_such_key"),
    (OLD, "28-config-set-auto-activate", "auto_activate"),  # 25.3.1 knows only auto_activate_base
])
def test_parse_error_plain_text_on_stderr(version, name, key):
    case = transcript(version, name)
    assert case["rc"] == 1 and case["stdout"] == ""
    info = _runner.parse_error(case["rc"], case["stdout"], case["stderr"])
    assert info["exception_name"] == "CondaKeyError"
    assert key in info["message"]


def test_parse_error_argparse_error():
    assert _runner.parse_error(2, "", "usage: conda\nconda: error: unrecognized arguments: --bogus")[
        "exception_name"] == "ArgumentError"


@both
def test_parse_error_invalid_spec_traceback(version):
    """An invalid version spec makes conda crash while printing its JSON error: rc 1, nothing
    on stdout and a chained traceback on stderr whose LAST line is a TypeError about
    serialising the real error. The error to report is the one that names the spec."""
    case = transcript(version, "49-create-invalid-spec")
    assert case["rc"] == 1 and case["stdout"] == ""
    assert case["stderr"].rstrip().endswith("TypeError: Object of type InvalidVersionSpec is not JSON serializable")
    info = _runner.parse_error(case["rc"], case["stdout"], case["stderr"])
    assert info["exception_name"] == "InvalidMatchSpec"
    assert "Invalid spec 'numpy>>=1'" in info["message"]
    assert "numpy>>=1" in _runner.describe_error(info)


@both
def test_parse_actions_link_unlink(version):
    created = _runner.parse_actions(transcript(version, "04-create-success")["stdout_json"])
    assert [p["name"] for p in created["link"]] == ["python", "numpy", "pip", "opencv"]
    assert created["link"][1] == {"name": "numpy", "version": "2.1.0", "build": "py311_0", "channel": "conda-forge"}
    assert created["unlink"] == []
    removed = _runner.parse_actions(transcript(version, "18-remove-package")["stdout_json"])
    assert [p["name"] for p in removed["unlink"]] == ["pandas"] and removed["link"] == []
    nothing = _runner.parse_actions(transcript(version, "08-install-already-satisfied")["stdout_json"])
    assert nothing == {"link": [], "unlink": [], "pip": []}
    dry = _runner.parse_actions(transcript(version, "09-install-dry-run")["stdout_json"])
    assert [(p["name"], p["version"]) for p in dry["link"]] == [("pandas", "2.2.2")]


@both
def test_parse_actions_more_transactions(version):
    gpu = _runner.parse_actions(transcript(version, "21-gpu-driver-12.2-dry-run")["stdout_json"])
    torch = [p for p in gpu["link"] if p["name"] == "pytorch"]
    assert torch == [{"name": "pytorch", "version": "2.1.0", "build": "py3.11_cuda12.1_cudnn8_0",
                      "channel": "conda-forge"}]
    assert {p["name"] for p in gpu["link"]} >= {"cuda-version", "pytorch-cuda", "pytorch-mutex", "python"}
    empty = _runner.parse_actions(transcript(version, "39-create-empty")["stdout_json"])
    assert empty == {"link": [], "unlink": [], "pip": []}
    gone = _runner.parse_actions(transcript(version, "42-remove-all")["stdout_json"])
    assert sorted(p["name"] for p in gone["unlink"]) == ["numpy", "opencv", "pandas", "pip", "python"]
    assert gone["link"] == []
    moved = _runner.parse_actions(transcript(version, "44-install-update-specs")["stdout_json"])
    assert sorted((p["name"], p["build"]) for p in moved["link"]) == [
        ("numpy", "py312_0"), ("pandas", "py312_0"), ("pip", "py312_0"), ("python", "h0_0_cpython")]
    assert sorted(p["name"] for p in moved["unlink"]) == ["numpy", "pandas", "pip", "python"]
    star = _runner.parse_actions(transcript(version, "47-create-spec-version-star")["stdout_json"])
    assert [(p["name"], p["version"]) for p in star["link"] if p["name"] == "python"] == [("python", "3.11.9")]
    either = _runner.parse_actions(transcript(version, "48-create-spec-version-or")["stdout_json"])
    assert [(p["name"], p["version"]) for p in either["link"] if p["name"] == "numpy"] == [("numpy", "1.26.4")]


@both
def test_package_of_conda_meta_record(version):
    record = json.loads(recorded_file(version, "files-vision-conda-meta-numpy.json"))
    assert _runner.package_of(record) == {"name": "numpy", "version": "2.1.0", "build": "py311_0",
                                          "channel": "conda-forge"}
    listed = transcript(version, "14-list")["stdout_json"]
    assert [_runner.package_of(entry) for entry in listed if entry["name"] == "numpy"] == [_runner.package_of(record)]


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
    assert _runner.channel_name(url) == name


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
    runner = _runner.CondaRunner(module, "/opt/conda/bin/conda", environ={"CONDA_OVERRIDE_CUDA": "12.4"})
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
    runner = _runner.CondaRunner(FakeModule((0, stdout_of(case), case["stderr"])), "conda")
    payload = runner.json(["env", "update", "-p", "/e", "--prune", "-f", "environment.yml"])
    assert payload["success"] is True
    assert [p["name"] for p in _runner.parse_actions(payload)["unlink"]] == ["numpy"]


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
    runner = _runner.CondaRunner(FakeModule((case["rc"], case["stdout"], case["stderr"])), "conda")
    payload = runner.json(args)
    assert not payload
    assert _runner.parse_actions(payload) == {"link": [], "unlink": [], "pip": []}
    rc, parsed, out, err = runner.run(args)
    assert (rc, parsed, out, err) == (0, None, "", "")


@pytest.mark.parametrize("version, name", [
    (NEW, "05-create-packages-not-found"),
    (OLD, "05-create-packages-not-found"),
])
def test_runner_raises_with_exception_name(version, name):
    case = transcript(version, name)
    runner = _runner.CondaRunner(FakeModule((1, stdout_of(case), "")), "conda")
    with pytest.raises(_runner.CondaError) as err:
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
    runner = _runner.CondaRunner(FakeModule((-6, stdout_of(case), stderr)), "conda")
    with pytest.raises(_runner.CondaError) as err:
        runner.json(["create", "-p", "/e", "--dry-run", "pytorch-cuda=12.1"])
    assert err.value.result()["exception_name"] == "RattlerUnsatisfiableError"
    assert "__cuda" in err.value.result()["msg"]


def test_runner_rc1_and_no_output_is_an_error():
    """conda 25.3.1 rejects ``-n 'my env'`` / ``-n 'a#b'`` with --json by exiting 1 and printing nothing."""
    for name in ("45-create-name-with-space", "46-create-name-with-hash"):
        case = transcript(OLD, name)
        assert (case["rc"], case["stdout"], case["stderr"]) == (1, "", "")
        runner = _runner.CondaRunner(FakeModule((1, "", "")), "conda")
        with pytest.raises(_runner.CondaError) as err:
            runner.json(case["argv"][1:])
        assert err.value.result()["rc"] == 1


def test_runner_rc0_without_json_is_an_error():
    runner = _runner.CondaRunner(FakeModule((0, "garbage", "")), "conda")
    with pytest.raises(_runner.CondaError, match="InvalidOutput"):
        runner.json(["install", "-p", "/e", "x"])


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
    runner = _runner.CondaRunner(module, "/opt/conda/bin/conda")
    answer = runner.json(["install", "-p", "/opt/conda/envs/x", "numpy"])
    assert _runner.parse_actions(answer)["link"][0]["name"] == "numpy"
    assert len(module.warnings) == 1 and "after it reported success" in module.warnings[0]


@pytest.mark.parametrize("rc, out", [
    (-11, ""),                                                       # died before answering
    (-11, '{"success": true, "actions": {"LI'),                     # died while answering
    (1, json.dumps({"success": True})),                              # a plain failure exit stays a failure
    (-6, json.dumps({"exception_name": "RattlerUnsatisfiableError", "message": "nope"})),
])
def test_a_crash_without_a_complete_success_answer_is_a_failure(rc, out):
    runner = _runner.CondaRunner(_Module(rc, out), "/opt/conda/bin/conda")
    with pytest.raises(_runner.CondaError):
        runner.json(["install", "-p", "/opt/conda/envs/x", "numpy"])
