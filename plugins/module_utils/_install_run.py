# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""conda_install's run: read the installation, decide (``_installer``), apply or predict, describe.

The module ``conda_install`` is this with its documentation; ``conda_probe`` runs it in check mode on a
stand-in module (``_step``) to learn, from disk alone, whether the installation is converged.
"""

from __future__ import annotations

import json
import os
import pwd
import grp
import shutil
import tempfile
import time

from ansible_collections.condafleet.conda.plugins.module_utils._install_lock import LockError, LockTimeout, PrefixLock
from ansible_collections.condafleet.conda.plugins.module_utils._prefix import (
    INSTALL_MARKER, installation_error, installation_state)
from ansible_collections.condafleet.conda.plugins.module_utils import _acquire as acquire
from ansible_collections.condafleet.conda.plugins.module_utils import _installer as inst
from ansible_collections.condafleet.conda.plugins.module_utils import _files as files


def argument_spec():
    return dict(
        prefix=dict(type="path", default=inst.DEFAULTS["prefix"]),
        state=dict(type="str", default=inst.DEFAULTS["state"], choices=list(inst.STATES)),
        distribution=dict(type="str", default=inst.DEFAULTS["distribution"], choices=list(inst.DISTRIBUTIONS)),
        version=dict(type="str", default=inst.DEFAULTS["version"]),
        python=dict(type="str"),
        installer_url=dict(type="str"),
        mirror_url=dict(type="str"),
        installer_src=dict(type="path"),
        remote_src=dict(type="bool", default=False),
        checksum=dict(type="str"),
        checksum_url=dict(type="str"),
        allow_unverified=dict(type="bool", default=False),
        installer_cache=dict(type="str", default="host", choices=["host", "controller"]),
        cache_dir=dict(type="path"),
        tmp_dir=dict(type="path"),
        headers=dict(type="dict", no_log=True),
        url_username=dict(type="str"),
        url_password=dict(type="str", no_log=True),
        force_basic_auth=dict(type="bool", default=False),
        validate_certs=dict(type="bool", default=True),
        timeout=dict(type="int", default=60),
        lock_timeout=dict(type="int", default=1800),
        umask=dict(type="str", default="0022"),
        owner=dict(type="str"),
        group=dict(type="str"),
        mode=dict(type="str"),
        group_writable=dict(type="bool", default=False),
        init_shells=dict(type="list", elements="str", default=[]),
        init_users=dict(type="list", elements="str"),
    )


class Installer:
    """Read state, decide (module_utils._installer), apply."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        try:
            self.request = inst.validate(self.params)
        except inst.InstallerError as exc:
            module.fail_json(msg=str(exc))
        self.prefix = self.request["prefix"]
        self.system, self.machine = os.uname()[0], os.uname()[4]
        self.lock = None

    def run_locked(self):
        """``run()`` again, holding the prefix's install lock; fails the module when the lock cannot be had."""
        umask = 0o002 if self.params["group_writable"] else self.request["umask"]
        self.lock = PrefixLock(self.prefix, self.params["lock_timeout"], umask)
        try:
            with self.lock:
                self.run()
        except (LockTimeout, LockError) as exc:  # only taking the lock raises these
            self.module.fail_json(msg="%s; nothing was changed" % exc, prefix=self.prefix)

    # -- the installer: plan (module_utils._installer.acquisition), carried out by module_utils._acquire --------

    def acquisition(self, request):
        """The acquisition plan for ``request`` on this host; fails on a platform with no published installer."""
        try:
            return inst.acquisition(request, self.params, self.system, self.machine)
        except inst.InstallerError as exc:
            self.module.fail_json(msg=str(exc), prefix=self.prefix)

    def ask_controller(self, step, result):
        """Exit with the step of the plan that only the controller can carry out (the action plugin does it)."""
        result.update(acquire={"step": step, "version": self.request["release"], "system": self.system,
                               "machine": self.machine})
        self.module.exit_json(**result)

    def open(self, url):
        """``_acquire``'s opener on the host: ``fetch_url`` (the module's credentials, proxies, certificates)."""
        if getattr(self.module, "offline", False):  # conda_probe's check (_step): it reads the disk, nothing else
            raise acquire.AcquireError("a converged check does not download %s" % url)
        # imported here: ansible's urls (http, ssl, email) would otherwise be compiled at each converged check
        from ansible.module_utils.urls import fetch_url  # pylint: disable=import-outside-toplevel
        resp, info = fetch_url(self.module, url, headers=self.params.get("headers") or {}, timeout=self.params["timeout"])
        if resp is None or info.get("status") not in (200, None):
            raise acquire.AcquireError("HTTP %s %s" % (info.get("status"), info.get("msg", "")))
        return resp

    def discover(self, acq, result):
        """The release the installer designated by ``latest`` brings (asking the controller when it holds it)."""
        if acq["where"] == "controller":
            self.ask_controller("discover", result)
        try:
            return acquire.discover_release(acq, self.open)
        except acquire.AcquireError as exc:
            self.module.fail_json(msg=str(exc), prefix=self.prefix)

    # -- apply -------------------------------------------------------------------------------------

    def run_installer(self, decision, result, acq):
        workdir = tempfile.mkdtemp(prefix="conda_install.", dir=self.params.get("tmp_dir") or self.module.tmpdir)
        try:
            try:
                expected = acquire.expected_digest(acq, self.open)
                if acq["kind"] == "file":
                    path = acq["path"]
                    if not os.path.isfile(path):
                        self.module.fail_json(msg="installer_src %s does not exist on the host" % path)
                    actual = acquire.verify_file(path, expected, acq["display"])
                else:
                    path = os.path.join(workdir, acq["name"] or "installer.sh")
                    actual = acquire.fetch_verified(acq, self.open, path, expected)
            except acquire.AcquireError as exc:
                self.module.fail_json(msg=str(exc), prefix=self.prefix)
            if not expected:
                self.module.warn("installing %s without verifying its checksum (allow_unverified)" % result["installer_url"])
            result["installer_sha256"] = actual
            umask = 0o002 if self.params["group_writable"] else self.request["umask"]
            self.mark_started(decision, umask)
            # the prefix exists now (an existing empty directory keeps its owner and mode)
            argv = inst.installer_argv(path, self.prefix, decision["action"]) + ["-f"]
            env = {"CONDA_PLUGINS_AUTO_ACCEPT_TOS": "false"}
            rc, out, err = self.module.run_command(argv, umask=umask, environ_update=env, expand_user_and_vars=False)
            if rc != 0:
                # the installer's whole output only at -vvv: msg carries its last words
                output = dict(stdout=out, stderr=err) if self.module._verbosity >= 3 else {}
                self.module.fail_json(msg="the installer failed (rc %d)%s; run the task again to repair the prefix"
                                      % (rc, inst.last_words(err, out)),
                                      rc=rc, cmd=" ".join(argv), prefix=self.prefix, **output)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        after = installation_state(self.prefix)
        if not after["complete"]:
            self.module.fail_json(msg="the installer exited 0 but %s is not a complete conda installation (no %s); "
                                      "run the task again to repair it" % (self.prefix, after_missing(after)),
                                  prefix=self.prefix)
        os.unlink(os.path.join(self.prefix, INSTALL_MARKER))  # a complete installation, whatever its version
        return installation_state(self.prefix)

    def mark_started(self, decision, umask):
        """Create the prefix if need be and write the install marker into it, before the installer runs."""
        if not os.path.isdir(self.prefix):
            old = os.umask(umask)
            try:
                os.makedirs(self.prefix)
            except OSError as exc:
                self.module.fail_json(msg="cannot create %s (%s): nothing was installed"
                                          % (self.prefix, exc.strerror or exc), prefix=self.prefix)
            finally:
                os.umask(old)
        marker = os.path.join(self.prefix, INSTALL_MARKER)
        try:
            with open(marker, "w", encoding="utf-8") as handle:
                json.dump({"action": decision["action"], "distribution": self.request["distribution"],
                           "version": decision["after"]["version"], "started": int(time.time())}, handle)
                handle.write("\n")
        except OSError as exc:
            self.module.fail_json(msg="cannot write into %s (%s): nothing was installed or changed"
                                      % (self.prefix, exc.strerror or exc), prefix=self.prefix)

    def set_ownership(self, recursive):
        """owner/group/mode/group_writable; recursive after an install, the prefix directory alone otherwise."""
        owner, group, mode = self.params.get("owner"), self.params.get("group"), self.params.get("mode")
        changed = False
        if recursive and (owner or group or self.params["group_writable"]):
            uid = pwd.getpwnam(owner).pw_uid if owner else -1
            gid = grp.getgrnam(group).gr_gid if group else -1
            for root, dirs, files in os.walk(self.prefix):
                for name in [root] + [os.path.join(root, n) for n in dirs + files]:
                    os.lchown(name, uid, gid)
                    if self.params["group_writable"] and not os.path.islink(name):
                        st = os.lstat(name)
                        extra = 0o2070 if os.path.isdir(name) else 0o020
                        os.chmod(name, (st.st_mode & 0o7777) | extra)
            changed = True
        file_args = {"path": self.prefix, "owner": owner, "group": group, "mode": mode,
                     "secontext": [None, None, None], "attributes": None}
        return self.module.set_fs_attributes_if_different(file_args, changed)

    def users(self):
        names = self.params.get("init_users")
        if names:
            out = []
            for name in names:
                try:
                    out.append(pwd.getpwnam(name))
                except KeyError:
                    self.module.fail_json(msg="init_users: no such user %r" % name)
            return out
        me = pwd.getpwuid(os.getuid())
        # The user the module runs as: its HOME as Ansible's environment sets it.
        return [pwd.struct_passwd((me.pw_name, me.pw_passwd, me.pw_uid, me.pw_gid, me.pw_gecos,
                                   os.environ.get("HOME") or me.pw_dir, me.pw_shell))]

    def rc_edits(self, remove):
        """Planned rc-file edits: list of (path, old_text, new_text, pw) that differ."""
        edits = []
        shells = inst.SHELLS if remove else self.params["init_shells"]
        for pw in self.users() if (remove or shells) else []:
            for shell in shells:
                path = inst.rc_path(shell, pw.pw_dir, self.system)
                try:
                    with open(path, "r", encoding="utf-8") as handle:
                        old = handle.read()
                except OSError:
                    old = None
                if remove:
                    new = inst.without_init(old, self.prefix) if old is not None else None
                else:
                    new = inst.with_init(old, self.prefix, shell)
                if new != old:
                    try:  # a dangling or foreign symlink is refused before anything changes
                        files.resolve(path)
                    except files.FileError as exc:
                        self.module.fail_json(msg="%s. Nothing was changed." % exc)
                    edits.append((path, old, new, pw))
        return edits

    def write_rc(self, path, new, pw):
        """Replace the rc file (a symlink's target, keeping the link), its owner and mode kept (new: the user's, 0644)."""
        try:
            files.write_atomic(path, new.encode("utf-8"), new_owner=(pw.pw_uid, pw.pw_gid))
        except files.FileError as exc:
            self.module.fail_json(msg=str(exc))

    # -- main --------------------------------------------------------------------------------------

    def run(self):
        module, request = self.module, self.request
        current = installation_state(self.prefix)
        result = dict(changed=False, prefix=self.prefix, distribution=request["distribution"], installer_url=None,
                      previous_version=current["version"] if current["state"] == "installed" else None, rc_files=[])
        acq = target = None
        if request["state"] != "absent":
            acq = self.acquisition(request)
            # Only state=latest with version=latest needs to learn the installer's version before deciding.
            if acq["discover"] and current["state"] == "installed":
                target = self.discover(acq, result)
        decision = inst.plan(current, request["state"], request["release"], target)
        result.update(action=decision["action"], reason=decision["reason"])
        if decision["action"] == "refuse":
            if request["state"] == "absent":  # the wrong prefix, most likely: the message every module gives
                module.fail_json(msg="%s; refusing to remove what is not a conda installation"
                                 % installation_error(self.prefix, current), **result)
            module.fail_json(msg="%s: %s" % (self.prefix, decision["reason"]), **result)
        if request["state"] == "absent" and current["state"] == "absent":
            result["msg"] = "%s; nothing to remove" % installation_error(self.prefix, current)
        if inst.needs_installer(decision["action"]) and acq["pin"]:
            # Miniforge's "latest" copy has no sidecar: install the versioned asset it stands for, verified.
            target = target or self.discover(acq, result)
            self.request = request = dict(request, release=target)
            acq = self.acquisition(request)
            decision = inst.plan(current, request["state"], request["release"], target)
        if inst.needs_installer(decision["action"]):
            result["installer_url"] = acq["display"]
            try:  # fail on a missing checksum before touching anything
                acquire.check_checksum(acq, local=acq["where"] == "host")
            except acquire.AcquireError as exc:
                module.fail_json(msg=str(exc), **result)
            if acq["where"] == "controller" and not module.check_mode:
                # The action plugin supplies the verified installer from the controller and runs the module again.
                self.ask_controller("fetch", result)
        remove = decision["action"] == "remove"
        if request["state"] == "absent":
            edits = self.rc_edits(remove=True)
        else:
            edits = self.rc_edits(remove=False) if self.params["init_shells"] else []

        if self.lock is None and not module.check_mode and (inst.needs_installer(decision["action"]) or remove):
            # Decide again holding the prefix's lock: a run that held it before may have done the work meanwhile.
            self.run_locked()
            return

        after = current
        if not module.check_mode:
            if inst.needs_installer(decision["action"]):
                after = self.run_installer(decision, result, acq)
            elif remove:
                if os.path.islink(self.prefix):  # the installation the link points at, then the link
                    shutil.rmtree(os.path.realpath(self.prefix))
                    os.unlink(self.prefix)
                else:
                    shutil.rmtree(self.prefix)
                after = installation_state(self.prefix)
            if os.path.isdir(self.prefix) and request["state"] != "absent":
                if self.set_ownership(recursive=inst.needs_installer(decision["action"])):
                    result["changed"] = True
            for path, old, new, pw in edits:
                self.write_rc(path, new, pw)
            wrong = inst.label_mismatch(decision["after"]["version"], after["version"]) if inst.needs_installer(decision["action"]) else None
            if wrong:  # installed, but every later run would "upgrade" again: say so instead of reporting success
                module.fail_json(msg="the installer %s %s into %s: its label (version, or the installer's name or '# VER:' "
                                     "line) is wrong; give the version it really installs, or a correctly labelled installer"
                                 % (result["installer_url"], wrong, self.prefix),
                                 **dict(result, changed=True, version=after["version"], conda_exe=os.path.join(self.prefix, "bin", "conda")))
        elif request["state"] != "absent" and os.path.isdir(self.prefix) and not inst.needs_installer(decision["action"]):
            if self.set_ownership(recursive=False):  # in check mode, reports the difference only
                result["changed"] = True

        if decision["action"] != "none":
            result["changed"] = True
        if edits:
            result["changed"] = True
            result["rc_files"] = [e[0] for e in edits]
        if module.check_mode:
            version = decision["after"]["version"]
            installed = decision["after"]["state"] == "installed"
        else:
            version = after["version"] if after["state"] == "installed" else None
            installed = after["state"] == "installed"
        result["version"] = version
        result["conda_exe"] = os.path.join(self.prefix, "bin", "conda") if installed else None
        if module._diff:
            result["diff"] = {
                "before": {"prefix": self.prefix, "state": decision["before"]["state"], "version": decision["before"]["version"]},
                "after": {"prefix": self.prefix, "state": decision["after"]["state"] if module.check_mode else after["state"],
                          "version": version},
            }
            if edits:
                result["diff"]["before"]["rc_files"] = sorted(e[0] for e in edits if inst.has_init(e[1], self.prefix))
                result["diff"]["after"]["rc_files"] = sorted(e[0] for e in edits if inst.has_init(e[2], self.prefix))
        module.exit_json(**result)


def after_missing(state):
    """What an incomplete prefix lacks, for the message."""
    evidence = (("conda-meta/history", state["history"]), ("bin/conda", state["conda_exe"]),
                ("conda package record", state["version"]))
    missing = [name for name, present in evidence if not present]
    return ", ".join(missing) or "nothing"


SPEC = dict(argument_spec=argument_spec(), supports_check_mode=True)


def run(module):
    """The module's whole run on ``module`` (an AnsibleModule made with ``SPEC``, or ``_step``'s stand-in)."""
    try:
        Installer(module).run()
    except OSError as exc:  # a read-only or full file system, a file in the way: named, never a traceback
        module.fail_json(msg="%s: %s%s" % (module.params["prefix"], exc.strerror or exc,
                                           " (%s)" % exc.filename if exc.filename else ""),
                         prefix=module.params["prefix"])
