#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: conda_install
short_description: Install, upgrade, repair and remove Miniforge or Miniconda, verified
version_added: 0.1.0
description:
  - Installs a base conda distribution (Miniconda or Miniforge) into O(prefix) with the upstream installer, run in
    batch mode, after checking its SHA-256.
  - Whether something is installed is read from disk alone (C(conda-meta/history), C(bin/conda) and the C(conda)
    record in C(conda-meta)); conda is never run for it, and a host already at the requested version downloads
    nothing.
  - A prefix left half-written by an interrupted install is detected and installed again. A non-empty directory
    that is not a conda installation is refused, never overwritten or removed.
  - With O(installer_cache=controller), or an O(installer_src) on the controller, the action plugin downloads the
    installer once on the controller, keeps it in a cache, verifies it and copies it to the hosts that need it.
  - For organisations bound by Anaconda's terms of service, prefer O(distribution=miniforge), which installs from
    conda-forge only and is free of those terms.
author:
  - condafleet.conda contributors (@condafleet)
attributes:
  check_mode:
    details:
      - Predicts the action from disk without downloading the installer. With O(state=latest) and O(version=latest)
        it reads the first kilobytes of the installer (or the URL it redirects to) to learn its version.
  diff_mode:
    details:
      - Shows the prefix, its state and the conda version before and after.
  action:
    description: Has an action plugin, so some of the work can run on the controller.
    support: full
    details:
      - The action plugin runs on the controller for O(installer_cache=controller) and for an O(installer_src) on
        the controller; otherwise it only runs the module.
extends_documentation_fragment:
  - condafleet.conda.attributes
  - condafleet.conda.installation
