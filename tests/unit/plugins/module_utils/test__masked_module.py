# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""MaskedModule: results, invocation, warnings, tracebacks and host logs pass the masking rule; short no_log values
are left to the pattern rule instead of Ansible's literal replacement."""
from __future__ import annotations

import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common import warnings as common_warnings
from core_compat import module_utils_internal, no_warnings, patch_module_args

from ansible_collections.condafleet.conda.plugins.module_utils._masked_module import MaskedModule, hide_no_log

SPEC = dict(
    channels=dict(type="list", elements="str", default=[]),
    password=dict(type="str", no_log=True),
    mirror=dict(type="dict", options=dict(url=dict(type="str"), token=dict(type="str", no_log=True))),
)
ARGS = {"channels": ["https://u:pa'ss@h.example.com/c"], "password": "x",
        "mirror": {"url": "https://m.example.com/t/tk-1/c", "token": "tk-1"}}


def test_hide_no_log_replaces_no_log_options_and_suboptions():
    assert hide_no_log(dict(ARGS, password=None), SPEC) == {
        "channels": ARGS["channels"], "password": None,
        "mirror": {"url": ARGS["mirror"]["url"], "token": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}}


@pytest.fixture
def module_run(monkeypatch, capsys):
    logged = []
    monkeypatch.setattr(basic.AnsibleModule, "log", lambda self, msg, log_args=None: logged.append((msg, log_args)))
    # a module process: warnings go to its result (controller code imported by other tests flips this), one run each
    monkeypatch.setattr(module_utils_internal, "is_controller", False)
    monkeypatch.setattr(common_warnings, "_global_warnings", no_warnings(), raising=False)

    def run(body):
        with patch_module_args(dict(ARGS)):
            module = MaskedModule(argument_spec=SPEC)
            with pytest.raises(SystemExit):
                body(module)
        return json.loads(capsys.readouterr().out), logged
    return run


def test_a_failure_its_warnings_and_its_invocation_are_masked(module_run):
    def body(module):
        module.warn("conda warned about https://u:pa'ss@h.example.com/c")
        module.log("ran https://u:pa'ss@h.example.com/c", {"cmd": "conda -c https://u:pa'ss@h.example.com/c"})
        try:
            raise ValueError("HTTPError for url http://u:pa'ss@h.example.com/c")
        except ValueError:
            module.fail_json(msg="conda failed for https://u:pa'ss@h.example.com/c", cmd=["conda", "-c", ARGS["channels"][0]],
                             stdout='{"url": "https://m.example.com/t/tk-1/c/repodata.json"}')

    result, logged = module_run(body)
    masked = "https://u:********@h.example.com/c"
    assert result["msg"] == "conda failed for " + masked and result["cmd"] == ["conda", "-c", masked]
    assert result["stdout"] == '{"url": "https://m.example.com/t/********/c/repodata.json"}'
    assert "conda warned about " + masked in json.dumps(result["warnings"])
    assert result["invocation"]["module_args"] == {
        "channels": [masked], "password": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER",
        "mirror": {"url": "https://m.example.com/t/********/c", "token": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}}
    assert "pa'ss" not in json.dumps(result) and "tk-1" not in json.dumps(result)
    assert logged and "pa'ss" not in json.dumps(logged) and "tk-1" not in json.dumps(logged)


def test_a_one_character_no_log_value_hides_only_itself(module_run):
    result, _logged = module_run(lambda module: module.exit_json(changed=False, path="/opt/xz/x.txt", note="x marks"))
    assert result["path"] == "/opt/xz/x.txt" and result["note"] == "x marks"
    assert result["invocation"]["module_args"]["password"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def test_the_traceback_of_a_failure_is_masked(module_run, monkeypatch):
    traceback_module = pytest.importorskip("ansible.module_utils._internal._traceback")  # ansible-core 2.19+
    monkeypatch.setattr(traceback_module, "_is_traceback_enabled", lambda event: True)

    def body(module):
        try:
            raise ValueError("HTTPError for url http://u:pa'ss@h.example.com/c")
        except ValueError:
            module.fail_json(msg="failed")

    result, _logged = module_run(body)
    assert "HTTPError for url http://u:********@h.example.com/c" in result["exception"]
    assert "pa'ss" not in json.dumps(result)
