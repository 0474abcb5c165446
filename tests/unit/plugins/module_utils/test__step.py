# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""_step: a module's run in check mode on a stand-in, as conda_probe uses it (the decisions, without a host)."""
from __future__ import annotations

import pytest

from ansible_collections.condafleet.conda.plugins.module_utils import _step as step

SPEC = dict(argument_spec=dict(name=dict(type="str", required=True), count=dict(type="int", default=3),
                               mode=dict(type="str", choices=["a", "b"], default="a")),
            mutually_exclusive=[("count", "mode")], supports_check_mode=True)


class Host:
    tmpdir = "/tmp/probe"
    check_mode = False

    def __init__(self):
        self.calls = []

    def set_fs_attributes_if_different(self, file_args, changed, diff=None, expand=True):
        self.calls.append(("fs", self.check_mode))
        return True

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return None


def test_a_run_that_changes_nothing_is_converged_and_sees_check_mode_and_validated_options():
    seen = {}

    def run(module):
        seen.update(module.params, check=module.check_mode, offline=module.offline, tmp=module.tmpdir)
        module.exit_json(changed=False)

    assert step.check(Host(), SPEC, run, {"name": "x"}) == {"converged": True, "reason": "converged"}
    assert seen == {"name": "x", "count": 3, "mode": "a", "check": True, "offline": True, "tmp": "/tmp/probe"}


@pytest.mark.parametrize("run, reason", [
    (lambda m: m.exit_json(changed=True), "would change"),
    (lambda m: m.exit_json(changed=False, acquire={"step": "fetch"}), "the installer is to be fetched"),
    (lambda m: m.fail_json(msg="no"), "the step fails; run it for the message"),
    (lambda m: m.run_command(["conda", "create", "--dry-run"]), "the check needs a program run"),
    (lambda m: 1 / 0, "the check could not decide; run the step"),
    (lambda m: None, "the check did not finish; run the step"),
])
def test_anything_but_an_unchanged_end_is_not_converged(run, reason):
    assert step.check(Host(), SPEC, run, {"name": "x"}) == {"converged": False, "reason": reason}


@pytest.mark.parametrize("params", [{}, {"name": "x", "mode": "c"}, {"name": "x", "count": "many"},
                                    {"name": "x", "count": 1, "mode": "b"}, {"name": "x", "colour": "red"}])
def test_options_the_module_would_refuse_make_the_step_pending_without_running_it(params):
    ran = []
    assert step.check(Host(), SPEC, ran.append, params) == {
        "converged": False, "reason": "the step fails; run it for the message"}
    assert ran == []


def test_file_attributes_are_compared_in_check_mode_whatever_the_host_module_is_in():
    host = Host()

    def run(module):
        changed = module.set_fs_attributes_if_different({"path": "/x"}, False)
        module.exit_json(changed=changed)

    assert step.check(host, SPEC, run, {"name": "x"})["converged"] is False
    assert host.calls == [("fs", True)] and host.check_mode is False


def test_warnings_stay_with_the_stand_in():
    def run(module):
        module.warn("careful")
        module.exit_json(changed=False)

    assert step.check(Host(), SPEC, run, {"name": "x"})["converged"] is True
