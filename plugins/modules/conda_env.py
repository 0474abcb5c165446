#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: conda_env
short_description: Converge one conda environment to a declared spec
version_added: 0.1.0
description:
  - Creates, updates or removes one environment (by O(name) or at O(path)) of the conda installation at O(prefix).
  - The spec is given inline (O(python), O(packages), O(pip), O(channels)), or as an C(environment.yml) or an
    C(@EXPLICIT) lock file (the output of C(conda list --explicit)), on the host (O(spec_file)) or as text
    (O(spec_content), for example from C(lookup('ansible.builtin.file', 'environment.yml')) on the controller).
  - The converged check reads the environment's C(conda-meta/*.json) records and pip's C(*.dist-info) directories and
    matches every requested spec with conda's match-spec rules. When everything is satisfied no conda or pip process
    is started. Otherwise one conda transaction installs all specs at once (C(create) for a new environment,
    C(install) for an existing one; never C(create) over an existing environment, which conda would silently
    replace), then pip installs the O(pip) requirements.
  - Specs are validated before anything runs; the error names the bad spec. When conda fails, the error carries its
    C(exception_name) and message; if the failed run left the environment changed, the module rolls it back to the
    revision it had (C(conda install --revision)), and a half-created environment is removed.
  - Runs on one host are serialized by a lock on the installation (C(<prefix>/conda-meta/.condafleet.lock)).
author:
  - condafleet.conda contributors (@condafleet)
attributes:
  check_mode:
    support: full
    description:
      - When something is not satisfied, the prediction comes from conda's own C(--dry-run --json) (create or
        install); nothing is changed and no lock is taken. Lock files, removals and pruning are predicted from disk.
        pip requirements are reported, not dry-run.
  diff_mode:
    support: full
    description: The package list (C(name version build)) before and after; predicted in check mode.
  platform:
    support: full
    platforms: posix
    description: Linux and macOS hosts.
