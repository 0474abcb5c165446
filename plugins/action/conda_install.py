# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of ``condafleet.conda.conda_install``.

With ``installer_cache: controller`` (or an ``installer_src`` on the
controller) the installer is fetched once per controller into a cache, shared
by every host of the play (a file lock makes parallel forks wait for the one
download), verified there, and copied only to the hosts whose prefix needs it.
The module decides; the plugin carries out the step of the acquisition plan
that needs the controller:

1. the module runs first and decides from the host's disk (no network); a host
   already at the requested version stops there. A host that needs the
   controller exits with ``acquire``: the step (``discover``: learn the release
   that ``latest`` stands for; ``fetch``: the installer), the release and the
   host's platform;
2. the plugin builds that same plan (``_installer.acquisition``) from the
   task's arguments, which hold the credentials the module's masked results
   cannot carry, and carries the step out with ``_acquire``: after
   ``discover`` the module runs again with the release; after ``fetch`` (into
   the cache, under its lock, verified) the file goes into the task's remote
   temp dir and
3. the module runs again with that file (``remote_src``) and its verified
   digest, and installs it.

Otherwise the plugin only runs the module.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.module_utils.urls import open_url
from ansible.plugins.action import ActionBase

from ansible_collections.condafleet.conda.plugins.module_utils import _acquire as acquire
from ansible_collections.condafleet.conda.plugins.module_utils import _installer as inst
from ansible_collections.condafleet.conda.plugins.module_utils._secrets import mask

MODULE = "condafleet.conda.conda_install"
_CONTROLLER_ONLY = ("headers", "url_username", "url_password", "force_basic_auth", "validate_certs", "timeout", "cache_dir")
#: what the final run is given instead: the verified file and its digest
_SOURCE_ARGS = ("installer_url", "mirror_url", "checksum_url", "installer_cache", "allow_unverified")


class ActionModule(ActionBase):
    TRANSFERS_FILES = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        local_src = bool(args.get("installer_src")) and not boolean(args.get("remote_src", False), strict=False)
        try:
            if args.get("installer_cache", "host") != "controller" and not local_src:
                result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
            else:
                result.update(self._run_cached(args, local_src, task_vars))
        except (AnsibleError, inst.InstallerError, acquire.AcquireError, OSError) as exc:
            result.update(failed=True, msg=to_native(exc))
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return mask(result)  # the module's results are masked already; this covers the plugin's own messages

    # ------------------------------------------------------------------------------------------------

    def _run_cached(self, args, local_src, task_vars):
        params = dict(inst.DEFAULTS)
        params.update((key, value) for key, value in args.items() if value is not None)
        probe_args = self._host_args(args)
        if local_src:
            params["installer_src"] = probe_args["installer_src"] = self._find_needle("files", args["installer_src"])
        request = inst.validate(params)
        if request["state"] == "absent":
            return self._execute_module(module_name=MODULE, module_args=probe_args, task_vars=task_vars)
        probe_args["installer_cache"] = "controller"
        opener = functools.partial(
            open_url,
            headers=params.get("headers") or {},
            url_username=params.get("url_username"),
            url_password=params.get("url_password"),
            force_basic_auth=boolean(params.get("force_basic_auth", False), strict=False),
            validate_certs=boolean(params.get("validate_certs", True), strict=False),
            timeout=int(params.get("timeout") or 60),
        )
        for _probe in range(2):  # a "discover" step pins the version, so the second probe never asks it again
            probe = self._execute_module(module_name=MODULE, module_args=probe_args, task_vars=task_vars)
            step = probe.pop("acquire", None)
            if probe.get("failed") or not step:
                return probe
            plan = inst.acquisition(dict(request, release=step["version"]), params, step["system"], step["machine"])
            if step["step"] == "discover":
                probe_args["version"] = acquire.discover_release(plan, opener)
                continue
            path, digest = self._cached_installer(params, plan, opener)
            remote = self._connection._shell.join_path(self._connection._shell.tmpdir, os.path.basename(path))
            self._transfer_file(path, remote)
            self._fixup_perms2((self._connection._shell.tmpdir, remote))
            run_args = dict((k, v) for k, v in probe_args.items() if k not in _SOURCE_ARGS)
            run_args.update(installer_src=remote, remote_src=True, checksum="sha256:" + digest, version=step["version"])
            final = self._execute_module(module_name=MODULE, module_args=run_args, task_vars=task_vars)
            final["installer_url"] = plan["display"]
            return final
        raise AnsibleError("%s asked the controller to discover the installer's release twice" % MODULE)

    @staticmethod
    def _host_args(args):
        return dict((k, v) for k, v in args.items() if k not in _CONTROLLER_ONLY)

    @staticmethod
    def _cached_installer(params, plan, opener):
        """Return (local path, sha256) of a verified installer, downloading it at most once per cache."""
        cache_dir = os.path.expanduser(params.get("cache_dir") or "~/.cache/condafleet/installers")
        key = hashlib.sha256((plan["url"] or plan["path"]).encode("utf-8")).hexdigest()[:16]
        entry = os.path.join(cache_dir, key)
        os.makedirs(entry, mode=0o700, exist_ok=True)
        name = plan["name"] or "installer.sh"
        with open(os.path.join(entry, ".lock"), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                expected = acquire.expected_digest(plan, opener, cached=os.path.join(entry, plan["name"] + ".sha256"))
                if plan["kind"] == "file":
                    return plan["path"], acquire.verify_file(plan["path"], expected, plan["display"])
                path = os.path.join(entry, name)
                if os.path.isfile(path):
                    actual = acquire.sha256_file(path)
                    if expected is None or actual == expected:
                        return path, actual
                    os.unlink(path)  # a stale or corrupt copy: fetch again
                actual = acquire.fetch_verified(plan, opener, path, expected)
                acquire.keep(os.path.join(entry, "source.json"), json.dumps({"url": plan["display"], "sha256": actual}))
                return path, actual
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
