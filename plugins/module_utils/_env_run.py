# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""conda_env's run: read the environment (conda-meta), decide (``_envspec``), apply or predict, describe.

The module ``conda_env`` is this with its documentation; ``conda_probe`` runs it in check mode on a
stand-in module (``_step``) to learn, from disk alone, whether the environment is converged.
"""

from __future__ import annotations

import os
import shutil

from ansible_collections.condafleet.conda.plugins.module_utils import _channel_auth
from ansible_collections.condafleet.conda.plugins.module_utils._conda_loader import ENVIRONMENT_FILE_READER
from ansible_collections.condafleet.conda.plugins.module_utils._environments import (
    CREATE_MARKER, environment_state, environments, remove_create_marker, resolve_target, write_create_marker)
from ansible_collections.condafleet.conda.plugins.module_utils._files import parse_umask, write_private
from ansible_collections.condafleet.conda.plugins.module_utils._history import history_revision
from ansible_collections.condafleet.conda.plugins.module_utils._install_lock import InstallationLock, LockTimeout
from ansible_collections.condafleet.conda.plugins.module_utils._pip_dists import dist_versions
from ansible_collections.condafleet.conda.plugins.module_utils._pkg_cache import CacheError, unpack
from ansible_collections.condafleet.conda.plugins.module_utils._prefix import (
    conda_meta_records, installation_error, meta_fingerprint, package_records, torn_records)
from ansible_collections.condafleet.conda.plugins.module_utils._runner import (
    CondaError, CondaRunner, parse_actions, parse_json_output)
from ansible_collections.condafleet.conda.plugins.module_utils._text import spec_text
from ansible_collections.condafleet.conda.plugins.module_utils._envspec import (
    SpecError,
    delta,
    desired_state,
    env_changed,
    env_name_error,
    explicit_actions,
    explicit_text,
    external_answer,
    needs_change,
    package_lines,
    pip_requirements_text,
    pip_unsatisfied,
    plan,
    predict,
    prune_error,
    prune_removals,
    spec_names,
    transaction_actions,
    unlink_entries,
    validate,
)


def input_error(params):
    """Why the options cannot be used, before anything is read or run, or ``None``."""
    name = params["name"]
    if name is not None and env_name_error(name):
        return env_name_error(name)
    for option in ("path", "prefix"):
        if params[option] is not None and not os.path.isabs(params[option]):
            return "%s must be an absolute path, got %r" % (option, params[option])
    try:
        parse_umask(params["umask"])
    except ValueError as exc:
        return str(exc)
    return None


def channel_args(override_channels, channels):
    """``--override-channels`` and ``-c`` for each channel (URLs without their credentials: see _channel_auth)."""
    args = ["--override-channels"] if override_channels else []
    for channel in channels:
        args += ["-c", channel]
    return args


class EnvRun:
    """One module run: read state, decide, apply (or predict), describe."""

    def __init__(self, module):
        self.module = module
        params = module.params
        self.params = params
        self.base = params["prefix"]
        self.executable = params["executable"] or os.path.join(self.base, "bin", "conda")
        self.target, self.is_base = resolve_target(self.base, params["name"], params["path"])
        self.umask = parse_umask(params["umask"])
        self.runner = CondaRunner(module, self.executable, environ=params["environment"], umask=self.umask)
        self.main_cmd = None
        self.link, self.unlink, self.pip_done = [], [], []
        self.lock_file = None
        self.warnings = []
        self.half_made = None  # environment_state() of a half-made environment at the target
        self.auth = None  # _channel_auth.plan() of the channels
        self.kept_dir = False  # the target is an empty directory that was there before the create
        self.torn = []  # torn package records of the existing environment (see set_aside_torn)
        self.prefilled = []  # package files put into conda's cache from package_archive

    # -- inputs ------------------------------------------------------------

    def load(self):
        try:
            text = spec_text(self.params["spec_file"], self.params["spec_content"])
        except ValueError as exc:
            self.module.fail_json(msg=str(exc), prefix=self.target)
        environ = dict(os.environ)
        environ.update(self.params["environment"])
        try:
            desired = desired_state(self.params, text, self.external_read, environ, os.uname().machine)
            validate(desired)
        except SpecError as exc:
            self.module.fail_json(msg=str(exc), prefix=self.target)
        self.warnings += [warning["msg"] for warning in desired["warnings"]]
        problem = prune_error(desired, self.params["prune"]) if self.params["state"] != "absent" else None
        if problem:
            self.module.fail_json(msg=problem, prefix=self.target)
        if desired["variables"]:
            self.warnings.append("the environment file's variables are not applied by conda_env")
        self.channel_auth(desired["channels"])
        if desired["explicit"] is not None:
            # what conda installs: the lock's entries (of a conda-lock file, the host platform's), as an @EXPLICIT
            # file; their URLs may carry tokens: readable by this user only
            self.lock_file = write_private(os.path.join(self.module.tmpdir, "condafleet-explicit.txt"),
                                           explicit_text(desired["explicit"]))
        return desired

    def channel_auth(self, channels):
        """Move the channels' credentials off conda's command line into private files conda reads."""
        self.auth = _channel_auth.plan(channels)
        for index, why in self.auth.kept:
            self.warnings.append("the credentials of channel %s reach conda's command line and the files conda "
                                 "writes, because %s" % (channels[index], why))
        environ = dict(os.environ)
        environ.update(self.params["environment"])
        try:
            self.runner.conda_environ.update(_channel_auth.write_files(self.auth, self.module.tmpdir, environ))
        except OSError as exc:
            self.module.fail_json(msg="cannot write the channels' credentials to a private file: %s" % exc,
                                  prefix=self.target)

    def external_read(self, text, why):
        """The spec file's YAML as the installation's conda reads it (what the built-in reader cannot read)."""
        python = os.path.join(self.base, "bin", "python")
        if not os.access(python, os.X_OK):
            raise SpecError("the environment file uses YAML this module does not read by itself (%s), and %s has "
                            "no Python to read it; simplify the file" % (why, self.base))
        path = write_private(os.path.join(self.module.tmpdir, "condafleet-environment.yml"), text)
        code, out, dummy = self.module.run_command([python, "-c", ENVIRONMENT_FILE_READER, path], expand_user_and_vars=False,
                                                   environ_update={"PYTHONNOUSERSITE": "1"})
        return external_answer(code, out, why)

    def quick_names(self, desired):
        """Names whose records the converged check must parse, or ``None`` for all of them.

        Without prune, a converged check only needs the full records of the requested
        packages; every other package is known well enough from its file name.
        """
        if self.params["prune"] or desired["explicit"] is not None or self.params["state"] == "latest":
            return None
        names = spec_names(desired["specs"]) + (["conda"] if self.is_base else [])
        if any("*" in name or name.startswith("^") for name in names):
            return None
        return names

    def read(self, full_names=None):
        """The environment's records; ``None`` when it must be created (absent, or half-made: ``self.half_made``)."""
        state = environment_state(self.target)
        if state["state"] == "environment":
            return package_records(self.target, full_names)
        if state["state"] == "foreign":
            self.module.fail_json(msg="%s exists and is not a conda environment (%s); refusing to touch it"
                                  % (self.target, state["found"]), prefix=self.target)
        if state["state"] == "incomplete":
            self.half_made = state
        return None

    def protect(self, records):
        """Names prune must keep: conda (and what it needs) in base."""
        return ["conda"] if self.is_base and records and any(r["name"] == "conda" for r in records) else []

    def pin_environ(self, desired, records):
        """Keep the base environment's conda where it is unless it is requested."""
        if not (self.is_base and records):
            return {}
        if "conda" in spec_names(desired["specs"]):
            return {}
        for record in records:
            if record["name"] == "conda":
                pins = [p for p in [os.environ.get("CONDA_PINNED_PACKAGES"),
                                    self.params["environment"].get("CONDA_PINNED_PACKAGES")] if p]
                return {"CONDA_PINNED_PACKAGES": "&".join(pins + ["conda==%s" % record["version"]])}
        return {}

    # -- commands ----------------------------------------------------------

    def transaction_args(self, decision, desired, target=None):
        action = decision["action"]
        target = target or self.target
        if desired["explicit"] is not None:
            verb = "create" if action == "create" else "install"
            return [verb, "-p", target, "--file", self.lock_file]
        args = ["create" if action == "create" else "install", "-p", target]
        if action == "update":
            args.append("--update-specs")
        return args + channel_args(desired["override_channels"], self.auth.channels) + decision["specs"]

    def start_create(self):
        """Before ``conda create``: remove a half-made environment, then mark the new one as this collection's."""
        if self.half_made:
            self.remove_tree()
        old = os.umask(self.umask)
        try:
            write_create_marker(self.target, self.base)
        except OSError as exc:
            self.module.fail_json(msg="cannot create %s: %s" % (self.target, exc.strerror or exc), prefix=self.target)
        finally:
            os.umask(old)

    def remove_tree(self):
        try:
            shutil.rmtree(self.target)
        except OSError as exc:
            self.module.fail_json(msg="cannot remove the half-made environment at %s: %s" % (self.target, exc),
                                  prefix=self.target, found=self.half_made["found"])

    def pip_argv(self, desired, requirements):
        """pip with a requirements file of the option lines and ``requirements``, as conda runs pip.

        Lines reach pip as written (``-e path``, URLs, ``--hash=...``) and stay off the command line.
        """
        path = write_private(os.path.join(self.module.tmpdir, "condafleet-pip-requirements.txt"),
                             pip_requirements_text(desired["pip"], requirements, self.pip_workdir()))
        python = os.path.join(self.target, "bin", "python")
        return [python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input"] + \
            list(desired.get("pip_args") or []) + ["-r", path]

    def pip_workdir(self):
        """Where relative paths of pip lines (``-e .``, ``-r requirements.txt``) start: the spec file's directory."""
        return os.path.dirname(os.path.abspath(self.params["spec_file"])) if self.params["spec_file"] else os.getcwd()

    # -- check mode --------------------------------------------------------

    def set_aside_torn(self):
        """A package record torn by a killed transaction makes conda refuse the environment: it is set aside
        (renamed ``*.json.torn``, kept), so that the transaction links that package again."""
        meta = os.path.join(self.target, "conda-meta")
        for name in self.torn:
            os.replace(os.path.join(meta, name), os.path.join(meta, name + ".torn"))
            self.warnings.append("conda-meta/%s was torn by an interrupted conda transaction; it was set aside as "
                                 "%s.torn and the package linked again" % (name, name))

    def predict(self, records, desired, decision):
        before = records or []
        actions = {"link": [], "unlink": []}
        if self.torn:
            # conda cannot read the environment until the real run sets the torn records aside
            self.warnings.append("conda-meta holds records torn by an interrupted conda transaction (%s); a real run "
                                 "sets them aside and runs conda, whose changes cannot be predicted before"
                                 % ", ".join(self.torn))
        elif decision["action"] and desired["explicit"] is not None:
            actions = explicit_actions(desired["explicit"], before, decision["unsatisfied"])
        elif decision["action"]:
            args = self.transaction_args(decision, desired)
            self.main_cmd = self.runner.argv(args, dry_run=True)
            if self.half_made and decision["action"] == "create":
                # the real run removes the half-made environment before conda creates it, so conda must not
                # read it now: a record torn by the kill is a CorruptedEnvironmentError to conda
                args = self.transaction_args(decision, desired, os.path.join(self.module.tmpdir, "condafleet-predict"))
            try:
                answer = self.runner.json(args, dry_run=True, environ=self.pin_environ(desired, records))
            except CondaError as exc:
                self.fail(exc)
            actions = parse_actions(answer)
        self.link = actions["link"]
        self.unlink = actions["unlink"] + unlink_entries(before, set(decision["remove"]))
        self.pip_done = list(decision["pip"])
        return predict(before, self.link, self.unlink)

    # -- apply -------------------------------------------------------------

    def apply(self, records, desired, decision):
        existed = records is not None
        # an empty directory the user made for the environment: a failed create leaves it (owner, mode) as it was
        self.kept_dir = not existed and not self.half_made and os.path.isdir(self.target) and \
            not os.path.islink(self.target)
        if existed:
            self.set_aside_torn()
        revision = history_revision(self.target) if existed else None
        fingerprint = meta_fingerprint(self.target) if existed else None
        dists = dist_versions(self.target) if existed and desired["pip"] else None
        pins = self.pin_environ(desired, records)
        try:
            if decision["action"]:
                args = self.transaction_args(decision, desired)
                self.main_cmd = self.runner.argv(args)
                if desired["explicit"] is not None and self.params["package_archive"]:
                    self.prefill(desired["explicit"])
                if decision["action"] == "create":
                    self.start_create()
                answer = self.runner.json(args, environ=pins)
                if decision["action"] == "create":
                    remove_create_marker(self.target)
                if answer:
                    actions = parse_actions(answer)
                else:  # conda did the work and printed nothing (lock files): read it from disk
                    actions = transaction_actions(records or [], conda_meta_records(self.target))
                self.link += actions["link"]
                self.unlink += actions["unlink"]
            if self.params["prune"]:
                current = conda_meta_records(self.target) if decision["action"] else records
                remove = prune_removals(current, desired, self.protect(current))
                if remove:
                    args = ["remove", "-p", self.target] + remove
                    self.main_cmd = self.main_cmd or self.runner.argv(args)
                    answer = self.runner.json(args, environ=pins)
                    self.unlink += parse_actions(answer)["unlink"]
            # what conda just installed may meet a pip requirement (its packages ship dist-info)
            requirements = pip_unsatisfied(desired["pip"], dist_versions(self.target)) if desired["pip"] else []
            if requirements:
                argv = self.pip_argv(desired, requirements)
                self.runner.commands.append(argv)
                env = dict(self.runner.environ)
                env.update({"PIP_NO_INPUT": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
                rc, out, err = self.runner.command(argv, env, cwd=self.pip_workdir())
                if rc != 0:
                    raise CondaError("pip failed (rc %s): %s" % (rc, (err or out).strip()[-2000:]), cmd=argv, rc=rc,
                                     stdout=out, stderr=err, info={"exception_name": "PipError"})
                self.pip_done = list(requirements)
        except CondaError as exc:
            self.fail(exc, rollback=(existed, revision, fingerprint, dists))

    def pkgs_dir(self):
        """The package cache conda writes to first (``conda info``: the first writable of ``pkgs_dirs``)."""
        argv = [self.executable, "info", "--json"]
        rc, out, err = self.runner.command(argv, dict(self.runner.environ))
        payload = parse_json_output(out) if rc == 0 else None
        dirs = payload.get("pkgs_dirs") if isinstance(payload, dict) else None
        if not dirs:
            raise CondaError("conda info found no package cache: %s" % (err or out).strip()[-500:], cmd=argv, rc=rc,
                             stdout=out, stderr=err, info={})
        for path in dirs:
            if os.path.isdir(path) and os.access(path, os.W_OK) or \
                    not os.path.exists(path) and os.access(os.path.dirname(path) or "/", os.W_OK):
                return path
        return dirs[0]

    def prefill(self, entries):
        """The lock's packages from ``package_archive`` into conda's package cache, so that conda fetches none."""
        archive = self.params["package_archive"]
        if not os.path.isfile(archive):
            raise CondaError("package_archive %s is not a file" % archive, info={})
        target = self.pkgs_dir()
        old = os.umask(self.umask)
        try:
            os.makedirs(target, exist_ok=True)
            self.prefilled = unpack(archive, target, entries)
        except (OSError, CacheError) as exc:
            raise CondaError(str(exc), info={})
        finally:
            os.umask(old)

    def rollback(self, existed, revision, fingerprint, dists=None):
        """Undo what a failed run left behind.

        ``None`` when the run changed nothing (conda failed before it touched the environment, and
        the create marker this module wrote is the only thing there: it is removed), else True when
        the environment is as it was and False when it could not be restored.
        """
        if not existed:
            if not self.half_made and os.path.isdir(self.target) and not os.path.islink(self.target) and \
                    set(os.listdir(self.target)) <= set([CREATE_MARKER]):
                remove_create_marker(self.target)
                if not self.kept_dir:
                    os.rmdir(self.target)
                return None
            if self.kept_dir:
                for entry in os.listdir(self.target):
                    path = os.path.join(self.target, entry)
                    if os.path.isdir(path) and not os.path.islink(path):
                        shutil.rmtree(path, ignore_errors=True)
                    else:
                        os.unlink(path)
                return not os.listdir(self.target)
            if os.path.lexists(self.target):
                shutil.rmtree(self.target, ignore_errors=True)
            return not os.path.lexists(self.target)
        if meta_fingerprint(self.target) == fingerprint:
            # conda's packages are as they were; what a failed pip installed is not undone
            return None if dists is None or dist_versions(self.target) == dists else False
        if revision is None:
            return False
        try:
            self.runner.json(["install", "-p", self.target, "--revision", str(revision)])
        except CondaError:
            return False
        return True

    def fail(self, exc, rollback=None):
        result = exc.result(verbose=self.module._verbosity >= 3)
        result["prefix"] = self.target
        result["commands"] = self.runner.commands
        restored = self.rollback(*rollback) if rollback is not None else None
        if restored is not None:
            result["rolled_back"] = restored
        elif rollback is not None:
            result["msg"] += "; the environment was not changed"
        self.module.fail_json(**result)

    # -- absent ------------------------------------------------------------

    def absent(self):
        state = environment_state(self.target)
        if state["state"] in ("absent", "foreign"):
            if state["state"] == "foreign":
                self.warnings.append("%s is not a conda environment (%s); left as it is" % (self.target, state["found"]))
            return self.finish(None, None, changed=False)
        if self.is_base:
            self.module.fail_json(msg="refusing to remove the base environment of %s" % self.base, prefix=self.target)
        if state["state"] == "incomplete":
            return self.absent_half_made(state)
        known = set(os.path.realpath(env["prefix"]) for env in environments(self.base) if not env["base"])
        if os.path.realpath(self.target) not in known:
            self.module.fail_json(msg="%s is not an environment of the installation at %s; refusing to remove it"
                                  % (self.target, self.base), prefix=self.target)
        before = conda_meta_records(self.target)
        self.unlink = unlink_entries(before)
        args = ["remove", "--all", "-p", self.target]
        if self.module.check_mode:
            self.main_cmd = self.runner.argv(args, dry_run=True)
            return self.finish(before, None, changed=True)
        with self.lock():
            self.main_cmd = self.runner.argv(args)
            try:
                answer = self.runner.json(args)
            except CondaError as exc:
                self.fail(exc)
            unlinked = parse_actions(answer)["unlink"]
            self.unlink = unlinked or self.unlink
        return self.finish(before, None, changed=True)

    def absent_half_made(self, state):
        """Remove a half-made environment (conda refuses one without history): only one of this installation."""
        base = os.path.realpath(self.base)
        ours = os.path.dirname(os.path.realpath(self.target)) == os.path.join(base, "envs") or \
            (state["marker"] and os.path.realpath(state["marker"]) == base)
        if not ours:
            self.module.fail_json(msg="%s is %s that is not an environment of the installation at %s; refusing to "
                                      "remove it" % (self.target, state["found"], self.base),
                                  prefix=self.target, found=state["found"])
        self.half_made = state
        before = conda_meta_records(self.target)
        self.unlink = unlink_entries(before)
        if not self.module.check_mode:
            with self.lock():
                self.remove_tree()
        return self.finish(before, None, changed=True)

    def lock(self):
        return InstallationLock(self.base, self.params["lock_timeout"])

    # -- results -----------------------------------------------------------

    def finish(self, before, after, changed, decision=None):
        before_pkgs = before or []
        after_pkgs = after or []
        added, removed, changed_pkgs = delta(before_pkgs, after_pkgs)
        result = {
            "changed": changed,
            "prefix": self.target,
            "cmd": self.main_cmd,
            "commands": self.runner.commands,
            "unsatisfied": (decision or {}).get("unsatisfied", []),
            "actions": {"link": self.link, "unlink": self.unlink, "pip": self.pip_done},
            "packages_added": added,
            "packages_removed": removed,
            "packages_changed": changed_pkgs,
        }
        if self.params["package_archive"]:
            result["packages_prefilled"] = self.prefilled
        if self.module._diff:
            result["diff"] = {
                "before_header": self.target, "after_header": self.target,
                "before": "".join(line + "\n" for line in package_lines(before_pkgs)) if before is not None else "",
                "after": "".join(line + "\n" for line in package_lines(after_pkgs)) if after is not None else "",
            }
        if self.half_made:
            result["found"] = self.half_made["found"]
            done = "removed" if self.params["state"] == "absent" else "removed and created again"
            if self.module.check_mode:
                self.warnings.append("%s is %s; it would be %s" % (self.target, self.half_made["found"], done))
            else:
                self.warnings.append("%s was %s; %s" % (self.target, self.half_made["found"], done))
        for warning in self.warnings:
            self.module.warn(warning)
        self.module.exit_json(**result)

    def converge(self):
        desired = self.load()
        problem = None if self.params["executable"] else installation_error(self.base)
        if problem:
            self.module.fail_json(msg=problem, prefix=self.target)
        if self.params["state"] == "absent":
            return self.absent()
        if self.module.check_mode:
            return self._converge(desired)
        with self.lock():
            return self._converge(desired)

    def _converge(self, desired):
        quick = self.quick_names(desired)
        records = self.read(quick)
        pip_before = dist_versions(self.target) if records is not None and desired["pip"] else {}
        decision = plan(records, desired, self.params["state"], self.params["prune"], pip_before,
                        self.protect(records))
        if not needs_change(decision):
            return self.finish(records, records, changed=False, decision=decision)
        # conda is about to run: a record a killed transaction tore would make it refuse the environment
        self.torn = torn_records(self.target) if records is not None else []
        if self.torn and not decision["action"]:
            decision["action"] = "install"  # conda links again what the torn records stood for
        if records is not None and quick is not None:
            # the decision needed the requested packages' records only; doing and showing it needs all of them
            records = self.read()
        if self.module.check_mode:
            after = self.predict(records, desired, decision)
            pip_changed = bool(self.pip_done)
        else:
            self.apply(records, desired, decision)
            after = conda_meta_records(self.target)
            pip_changed = bool(desired["pip"]) and dist_versions(self.target) != pip_before
        changed = env_changed(records, after, pip_changed) or bool(self.torn)
        return self.finish(records, after, changed=changed, decision=decision)


SPEC = dict(
    argument_spec=dict(
        name=dict(type="str"),
        path=dict(type="path"),
        prefix=dict(type="path", default="/opt/conda"),
        executable=dict(type="path"),
        state=dict(type="str", default="present", choices=["present", "latest", "absent"]),
        python=dict(type="str"),
        packages=dict(type="list", elements="str", default=[]),
        pip=dict(type="list", elements="str", default=[]),
        channels=dict(type="list", elements="str", default=[]),
        override_channels=dict(type="bool", default=False),
        spec_file=dict(type="path"),
        spec_content=dict(type="str"),
        prune=dict(type="bool", default=False),
        environment=dict(type="dict", default={}),
        lock_timeout=dict(type="int", default=600),
        umask=dict(type="str", default="0022"),
        package_archive=dict(type="path"),
    ),
    mutually_exclusive=[("name", "path"), ("spec_file", "spec_content")],
    required_one_of=[("name", "path")],
    supports_check_mode=True,
)


def run(module):
    """The module's whole run on ``module`` (an AnsibleModule made with ``SPEC``, or ``_step``'s stand-in)."""
    problem = input_error(module.params)
    if problem:
        module.fail_json(msg=problem)
    run = EnvRun(module)
    try:
        run.converge()
    except LockTimeout as exc:
        module.fail_json(msg=str(exc), prefix=run.target)
