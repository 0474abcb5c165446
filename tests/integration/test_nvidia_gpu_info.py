# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""condafleet.conda.nvidia_gpu_info through ansible-playbook, with a hung nvidia-smi stand-in on PATH.

GPUs are hardware, not conda: a stand-in program is the only way to make nvidia-smi hang on demand.
"""
from __future__ import annotations

import os
import stat
import time

MODULE = "condafleet.conda.nvidia_gpu_info"

HUNG_SMI = """#!/bin/sh
echo "$$" >> "$(dirname "$0")/started"
exec sleep 3600
"""


def test_a_hung_nvidia_smi_on_path_is_killed_within_the_timeout(run_module, tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    smi = bindir / "nvidia-smi"
    smi.write_text(HUNG_SMI)
    os.chmod(str(smi), stat.S_IRWXU)
    started = time.monotonic()
    res = run_module(MODULE, {"timeout": 3}, environment={"PATH": "%s:/usr/bin:/bin" % bindir})
    took = time.monotonic() - started
    assert not res.failed and not res.changed, res.result
    assert res["nvidia_smi"] == str(smi)
    assert res["nvidia_smi_error"] == "nvidia-smi did not answer within 3s and was killed"
    assert res["source"] != "nvidia-smi"  # read from /proc and /sys instead
    assert "did not answer within 3s and was killed; reading /proc and /sys instead" in res.stdout + res.stderr
    assert took < 60, took  # ansible-playbook's own start included; a hang would last an hour
    pid = int((bindir / "started").read_text().split()[0])
    assert not os.path.exists("/proc/%d" % pid)  # killed, and reaped by the module