options:
  state:
    description:
      - V(present) installs when nothing is there and keeps any existing installation, upgrading it only when
        O(version) names a newer release than the installed one.
      - V(latest) also upgrades in place (installer C(-u)) when the installer that O(version) designates is newer
        than the installed conda. With O(version=latest) the installer's version is learned before anything is
        downloaded, from the file name the URL redirects to (Miniforge's C(latest) URLs) or from the version line
        (C(# VER:) or C(INSTALLER_VER=)) in the first kilobytes of the installer.
      - Miniforge's upstream C(latest) copies have no C(.sha256) sidecar; without O(checksum) the module installs the
        versioned asset that C(latest) redirects to, verified against its sidecar.
      - V(absent) removes the prefix, only when it is a conda installation (complete or interrupted), and removes
        the C(conda init) block that points at it from the shell rc files of O(init_users).
      - A prefix counts as a conda installation only on positive evidence. Complete means C(conda-meta/history),
        C(bin/conda) and a conda package record. Interrupted means the marker C(.condafleet-install) that this module
        writes before its installer runs and removes once the installation is complete. Any other non-empty
        directory (a plain environment, a folder with files) is refused for every O(state), with what was found
        there.
    type: str
    choices: [present, latest, absent]
    default: present
  distribution:
    description:
      - V(miniconda) is Anaconda's installer; its C(defaults) channels are subject to Anaconda's terms of service.
      - V(miniforge) is conda-forge's installer, with conda-forge as its only channel.
      - The default was V(miniconda) in version 0.1.0. Miniconda's C(latest) installer has no checksum to verify
        it against, so the old default failed without O(checksum).
    type: str
    choices: [miniconda, miniforge]
    default: miniforge
  version:
    description:
      - The installer release, conda version and build number as in its file name (V(26.3.2-3), V(25.3.1-1)), or
        V(latest).
      - Compared with the installed conda version (build number ignored); an installed conda newer than the
        requested one is never downgraded.
    type: str
    default: latest
  python:
    description:
      - The Python version of a Miniconda installer with a pinned O(version) (Miniconda only), as O(condafleet.conda.conda_env#module:python)
        takes it, for example V("3.12"); the tag of the installer's file name (V(py312)) is accepted too.
      - Defaults to V("3.13") when the name of a Miniconda installer is derived.
    type: str
  installer_url:
    description:
      - The installer's URL, instead of deriving it from O(distribution), O(version) and the host's platform.
      - Set O(version) to the release it contains so that upgrades can be decided without downloading it.
    type: str
  mirror_url:
    description:
      - Base URL of a mirror holding the installers under their upstream file names, each with a C(.sha256) sidecar.
    type: str
  installer_src:
    description:
      - An installer file already on the controller (default), or on the host with O(remote_src=true).
      - A C(.sha256) sidecar next to it is used when no O(checksum) is given.
    type: path
  remote_src:
    description:
      - O(installer_src) is a path on the host.
    type: bool
    default: false
  checksum:
    description:
      - The installer's digest, V(sha256:HEX).
    type: str
  checksum_url:
    description:
      - URL of a C(.sha256) file (C(sha256sum) output or a bare digest) for the installer.
    type: str
  allow_unverified:
    description:
      - Install an installer whose checksum nobody published (Miniconda from upstream with neither O(checksum) nor
        O(checksum_url)). Without it the module fails. Never allowed for a plain http URL.
    type: bool
    default: false
  installer_cache:
    description:
      - V(host) downloads the installer on each host that needs it, into O(tmp_dir), and deletes it afterwards.
      - V(controller) downloads it once into O(cache_dir) on the controller (for the whole play), verifies it, and
        copies it to the hosts that need it; hosts need no network access.
    type: str
    choices: [host, controller]
    default: host
  cache_dir:
    description:
      - Controller directory for O(installer_cache=controller). Defaults to C(~/.cache/condafleet/installers).
    type: path
  tmp_dir:
    description:
      - Host directory for the downloaded installer. It may be mounted noexec (the installer runs through C(bash)).
      - Defaults to Ansible's remote temporary directory.
    type: path
  headers:
    description:
      - HTTP headers for the downloads (for example an authenticated mirror's token). Kept out of logs.
    type: dict
  url_username:
    description:
      - User name for HTTP basic authentication to the mirror.
    type: str
  url_password:
    description:
      - Password for HTTP basic authentication to the mirror. Kept out of logs and results.
    type: str
  force_basic_auth:
    description:
      - Send the basic authentication header with the first request.
    type: bool
    default: false
  validate_certs:
    description:
      - Verify TLS certificates of the download URLs.
    type: bool
    default: true
  timeout:
    description:
      - Timeout in seconds of each HTTP request.
    type: int
    default: 60
  lock_timeout:
    description:
      - Seconds to wait for another run of this module on the same prefix of the same host (another play, a
        second task) to finish before failing.
      - A run that has something to install, upgrade, repair or remove takes a lock first, the file
        C(.NAME.condafleet-install.lock) next to the prefix (in its parent directory, created if need be), and
        decides again once it holds it, so that a second run finds the first one's installation and changes
        nothing. The file is removed when the run is over (one left by a killed run goes with the next run that
        takes the lock). A run that cannot write the parent directory locks the existing prefix directory instead.
      - A run with nothing to do, and check mode, take no lock.
    type: int
    default: 1800
  umask:
    description:
      - The umask the installer runs with, as an octal string.
      - V(0002) is used when O(group_writable=true).
    type: str
    default: "0022"
  owner:
    description:
      - Owner of the installation. Applied to the whole tree after an install or upgrade, and checked on the prefix
        directory otherwise.
    type: str
  group:
    description:
      - Group of the installation, applied like O(owner).
    type: str
  mode:
    description:
      - Mode of the prefix directory itself, as an octal string (for example V('2775') for a shared installation).
    type: str
  group_writable:
    description:
      - Make the whole installation group-writable (and directories setgid) after an install or upgrade, for a shared
        multi-user installation managed by O(group).
    type: bool
    default: false
  init_shells:
    description:
      - Shells whose rc file gets the C(conda init) block for this prefix (C(~/.bashrc), C(~/.zshrc)) for each of
        O(init_users). Written by the module itself, the same block C(conda init) writes; conda is not run.
        A symlinked rc file is updated through the link (its target keeps its owner and mode); a dangling link is refused.
      - Off by default.
    type: list
    elements: str
    default: []
  init_users:
    description:
      - Users for O(init_shells), and whose rc files O(state=absent) cleans. Defaults to the user the module runs as.
    type: list
    elements: str
notes:
  - The installer runs as C(bash INSTALLER -b -p PREFIX), plus C(-u) to upgrade or repair in place, and C(-f) when
    the prefix is an existing empty directory.
  - Miniconda 25.x and later configure Anaconda's channels, which need their terms of service accepted before the
    first package operation (see the collection's README); Miniforge does not.
  - Credentials in URLs (O(installer_url), O(mirror_url), O(checksum_url); C(user:password@), C(/t/<token>/),
    C(?token=)) are masked (C(********)) in the results, messages, the invocation, the host's log and the controller
    cache's C(source.json).
seealso:
  - name: Miniforge
    description: conda-forge's installer and its releases.
    link: https://github.com/conda-forge/miniforge
"""

EXAMPLES = r"""
- name: Install Miniforge, verified against its published sidecar
  condafleet.conda.conda_install:
    prefix: /opt/conda
    distribution: miniforge
    version: 26.3.2-3

- name: Keep Miniforge at the latest release
  condafleet.conda.conda_install:
    prefix: /opt/conda
    distribution: miniforge
    state: latest

- name: Miniconda, pinned, with its checksum from Anaconda's index
  condafleet.conda.conda_install:
    prefix: /opt/miniconda3
    version: 26.5.3-1
    python: py313
    checksum: sha256:7358a5961dc6a4941d087281cd70313728fcc68695735e18a337321bc31c7f51

- name: Air-gapped fleet, one download on the controller from an authenticated mirror
  condafleet.conda.conda_install:
    prefix: /opt/conda
    distribution: miniforge
    version: 26.3.2-3
    mirror_url: https://mirror.example.org/miniforge
    url_username: fleet
    url_password: "{{ mirror_password }}"
    installer_cache: controller

- name: Shared installation for the group "science", with bash initialised for two users
  condafleet.conda.conda_install:
    prefix: /srv/conda
    distribution: miniforge
    version: 26.3.2-3
    group: science
    mode: "2775"
    group_writable: true
    init_shells: [bash]
    init_users: [alice, bob]

- name: Remove it, and the conda init blocks of those users
  condafleet.conda.conda_install:
    prefix: /srv/conda
    state: absent
    init_users: [alice, bob]
"""

RETURN = r"""
prefix:
  description: The installation prefix.
  returned: always
  type: str
  sample: /opt/conda
conda_exe:
  description: Path of the conda executable, or V(null) when nothing is installed.
  returned: always
  type: str
  sample: /opt/conda/bin/conda
version:
  description: The conda version installed after the task (predicted in check mode), or V(null).
  returned: always
  type: str
  sample: 26.3.2
previous_version:
  description: The conda version installed before the task, or V(null).
  returned: always
  type: str
  sample: 25.3.1
distribution:
  description: The requested distribution.
  returned: always
  type: str
  sample: miniforge
installer_url:
  description: Where the installer came (or would come) from, credentials masked (C(********)); V(null) when none was needed.
  returned: always
  type: str
  sample: https://github.com/conda-forge/miniforge/releases/download/26.3.2-3/Miniforge3-26.3.2-3-Linux-x86_64.sh
action:
  description: What the task did (or would do).
  returned: always
  type: str
  choices: [none, install, reinstall, upgrade, remove]
  sample: install
reason:
  description: Why.
  returned: always
  type: str
  sample: nothing is installed there
rc_files:
  description: Shell rc files whose C(conda init) block was written or removed.
  returned: always
  type: list
  elements: str
  sample: [/home/alice/.bashrc]
msg:
  description: For O(state=absent) with nothing at O(prefix), that nothing was there (and where installations usually are).
  returned: when O(state=absent) found nothing to remove
  type: str
  sample: "no conda installation at /opt/conda (nothing is there); set prefix (Miniforge installs into ~/miniforge3 or
    /opt/miniforge3, Miniconda into ~/miniconda3); nothing to remove"
installer_sha256:
  description: The verified digest of the installer that ran.
  returned: when an installer ran
  type: str
stdout:
  description: What a failed installer printed on its standard output (its last line is in C(msg)).
  returned: when the installer failed, at verbosity 3 (C(-vvv)) or more
  type: str
stderr:
  description: What a failed installer printed on its standard error.
  returned: when the installer failed, at verbosity 3 (C(-vvv)) or more
  type: str
"""

import json
import os
import pwd
import grp
import shutil
import tempfile
import time

from ansible.module_utils.urls import fetch_url

from ansible_collections.condafleet.conda.plugins.module_utils._masked_module import MaskedModule
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


def main():
    module = MaskedModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        Installer(module).run()
    except OSError as exc:  # a read-only or full file system, a file in the way: named, never a traceback
        module.fail_json(msg="%s: %s%s" % (module.params["prefix"], exc.strerror or exc,
                                           " (%s)" % exc.filename if exc.filename else ""),
                         prefix=module.params["prefix"])


if __name__ == "__main__":
    main()
