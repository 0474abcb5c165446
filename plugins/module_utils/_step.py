# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""A module's run in check mode inside another module, to ask whether its step is converged.

``conda_probe`` answers for a whole host in one round trip by running the runs of ``conda_install``,
``conda_config`` and ``conda_env`` (``_install_run``, ``_config_run``, ``_env_run``) on a stand-in for their
AnsibleModule: their own options, validated as the module validates them, in check mode. The step is
converged when the run ends with ``changed: false``. The stand-in never lets a run start a program: a run
that wants one (a solver's dry run, conda's own YAML reader) stops there, and the step counts as not
converged, so the role runs the module itself, which then does what it must. A run that fails (bad input,
a refusal) is not converged either: the real step fails with its own message.
"""

from __future__ import annotations

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator


class StepEnded(Exception):
    """The run ended: ``verdict`` is the step's answer (see ``check``)."""

    def __init__(self, verdict):
        super().__init__(verdict.get("reason", ""))
        self.verdict = verdict


class StandIn:
    """What a module's run uses of AnsibleModule, read-only: check mode, and no program is ever started."""

    check_mode = True
    offline = True  # no download either (_install_run)
    _diff = False
    _verbosity = 0
    _debug = False

    def __init__(self, host, params):
        self.host = host  # the probing module: its tmpdir, its program lookup and its file attributes
        self.params = params
        self.warnings = []

    @property
    def tmpdir(self):
        return self.host.tmpdir

    def exit_json(self, **result):
        if result.get("acquire"):  # the installer would come from the controller: the real module knows more
            raise StepEnded({"converged": False, "reason": "the installer is to be fetched"})
        changed = bool(result.get("changed"))
        raise StepEnded({"converged": not changed, "reason": "would change" if changed else "converged"})

    def fail_json(self, msg, **result):
        raise StepEnded({"converged": False, "reason": "the step fails; run it for the message"})

    def run_command(self, args, **kwargs):
        raise StepEnded({"converged": False, "reason": "the check needs a program run"})

    def warn(self, warning, *args, **kwargs):
        self.warnings.append(warning)

    def get_bin_path(self, *args, **kwargs):
        return self.host.get_bin_path(*args, **kwargs)

    def set_fs_attributes_if_different(self, file_args, changed, diff=None, expand=True):
        """AnsibleModule's comparison of owner, group and mode, never applied (the host's check mode, forced)."""
        saved = self.host.check_mode
        self.host.check_mode = True
        try:
            return self.host.set_fs_attributes_if_different(file_args, changed, diff, expand)
        finally:
            self.host.check_mode = saved


def validated(spec, params):
    """``params`` as the module would see them (defaults, types), or ``(None, why)`` when it would refuse them."""
    validator = ArgumentSpecValidator(
        spec["argument_spec"],
        mutually_exclusive=spec.get("mutually_exclusive"),
        required_together=spec.get("required_together"),
        required_one_of=spec.get("required_one_of"),
        required_if=spec.get("required_if"),
        required_by=spec.get("required_by"),
    )
    result = validator.validate(dict(params))
    if result.error_messages:
        return None, "; ".join(result.error_messages)
    return result.validated_parameters, None


def check(host, spec, run, params):
    """Whether the step a module's ``run`` takes with ``params`` is converged: ``{"converged": bool, "reason": str}``.

    Read-only: the run sees check mode, and any program it would start ends the check as not converged.
    Anything unexpected counts as not converged too: the real module then runs and says what is wrong.
    """
    params, problem = validated(spec, params)
    if problem:
        return {"converged": False, "reason": "the step fails; run it for the message"}
    stand_in = StandIn(host, params)
    try:
        run(stand_in)
    except StepEnded as end:
        return end.verdict
    except Exception:  # pylint: disable=broad-except  # the real step will say what it is
        return {"converged": False, "reason": "the check could not decide; run the step"}
    return {"converged": False, "reason": "the check did not finish; run the step"}
