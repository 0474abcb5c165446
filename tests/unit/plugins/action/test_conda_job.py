# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""conda_job's wait as decisions: when it polls, what it prints, what it returns and cleans up.

The host is a scripted sequence of async_status answers and the clock is a fake one, so the test
says exactly which polls happen at which second. tests/integration/test_role_env_async.py runs
the same plugin against real jobs on a real host.
"""
from __future__ import annotations

import pytest

from ansible.plugins.action import ActionBase
from ansible_collections.condafleet.conda.plugins.action import conda_job
from ansible_collections.condafleet.conda.plugins.action.conda_job import ActionModule, elapsed_text


@pytest.mark.parametrize("seconds, text", [(0, "0s"), (45, "45s"), (60, "1m 00s"), (725, "12m 05s"),
                                           (3729, "1h 02m 09s"), (59.9, "59s")])
def test_elapsed_text(seconds, text):
    assert elapsed_text(seconds) == text


class Clock:
    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def run(monkeypatch):
    """run(answers, **args) -> (result, status calls, printed lines, sleeps)."""
    clock = Clock()
    monkeypatch.setattr(conda_job.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(conda_job.time, "sleep", clock.sleep)
    printed = []
    monkeypatch.setattr(conda_job.display, "display", printed.append)
    monkeypatch.setattr(ActionBase, "run", lambda self, tmp=None, task_vars=None: {})

    def go(answers, **args):
        action = ActionModule.__new__(ActionModule)
        action._task = type("Task", (), {"args": dict({"jid": "j1.2", "label": "vision"}, **args)})()
        answers = list(answers)
        calls = []

        def status(module_args, task_vars):
            calls.append((clock.now, dict(module_args)))
            if module_args["mode"] == "cleanup":
                return {"erased": module_args["_async_dir"] + "/" + module_args["jid"]}
            return answers.pop(0)

        action._status = status
        action._remote_expand_user = lambda path: path.replace("~", "/home/u")
        action.get_shell_option = lambda name, default=None: default
        result = action.run(task_vars={"inventory_hostname": "gpu01"})
        assert not answers, "polls left unasked"
        return result, calls, printed, clock.sleeps

    return go


RUNNING = {"started": 1, "finished": 0, "ansible_job_id": "j1.2"}


def done(**result):
    return dict({"started": 1, "finished": 1, "results_file": "/x", "stdout": "{}", "changed": True,
                 "diff": {"before": "a", "after": "b"}}, **result)


def test_a_job_that_has_ended_costs_one_poll_and_one_cleanup(run):
    result, calls, printed, sleeps = run([done()])
    assert [c[1]["mode"] for c in calls] == ["status", "cleanup"]
    assert sleeps == [] and printed == []
    assert result["changed"] is True and result["diff"] == {"before": "a", "after": "b"}
    assert result["elapsed"] == 0 and result["ansible_job_id"] == "j1.2"
    # async_status's own keys are not the job's result
    assert "results_file" not in result and "stdout" not in result and "finished" not in result


def test_polls_soon_then_less_often_and_prints_every_poll_seconds(run):
    result, calls, printed, sleeps = run([RUNNING] * 9 + [done(changed=False)], poll=10, timeout=0)
    assert sleeps == [0.5, 1, 2, 4, 5, 5, 5, 5, 5]
    # polls at 0, 0.5, 1.5, 3.5, 7.5, 12.5, 17.5, 22.5, 27.5 and 32.5 seconds; a line at most every 10
    assert printed == ["vision on gpu01: running for %ds" % s for s in (12, 22)]
    assert result["changed"] is False and result["elapsed"] == 32


def test_a_short_poll_caps_the_interval(run):
    _result, _calls, printed, sleeps = run([RUNNING] * 5 + [done()], poll=2, timeout=0)
    assert sleeps == [0.5, 1, 2, 2, 2]
    assert printed == ["vision on gpu01: running for %ds" % s for s in (3, 5)]


def test_the_results_file_names_the_directory_polled(run):
    _result, calls, _printed, _sleeps = run([done()], results_file="/srv/conda/.ansible_async/j1.2")
    assert {c[1]["_async_dir"] for c in calls} == {"/srv/conda/.ansible_async"}
    _result, calls, _printed, _sleeps = run([done()])
    assert {c[1]["_async_dir"] for c in calls} == {"/home/u/.ansible_async"}


def test_a_lost_connection_is_polled_again_and_said(run):
    lost = {"_lost_connection": True, "msg": "Connection reset"}
    result, calls, printed, _sleeps = run([lost, done()], poll=5)
    assert printed == ["vision on gpu01: running for 0s (no answer: Connection reset; polling again)"]
    assert result["changed"] is True and not result.get("failed")


def test_a_failed_job_is_the_result_and_is_cleaned_up(run):
    result, calls, _printed, _sleeps = run([done(failed=True, changed=False, msg="PackagesNotFoundError: nope")])
    assert result["failed"] is True and result["msg"] == "PackagesNotFoundError: nope"
    assert calls[-1][1]["mode"] == "cleanup"


def test_past_the_timeout_it_fails_leaves_the_job_and_says_so(run):
    result, calls, _printed, sleeps = run([RUNNING] * 6, poll=10, timeout=12)
    assert result["failed"] is True
    assert "vision on gpu01: still running after 12s" in result["msg"] and "next run waits for it" in result["msg"]
    assert [c[1]["mode"] for c in calls] == ["status"] * 6  # no cleanup: the job goes on
    assert sum(sleeps) == 12


@pytest.mark.parametrize("args", [{"poll": 0}, {"timeout": -1}])
def test_bad_poll_or_timeout_is_refused_before_any_poll(run, args):
    result, calls, _printed, _sleeps = run([], **args)
    assert result["failed"] is True and "poll" in result["msg"] and calls == []