options:
  name:
    description:
      - Name of the environment (V(base) is the installation itself). Resolved among the installation's environments,
        else C(<prefix>/envs/<name>). Mutually exclusive with O(path).
      - As conda, refuses names with C(/), a space, C(#), C(:) or a control character, before anything runs.
    type: str
  path:
    description: Path of the environment (C(conda -p)). Mutually exclusive with O(name).
    type: path
  prefix:
    description: The conda installation (base prefix) whose conda runs the transactions.
    type: path
    default: /opt/conda
  executable:
    description: The conda executable. Default is C(<prefix>/bin/conda).
    type: path
  state:
    description:
      - V(present) creates the environment if missing and installs what does not satisfy the spec.
      - V(latest) also asks conda to update the requested packages to the newest versions the specs allow
        (this runs conda on every run; it reports a change only when conda changed something).
      - V(absent) removes the environment. Only an environment of this installation is removed, never base.
    type: str
    choices: [present, latest, absent]
    default: present
  python:
    description: Python version, for example V(3.11) (C(python=3.11)) or V(>=3.10).
    type: str
  packages:
    description: conda match specs, for example V(numpy), V(pandas=2.2), V(scikit-learn>=1.3,<2), V(conda-forge::opencv).
    type: list
    elements: str
    default: []
  pip:
    description:
      - pip requirements installed with the environment's pip after the conda transaction (V(name), V(name==1.0),
        V(name>=1,<2)). Entries starting with C(-) are pip options (for example C(--index-url https://...)),
        as in the C(pip:) section of an environment.yml.
      - Satisfied requirements are read from C(site-packages/*.dist-info); pip runs only when one is not satisfied.
        pip packages are never removed.
    type: list
    elements: str
    default: []
  channels:
    description: Channels for this transaction (C(-c)), before the ones of the spec file and of C(.condarc).
    type: list
    elements: str
    default: []
  override_channels:
    description: Use only O(channels) (and the spec file's), not the channels of C(.condarc). A C(nodefaults) entry in
      an environment.yml means the same.
    type: bool
    default: false
  spec_file:
    description:
      - Path, on the managed host, of an C(environment.yml) or of an C(@EXPLICIT) lock file.
      - The file's C(name) and C(prefix) are ignored (O(name) or O(path) says which environment); its
        C(variables) are ignored with a warning.
      - With a lock file the environment gets exactly the listed builds (C(conda create/install --file)); combine
        with O(prune) to also remove packages the lock file does not list.
    type: path
  spec_content:
    description: The text of an environment.yml or lock file, for example read on the controller with
      C(lookup('ansible.builtin.file', 'environment.yml')). Mutually exclusive with O(spec_file).
    type: str
  prune:
    description:
      - Remove packages that are neither requested nor needed, through their C(depends), by what is requested.
        In the base environment, conda and what it needs are always kept.
    type: bool
    default: false
  environment:
    description:
      - Environment variables for the conda and pip processes, for example C(CONDA_OVERRIDE_CUDA) to solve CUDA builds
        on a host without a GPU driver, or proxy settings.
    type: dict
    default: {}
  lock_timeout:
    description: Seconds to wait for another run on this installation to finish.
    type: int
    default: 600
notes:
  - The module never changes the base environment's C(conda) package unless O(packages) names it (it pins
    C(conda) to the installed version through C(CONDA_PINNED_PACKAGES)).
  - O(prune) with packages to install runs two conda processes (install, then remove what is no longer needed).
requirements:
  - A conda installation (conda 23.x or later; tested with the behaviour of conda 26.7).
seealso:
  - module: condafleet.conda.conda_env_info
"""

EXAMPLES = r"""
- name: A data-science environment
  condafleet.conda.conda_env:
    name: vision
    python: "3.11"
    packages: [numpy, opencv, "pandas=2.2"]
    channels: [conda-forge]
    override_channels: true

- name: Exactly what environment.yml (on the controller) says, nothing more
  condafleet.conda.conda_env:
    name: webdev
    spec_content: "{{ lookup('ansible.builtin.file', 'files/environment.yml') }}"
    prune: true

- name: Reproduce a locked environment
  condafleet.conda.conda_env:
    path: /srv/envs/train
    spec_file: /srv/project/conda-linux-64.lock

- name: PyTorch with CUDA on a build node without a GPU driver
  condafleet.conda.conda_env:
    name: gpu
    python: "3.11"
    packages: ["pytorch=*=cuda*", "cuda-version=12.4"]
    environment:
      CONDA_OVERRIDE_CUDA: "12.4"

- name: pip packages from an internal index
  condafleet.conda.conda_env:
    name: api
    python: "3.12"
    packages: [fastapi, pip]
    pip: ["--index-url https://pypi.example.com/simple", "tinyjson==0.1"]

- name: Remove an environment
  condafleet.conda.conda_env:
    name: scratch
    state: absent
"""

RETURN = r"""
prefix:
  description: Path of the environment.
  returned: always
  type: str
  sample: /opt/conda/envs/vision
cmd:
  description: The conda command that ran (or would run in check mode, with C(--dry-run)); C(null) when none did.
  returned: always
  type: list
  elements: str
  sample: [/opt/conda/bin/conda, install, -p, /opt/conda/envs/vision, numpy, --yes, --json, --quiet]
commands:
  description: Every command that ran, conda and pip, in order.
  returned: always
  type: list
  elements: list
unsatisfied:
  description: The requested specs (or lock entries) that the environment did not satisfy before the run.
  returned: always
  type: list
  elements: str
actions:
  description: The planned (check mode) or performed package links and unlinks, and the pip requirements installed.
  returned: always
  type: dict
  contains:
    link:
      description: Packages linked (C(name), C(version), C(build), C(channel)).
      type: list
      elements: dict
    unlink:
      description: Packages unlinked.
      type: list
      elements: dict
    pip:
      description: pip requirements installed.
      type: list
      elements: str
packages_added:
  description: Packages that were not installed before (C(name), C(version), C(build), C(channel)).
  returned: always
  type: list
  elements: dict
packages_removed:
  description: Packages that are no longer installed.
  returned: always
  type: list
  elements: dict
packages_changed:
  description: Packages whose version or build changed (C(name), C(before), C(after)).
  returned: always
  type: list
  elements: dict
exception_name:
  description: conda's exception name when conda failed (for example C(PackagesNotFoundInChannelsError)).
  returned: failure
  type: str
rolled_back:
  description: Whether a failed run's changes were undone.
  returned: failure
  type: bool
"""

import os
import shutil

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.condafleet.conda.plugins.module_utils._conda import (
    CondaError,
    CondaRunner,
    InstallationLock,
    LockTimeout,
    conda_meta_records,
    environments,
    history_revision,
    installation_error,
    is_conda_prefix,
    meta_fingerprint,
    package_records,
    parse_actions,
    pip_dists,
)
from ansible_collections.condafleet.conda.plugins.module_utils._envspec import (
    SpecError,
    delta,
    desired_state,
    env_name_error,
    needs_change,
    package_lines,
    plan,
    predict,
    spec_names,
    transaction_actions,
    validate,
)


def resolve_target(base, name, path):
    """The environment's prefix and whether it is the installation's base."""
    base = os.path.normpath(base)
    if path:
        target = os.path.normpath(path)
    elif name == "base":
        target = base
    else:
        target = os.path.join(base, "envs", name)
        for env in environments(base):
            if env["name"] == name and not env["base"]:
                target = env["prefix"]
                break
    return target, os.path.realpath(target) == os.path.realpath(base)


def channel_args(desired):
    args = ["--override-channels"] if desired["override_channels"] else []
    for channel in desired["channels"]:
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
        self.runner = CondaRunner(module, self.executable, environ=params["environment"])
        self.main_cmd = None
        self.link, self.unlink, self.pip_done = [], [], []
        self.lock_file = None
        self.warnings = []

    # -- inputs ------------------------------------------------------------

    def load(self):
        text = None
        if self.params["spec_file"]:
            try:
                with open(self.params["spec_file"], "r", encoding="utf-8") as handle:
                    text = handle.read()
            except OSError as exc:
                self.module.fail_json(msg="cannot read spec_file %s: %s" % (self.params["spec_file"], exc))
        elif self.params["spec_content"] is not None:
            text = self.params["spec_content"]
        try:
            desired = desired_state(self.params, text)
            validate(desired)
        except SpecError as exc:
            self.module.fail_json(msg=str(exc), prefix=self.target)
        if desired["variables"]:
            self.warnings.append("the environment file's variables are not applied by conda_env")
        if desired["explicit"] is not None:
            if self.params["spec_file"]:
                self.lock_file = self.params["spec_file"]
            else:
                self.lock_file = os.path.join(self.module.tmpdir, "condafleet-explicit.txt")
                with open(self.lock_file, "w", encoding="utf-8") as handle:
                    handle.write(text)
        return desired

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
        if is_conda_prefix(self.target):
            return package_records(self.target, full_names)
        if os.path.exists(self.target) and (not os.path.isdir(self.target) or os.listdir(self.target)):
            self.module.fail_json(msg="%s exists and is not a conda environment; refusing to touch it" % self.target,
                                  prefix=self.target)
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

    def transaction_args(self, decision, desired):
        action = decision["action"]
        if desired["explicit"] is not None:
            verb = "create" if action == "create" else "install"
            return [verb, "-p", self.target, "--file", self.lock_file]
        args = ["create" if action == "create" else "install", "-p", self.target]
        if action == "update":
            args.append("--update-specs")
        return args + channel_args(desired) + decision["specs"]

    def pip_argv(self, desired, requirements):
        python = os.path.join(self.target, "bin", "python")
        return [python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input"] + \
            desired["pip_options"] + requirements

    # -- check mode --------------------------------------------------------

    def predict(self, records, desired, decision):
        before = records or []
        link, unlink = [], []
        if decision["action"] and desired["explicit"] is not None:
            by_name = dict((r["name"], r) for r in before)
            wanted = set(decision["unsatisfied"])
            for entry in desired["explicit"]:
                if "%s-%s-%s" % (entry["name"], entry["version"], entry["build"]) in wanted:
                    link.append({"name": entry["name"], "version": entry["version"], "build": entry["build"],
                                 "channel": entry["channel"].rstrip("/").rsplit("/", 1)[-1]})
                    if entry["name"] in by_name:
                        old = by_name[entry["name"]]
                        unlink.append({"name": old["name"], "version": str(old["version"]),
                                       "build": old.get("build", ""), "channel": ""})
        elif decision["action"]:
            args = self.transaction_args(decision, desired)
            self.main_cmd = self.runner.argv(args, dry_run=True)
            try:
                answer = self.runner.json(args, dry_run=True, environ=self.pin_environ(desired, records))
            except CondaError as exc:
                self.fail(exc)
            actions = parse_actions(answer)
            link, unlink = actions["link"], actions["unlink"]
        if decision["remove"]:
            gone = set(decision["remove"])
            unlink += [{"name": r["name"], "version": str(r["version"]), "build": r.get("build", ""), "channel": ""}
                       for r in before if r["name"] in gone]
        self.link, self.unlink = link, unlink
        self.pip_done = list(decision["pip"])
        return predict(before, link, unlink)

    # -- apply -------------------------------------------------------------

    def apply(self, records, desired, decision):
        existed = records is not None
        revision = history_revision(self.target) if existed else None
        fingerprint = meta_fingerprint(self.target) if existed else None
        pins = self.pin_environ(desired, records)
        try:
            if decision["action"]:
                args = self.transaction_args(decision, desired)
                self.main_cmd = self.runner.argv(args)
                answer = self.runner.json(args, environ=pins)
                if answer:
                    actions = parse_actions(answer)
                else:  # conda did the work and printed nothing (lock files): read it from disk
                    actions = transaction_actions(records or [], conda_meta_records(self.target))
                self.link += actions["link"]
                self.unlink += actions["unlink"]
            if self.params["prune"]:
                current = conda_meta_records(self.target)
                again = plan(current, desired, "present", True, {}, self.protect(current))
                if again["remove"]:
                    args = ["remove", "-p", self.target] + again["remove"]
                    self.main_cmd = self.main_cmd or self.runner.argv(args)
                    answer = self.runner.json(args, environ=pins)
                    self.unlink += parse_actions(answer)["unlink"]
            requirements = decision["pip"] if existed else list(desired["pip"])
            if requirements:
                argv = self.pip_argv(desired, requirements)
                self.runner.commands.append(argv)
                env = dict(self.runner.environ)
                env.update({"PIP_NO_INPUT": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
                rc, out, err = self.module.run_command(argv, environ_update=env, expand_user_and_vars=False)
                if rc != 0:
                    raise CondaError("pip failed (rc %s): %s" % (rc, (err or out).strip()[-2000:]), cmd=argv, rc=rc,
                                     stdout=out, stderr=err, info={"exception_name": "PipError"})
                self.pip_done = list(requirements)
        except CondaError as exc:
            self.fail(exc, rollback=(existed, revision, fingerprint))

    def rollback(self, existed, revision, fingerprint):
        """Undo what a failed run left behind; True when the environment is as it was."""
        if not existed:
            if os.path.lexists(self.target):
                shutil.rmtree(self.target, ignore_errors=True)
            return not os.path.lexists(self.target)
        if meta_fingerprint(self.target) == fingerprint:
            return True
        if revision is None:
            return False
        try:
            self.runner.json(["install", "-p", self.target, "--revision", str(revision)])
        except CondaError:
            return False
        return True

    def fail(self, exc, rollback=None):
        result = exc.result()
        result["prefix"] = self.target
        result["commands"] = self.runner.commands
        if rollback is not None:
            result["rolled_back"] = self.rollback(*rollback)
        self.module.fail_json(**result)

    # -- absent ------------------------------------------------------------

    def absent(self):
        if not is_conda_prefix(self.target):
            return self.finish(None, None, changed=False)
        if self.is_base:
            self.module.fail_json(msg="refusing to remove the base environment of %s" % self.base, prefix=self.target)
        known = set(os.path.realpath(env["prefix"]) for env in environments(self.base) if not env["base"])
        if os.path.realpath(self.target) not in known:
            self.module.fail_json(msg="%s is not an environment of the installation at %s; refusing to remove it"
                                  % (self.target, self.base), prefix=self.target)
        before = conda_meta_records(self.target)
        self.unlink = [dict(name=r["name"], version=str(r["version"]), build=r.get("build", ""), channel="")
                       for r in before]
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
        if self.module._diff:
            result["diff"] = {
                "before_header": self.target, "after_header": self.target,
                "before": "".join(line + "\n" for line in package_lines(before_pkgs)) if before is not None else "",
                "after": "".join(line + "\n" for line in package_lines(after_pkgs)) if after is not None else "",
            }
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
        records = self.read(self.quick_names(desired))
        pip_before = pip_dists(self.target) if records is not None and desired["pip"] else {}
        decision = plan(records, desired, self.params["state"], self.params["prune"], pip_before,
                        self.protect(records))
        if not needs_change(decision):
            return self.finish(records, records, changed=False, decision=decision)
        if records is not None and self.quick_names(desired) is not None:  # now read every record in full
            records = self.read()
            decision = plan(records, desired, self.params["state"], self.params["prune"], pip_before,
                            self.protect(records))
        if self.module.check_mode:
            after = self.predict(records, desired, decision)
            changed = records is None or bool(self.link or self.unlink or self.pip_done)
            return self.finish(records, after, changed=changed, decision=decision)
        self.apply(records, desired, decision)
        after = conda_meta_records(self.target)
        pip_after = pip_dists(self.target) if desired["pip"] else {}
        added, removed, changed_pkgs = delta(records or [], after)
        changed = records is None or bool(added or removed or changed_pkgs) or pip_after != pip_before
        return self.finish(records, after, changed=changed, decision=decision)


def main():
    module = AnsibleModule(
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
        ),
        mutually_exclusive=[("name", "path"), ("spec_file", "spec_content")],
        required_one_of=[("name", "path")],
        supports_check_mode=True,
    )
    name = module.params["name"]
    if name is not None and env_name_error(name):
        module.fail_json(msg=env_name_error(name))
    run = EnvRun(module)
    try:
        run.converge()
    except LockTimeout as exc:
        module.fail_json(msg=str(exc), prefix=run.target)


if __name__ == "__main__":
    main()
