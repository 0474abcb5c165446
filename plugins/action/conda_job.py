# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of ``condafleet.conda.conda_job``: wait for an async job and say how long it has run.

A long transaction (``conda_env`` with ``async``) runs on the host as an async
job; the controller polls it with ``ansible.builtin.async_status``, as Ansible's
own ``poll`` does, but says at each poll which host and which job (the label:
the environment) is running and for how long. A poll the connection fails is
tried again on a fresh connection until the time to wait is up: the job goes on
on the host whatever happens to the connection. When the job has finished, its
job file is removed (``async_status mode=cleanup``) and the task's result is the
job's own (``changed``, ``diff``...), with ``elapsed``.
"""

from __future__ import annotations

import time

from ansible.errors import AnsibleConnectionFailure
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

display = Display()

ARGUMENT_SPEC = {
    "jid": {"type": "str", "required": True},
    "label": {"type": "str"},
    "results_file": {"type": "str"},
    "timeout": {"type": "int", "default": 3600},
    "poll": {"type": "int", "default": 10},
    "cleanup": {"type": "bool", "default": True},
}
#: the most seconds between two polls: a job that has ended is seen at most this late
MAX_POLL_INTERVAL = 5
#: keys of async_status's own answer, not of the job's result
_STATUS_KEYS = ("started", "finished", "results_file", "stdout", "stderr", "stdout_lines", "stderr_lines")


def elapsed_text(seconds):
    """``45s``, ``12m 05s``, ``1h 02m 09s``."""
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return "%dh %02dm %02ds" % (hours, minutes, secs)
    if minutes:
        return "%dm %02ds" % (minutes, secs)
    return "%ds" % secs


class ActionModule(ActionBase):
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        del validation
        if args["timeout"] < 0 or args["poll"] < 1:
            return dict(result, failed=True, msg="timeout=%s, poll=%s: timeout must be 0 (no limit) or more, poll 1 "
                                                 "or more" % (args["timeout"], args["poll"]))
        host = (task_vars or {}).get("inventory_hostname") or self._connection._play_context.remote_addr
        label = args["label"] or args["jid"]
        if args["results_file"]:  # where the job writes: its own $HOME, which may not be the passwd entry's
            async_dir = args["results_file"].rsplit("/", 1)[0]
        else:
            async_dir = self._remote_expand_user(self.get_shell_option("async_dir", default="~/.ansible_async"))
        status_args = {"jid": args["jid"], "_async_dir": async_dir}

        started = time.monotonic()
        # A converged environment's job ends within a second: poll soon, then less often, up to every
        # MAX_POLL_INTERVAL seconds (a job is seen ending at most that late), and print a progress line
        # every O(poll) seconds.
        delay, shown = 0.25, 0.0
        while True:
            status = self._status(dict(status_args, mode="status"), task_vars)
            waited = time.monotonic() - started
            if status.get("finished") or (status.get("failed") and not status.get("_lost_connection")):
                break
            if args["timeout"] and waited >= args["timeout"]:
                return dict(result, failed=True, ansible_job_id=args["jid"], elapsed=int(waited),
                            msg="%s on %s: still running after %s (timeout); the job goes on on the host, and the "
                                "next run waits for it" % (label, host, elapsed_text(waited)))
            if status.get("_lost_connection"):
                display.display("%s on %s: running for %s (no answer: %s; polling again)"
                                % (label, host, elapsed_text(waited), status["msg"]))
            elif waited - shown >= args["poll"]:
                display.display("%s on %s: running for %s" % (label, host, elapsed_text(waited)))
                shown = waited
            delay = min(delay * 2, args["poll"], MAX_POLL_INTERVAL)
            if args["timeout"]:
                delay = max(0.25, min(delay, args["timeout"] - waited))
            time.sleep(delay)

        if args["cleanup"] and status.get("finished"):
            self._status(dict(status_args, mode="cleanup"), task_vars)
        for key in _STATUS_KEYS:
            status.pop(key, None)
        result.update(status)
        result["ansible_job_id"] = args["jid"]
        result["elapsed"] = int(waited)
        return result

    def _status(self, module_args, task_vars):
        """async_status's answer; a connection that fails is reset and reported as ``_lost_connection``."""
        try:
            answer = self._execute_module(module_name="ansible.legacy.async_status", module_args=module_args,
                                          task_vars=task_vars)
        except AnsibleConnectionFailure as exc:
            answer = {"unreachable": True, "msg": to_native(exc)}
        if answer.get("unreachable"):
            try:
                self._connection.reset()
            except Exception:  # pylint: disable=broad-except
                pass  # the next poll tries again on a fresh connection
            return {"_lost_connection": True, "msg": answer.get("msg", "unreachable")}
        return answer
