# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""nvidia_gpu_info's run: ask nvidia-smi (bounded in time), read /proc and /sys, summarize (``_nvidia``).

The module ``nvidia_gpu_info`` is this with its documentation; ``conda_probe`` calls ``detect`` for the same facts.
"""

from __future__ import annotations

import os
import time

from ansible_collections.condafleet.conda.plugins.module_utils._nvidia import (
    QUERY_FIELDS,
    parse_smi_banner,
    parse_smi_query,
    read_pci_gpus,
    read_proc_driver,
    read_sys_module_version,
    run_bounded,
    smi_failure_message,
    smi_rejected_field,
    summarize,
)

SMI_EXTRA_DIRS = ["/usr/local/nvidia/bin", "/usr/lib/wsl/lib"]


def find_nvidia_smi(module, path=None):
    """The nvidia-smi to run (``path`` when given and executable), or ``None``."""
    if path:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
        module.warn("nvidia_smi %s is not an executable file; reading /proc and /sys instead" % path)
        return None
    return module.get_bin_path("nvidia-smi", required=False, opt_dirs=SMI_EXTRA_DIRS)


class SmiTimeout(Exception):
    """nvidia-smi did not answer within the module's timeout."""


class Smi:
    """Runs nvidia-smi, all its runs within one deadline."""

    def __init__(self, path, timeout):
        self.path = path
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.env = dict(os.environ, LC_ALL="C", LANG="C")

    def run(self, args):
        """``(rc, out, err)`` of ``nvidia-smi ARGS``; raises :class:`SmiTimeout` past the deadline."""
        left = self.deadline - time.monotonic()
        try:
            rc, out, err = run_bounded([self.path] + list(args), left, self.env) if left > 0 else (None, "", "")
        except OSError as exc:  # not a program this host can run
            return 126, "", "cannot run %s: %s" % (self.path, exc.strerror or exc)
        if rc is None:
            raise SmiTimeout("nvidia-smi did not answer within %ss and was killed" % self.timeout)
        return rc, out, err


def query_nvidia_smi(module, smi):
    """Ask nvidia-smi. Returns ``(gpus, banner, error)``; ``(None, None, why)`` (with a warning) when it fails."""
    try:
        gpus, banner, error = _query(smi)
    except SmiTimeout as exc:
        gpus, banner, error = None, None, str(exc)
    if error:
        module.warn("%s; %s" % (error, "reading /proc and /sys instead" if gpus is None
                                else "cuda_driver_max comes from the driver-branch table"))
    return gpus, banner, error


def _query(smi):
    fields = list(QUERY_FIELDS)
    rc, out, err = smi.run(["--query-gpu=%s" % ",".join(fields), "--format=csv,noheader"])
    if rc != 0 and smi_rejected_field(out, err, "compute_cap"):
        fields.remove("compute_cap")
        rc, out, err = smi.run(["--query-gpu=%s" % ",".join(fields), "--format=csv,noheader"])
    if rc != 0:
        return None, None, "nvidia-smi failed (rc=%s): %s" % (rc, smi_failure_message(rc, out, err))
    gpus = parse_smi_query(out, fields)
    if not gpus:
        return None, None, "nvidia-smi listed no GPUs"
    try:
        rc, out, _err = smi.run([])
    except SmiTimeout:  # the query answered: only the banner's CUDA version is missing
        return gpus, None, "nvidia-smi answered the GPU query but not, within %ss, the banner (killed)" % smi.timeout
    return gpus, parse_smi_banner(out) if rc == 0 else None, None


SPEC = dict(
    argument_spec=dict(
        nvidia_smi=dict(type="path"),
        sysfs_root=dict(type="path", default="/sys"),
        procfs_root=dict(type="path", default="/proc"),
        timeout=dict(type="int", default=30),
    ),
    supports_check_mode=True,
)


def detect(module, nvidia_smi=None, sysfs_root="/sys", procfs_root="/proc", timeout=30):
    """What the host has: the facts nvidia_gpu_info returns (without ``changed``). ``module`` warns and finds programs."""
    smi = find_nvidia_smi(module, nvidia_smi)
    smi_gpus, banner, error = query_nvidia_smi(module, Smi(smi, timeout)) if smi else (None, None, None)
    result = summarize(
        smi_gpus=smi_gpus,
        banner=banner,
        proc=read_proc_driver(procfs_root),
        sys_module=read_sys_module_version(sysfs_root),
        pci_gpus=read_pci_gpus(sysfs_root),
    )
    return dict(result, nvidia_smi=smi, nvidia_smi_error=error)


def run(module):
    """The module's whole run on ``module`` (an AnsibleModule made with ``SPEC``)."""
    p = module.params
    if p["timeout"] <= 0:
        module.fail_json(msg="timeout must be a positive number of seconds, got %s" % p["timeout"])
    module.exit_json(changed=False, **detect(module, p["nvidia_smi"], p["sysfs_root"], p["procfs_root"], p["timeout"]))
