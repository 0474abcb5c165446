# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of ``condafleet.conda.conda_install``.

With ``installer_cache: controller`` (or an ``installer_src`` on the
controller) the installer is fetched once per controller into a cache, shared
by every host of the play (a file lock makes parallel forks wait for the one
download), verified there, and copied only to the hosts whose prefix needs it:

1. the module runs first and decides from the host's disk (no network); a host
   already at the requested version stops there;
2. a host that needs an installer says so (``installer_needed``) and reports its
   platform; the plugin derives the URL, fills the cache (download + sha256
   under a lock), copies the file into the task's remote temp dir;
3. the module runs again with that file (``remote_src``) and the verified digest.

Otherwise the plugin only runs the module.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.module_utils.urls import open_url
from ansible.plugins.action import ActionBase

from ansible_collections.condafleet.conda.plugins.module_utils import _installer as inst
from ansible_collections.condafleet.conda.plugins.module_utils._secrets import mask

MODULE = "condafleet.conda.conda_install"
CHUNK = 1 << 20
PROBE_BYTES = 64 * 1024
_CONTROLLER_ONLY = ("headers", "url_username", "url_password", "force_basic_auth", "validate_certs", "timeout", "cache_dir")


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
        except (AnsibleError, inst.InstallerError, OSError) as exc:
            result.update(failed=True, msg=to_native(exc))
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return mask(result)  # the module's results are masked already; this covers the plugin's own messages

    # ------------------------------------------------------------------------------------------------

    def _run_cached(self, args, local_src, task_vars):
        params = dict(args)
        params.setdefault("state", "present")
        params.setdefault("distribution", "miniconda")
        params.setdefault("version", "latest")
        if local_src:
            params["installer_src"] = self._find_needle("files", args["installer_src"])
        request = inst.validate(params)
        if request["state"] == "absent":
            return self._execute_module(module_name=MODULE, module_args=self._host_args(args), task_vars=task_vars)

        probe_args = self._host_args(args)
        probe_args["installer_cache"] = "controller"
        if request["state"] == "latest" and request["release"] == "latest":
            # The hosts may have no network: learn the version here (a few KiB, not the installer).
            system, machine = self._uname()
            source = self._source(params, request, system, machine)
            probe_args["version"] = self._discover(params, source)
        probe = self._execute_module(module_name=MODULE, module_args=probe_args, task_vars=task_vars)
        if probe.get("failed") or not probe.get("installer_needed"):
            if inst.needs_installer(probe.get("action")) and not probe.get("failed"):
                # Check mode: predict, and fail now on what the real run would fail on (no checksum, platform).
                source = self._source(params, request, *self._uname())
                if source["kind"] == "url" and not (request["distribution"] == "miniforge" and request["release"] == "latest"):
                    inst.checksum_source(request, params, source["url"], source["sidecar"])
                probe["installer_url"] = source["display"]
            return probe

        source = self._source(params, request, probe["system"], probe["machine"])
        if (request["source"] == "derived" and request["distribution"] == "miniforge" and request["release"] == "latest"
                and not params.get("mirror_url") and not request["digest"] and not params.get("checksum_url")):
            # Miniforge's "latest" copy has no sidecar: fetch the versioned asset it stands for, verified.
            probe_args["version"] = self._discover(params, source)
            request = dict(request, release=probe_args["version"])
            source = self._source(params, request, probe["system"], probe["machine"])
        path, digest = self._cached_installer(params, request, source)
        remote = self._connection._shell.join_path(self._connection._shell.tmpdir, os.path.basename(path))
        self._transfer_file(path, remote)
        self._fixup_perms2((self._connection._shell.tmpdir, remote))

        run_args = self._host_args(args)
        for key in ("installer_url", "mirror_url", "checksum_url", "installer_cache", "allow_unverified"):
            run_args.pop(key, None)
        run_args.update(installer_src=remote, remote_src=True, checksum="sha256:" + digest)
        if "version" in probe_args:
            run_args["version"] = probe_args["version"]
        final = self._execute_module(module_name=MODULE, module_args=run_args, task_vars=task_vars)
        final["installer_url"] = source["display"]
        final.pop("installer_needed", None)
        return final

    @staticmethod
    def _host_args(args):
        return dict((k, v) for k, v in args.items() if k not in _CONTROLLER_ONLY)

    def _uname(self):
        res = self._low_level_execute_command("uname -s -m", sudoable=False)
        parts = to_native(res.get("stdout", "")).split()
        if res.get("rc") != 0 or len(parts) != 2:
            raise AnsibleError("cannot read the host's platform with uname: %s" % to_native(res.get("stderr", "")))
        return parts[0], parts[1]

    def _source(self, params, request, system, machine, quiet=False):
        """Where the installer comes from, and where its checksum does."""
        if request["source"] == "src":
            path = params["installer_src"]
            return {"kind": "file", "path": path, "url": None, "sidecar": None, "display": path}
        if request["source"] == "url":
            url = params["installer_url"]
            return {"kind": "url", "url": url, "sidecar": None, "display": mask(url)}
        try:
            os_name, arch = inst.platform_of(request["distribution"], system, machine)
            inst.check_available(request["distribution"], request["release"], os_name, arch)
        except inst.InstallerError:
            if quiet:
                return {"display": None}
            raise
        url = inst.installer_url(request["distribution"], request["release"], os_name, arch, request["python"],
                                 params.get("mirror_url"))
        sidecar = inst.sidecar_url(request["distribution"], request["release"], url, params.get("mirror_url"))
        return {"kind": "url", "url": url, "sidecar": sidecar, "display": mask(url)}

    # -- network (controller) ------------------------------------------------------------------------

    def _open(self, params, url):
        return open_url(
            url,
            headers=params.get("headers") or {},
            url_username=params.get("url_username"),
            url_password=params.get("url_password"),
            force_basic_auth=boolean(params.get("force_basic_auth", False), strict=False),
            validate_certs=boolean(params.get("validate_certs", True), strict=False),
            timeout=int(params.get("timeout") or 60),
        )

    def _discover(self, params, source):
        if source["kind"] == "file":
            with open(source["path"], "rb") as handle:
                head = handle.read(PROBE_BYTES)
            release = inst.release_from_header(head.decode("latin-1")) or inst.release_from_filename(os.path.basename(source["path"]))[0]
        else:
            try:
                resp = self._open(params, source["url"])
            except Exception as exc:  # pylint: disable=broad-except
                raise AnsibleError("reading %s failed: %s" % (source["display"], to_native(exc)))
            try:
                release = inst.release_from_filename(inst.url_basename(resp.geturl() or source["url"]))[0]
                if not release:
                    release = inst.release_from_header(resp.read(PROBE_BYTES).decode("latin-1"))
            finally:
                resp.close()
        if not release:
            raise AnsibleError("cannot tell which conda version %s installs; pin version instead of latest" % source["display"])
        return release

    def _expected(self, params, request, source, entry):
        """The digest to trust: literal, a sidecar (fetched once into the cache), or None (allow_unverified)."""
        if request["digest"]:
            return request["digest"]
        name = os.path.basename(source["path"]) if source["kind"] == "file" else inst.url_basename(source["url"])
        if source["kind"] == "file" and not params.get("checksum_url"):
            side = source["path"] + ".sha256"
            if os.path.isfile(side):
                with open(side, "r", encoding="utf-8") as handle:
                    return inst.parse_sidecar(handle.read(), name)
            if boolean(params.get("allow_unverified", False), strict=False):
                return None
            raise AnsibleError("no checksum for installer_src %s: give checksum, checksum_url, a %s file, or allow_unverified"
                               % (source["path"], side))
        kind, origin = inst.checksum_source(request, params, source["url"] or source["path"], source.get("sidecar"))
        if kind == "none":
            return None
        cached = os.path.join(entry, name + ".sha256")
        if not os.path.isfile(cached):
            try:
                resp = self._open(params, origin)
                text = resp.read(CHUNK).decode("utf-8", "replace")
                resp.close()
            except Exception as exc:  # pylint: disable=broad-except
                raise AnsibleError("fetching the checksum %s failed: %s" % (origin, to_native(exc)))
            digest = inst.parse_sidecar(text, name)
            _write(cached, digest + "  " + name + "\n")
            return digest
        with open(cached, "r", encoding="utf-8") as handle:
            return inst.parse_sidecar(handle.read(), name)

    def _cached_installer(self, params, request, source):
        """Return (local path, sha256) of a verified installer, downloading it at most once per cache."""
        cache_dir = os.path.expanduser(params.get("cache_dir") or "~/.cache/condafleet/installers")
        key = hashlib.sha256((source["url"] or source["path"]).encode("utf-8")).hexdigest()[:16]
        entry = os.path.join(cache_dir, key)
        os.makedirs(entry, mode=0o700, exist_ok=True)
        with open(os.path.join(entry, ".lock"), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                expected = self._expected(params, request, source, entry)
                if source["kind"] == "file":
                    actual = _sha256(source["path"])
                    _check(expected, actual, source["display"])
                    return source["path"], actual
                path = os.path.join(entry, inst.url_basename(source["url"]) or "installer.sh")
                if os.path.isfile(path):
                    actual = _sha256(path)
                    if expected is None or actual == expected:
                        return path, actual
                    os.unlink(path)  # a stale or corrupt copy: fetch again
                actual = self._download(params, source, path)
                try:
                    _check(expected, actual, source["display"])
                except AnsibleError:
                    os.unlink(path)
                    raise
                _write(os.path.join(entry, "source.json"), json.dumps({"url": source["display"], "sha256": actual}))
                return path, actual
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _download(self, params, source, path):
        digest = hashlib.sha256()
        fd, part = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".part.")
        try:
            resp = self._open(params, source["url"])
            try:
                with os.fdopen(fd, "wb") as out:
                    for chunk in iter(lambda: resp.read(CHUNK), b""):
                        digest.update(chunk)
                        out.write(chunk)
            finally:
                resp.close()
            os.chmod(part, 0o644)
            shutil.move(part, path)
        except Exception as exc:  # pylint: disable=broad-except
            if os.path.exists(part):
                os.unlink(part)
            raise AnsibleError("downloading %s failed: %s" % (source["display"], to_native(exc)))
        return digest.hexdigest()


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check(expected, actual, display):
    if expected is not None and expected != actual:
        raise AnsibleError("checksum mismatch for %s: expected sha256:%s, got sha256:%s; nothing was installed"
                           % (display, expected, actual))


def _write(path, text):
    """Write a cache file (world-readable: it passes the masking rule, no credentials reach it)."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(mask(text))
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
