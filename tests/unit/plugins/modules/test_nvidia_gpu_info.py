# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""nvidia_gpu_info run in-process on fake /sys and /proc trees, with a fake nvidia-smi program that really runs."""
from __future__ import annotations

import json
import os
import shutil
import stat
import time

import pytest
from ansible.module_utils.common import warnings as common_warnings
from core_compat import module_utils_internal, no_warnings, patch_module_args

from ansible_collections.condafleet.conda.plugins.filter.torch_build import choose_torch_build
from ansible_collections.condafleet.conda.plugins.module_utils import _gpu as gpu
from ansible_collections.condafleet.conda.plugins.modules import nvidia_gpu_info

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "data", "nvidia")
QUERY = "--query-gpu=index,name,uuid,driver_version,memory.total,compute_cap"
QUERY_NOCC = "--query-gpu=index,name,uuid,driver_version,memory.total"

# A stand-in for nvidia-smi: answers from files beside it, logs each call (argv and LC_ALL) to calls.log.
FAKE_SMI = r"""#!/bin/sh
PATH=/usr/bin:/bin
here=$(dirname "$0")
printf '%s|%s\n' "$*" "${LC_ALL:-}" >> "$here/calls.log"
case "$1" in
  --query-gpu=*compute_cap*) answer=query ;;
  --query-gpu=*) answer=query-nocc ;;
  *) answer=banner ;;
esac
[ -f "$here/$answer.out" ] && cat "$here/$answer.out"
if [ -f "$here/$answer.hang" ]; then  # a wedged driver: nvidia-smi never returns (a child keeps its output open)
  sleep 3600 &
  echo "$$ $!" >> "$here/hung.pids"
  wait
fi
exit "$(cat "$here/$answer.rc" 2>/dev/null || echo 0)"
"""


def data(name):
    with open(os.path.join(DATA, name), encoding="utf-8") as handle:
        return handle.read()


def build_tree(root, layout_name):
    """Materialize a tests/unit/data/nvidia/sysfs-*.json layout under ``root``; returns (sysfs, procfs)."""
    layout = json.loads(data(layout_name))
    for rel, text in layout["files"].items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for rel, target in layout["links"].items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, str(path))
    (root / "sys").mkdir(exist_ok=True)
    (root / "proc").mkdir(exist_ok=True)
    return str(root / "sys"), str(root / "proc")


class FakeSmi:
    """An nvidia-smi program on disk in its own directory."""

    def __init__(self, directory, **answers):
        directory.mkdir()
        self.dir = directory
        self.path = str(directory / "nvidia-smi")
        with open(self.path, "w") as handle:
            handle.write(FAKE_SMI)
        os.chmod(self.path, stat.S_IRWXU)
        for name, (rc, fixture) in answers.items():
            (directory / ("%s.out" % name.replace("_", "-"))).write_text(data(fixture) if fixture else "")
            (directory / ("%s.rc" % name.replace("_", "-"))).write_text(str(rc))

    def hang(self, answer):
        (self.dir / ("%s.hang" % answer)).write_text("")

    def hung_pids(self):
        log = self.dir / "hung.pids"
        return [int(pid) for line in log.read_text().splitlines() for pid in line.split()] if log.exists() else []

    @property
    def calls(self):
        log = self.dir / "calls.log"
        if not log.exists():
            return []
        return [line.split("|") for line in log.read_text().splitlines()]


@pytest.fixture
def run(capsys, monkeypatch):
    # Importing controller code (ansible.errors, the filter plugin, other tests' action plugins) flips
    # is_controller, which sends module warnings to the display instead of the result; a module runs on a target.
    monkeypatch.setattr(module_utils_internal, "is_controller", False)

    def _run(args, check=False):
        # warnings are collected process-wide; each run here stands for one module process
        monkeypatch.setattr(common_warnings, "_global_warnings", no_warnings(), raising=False)
        args = dict(args, _ansible_check_mode=check)
        with patch_module_args(args):
            with pytest.raises(SystemExit) as exc:
                nvidia_gpu_info.main()
        result = json.loads(capsys.readouterr().out)
        result["_rc"] = exc.value.code
        # ansible-core 2.19 returns structured warnings ({"event": {"msg": ...}}), older cores plain strings.
        result["_warnings"] = [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]
        return result
    return _run


@pytest.fixture
def no_smi_on_path(monkeypatch, tmp_path):
    """PATH without nvidia-smi (skips where the host has one in the places get_bin_path always looks)."""
    extra = ["/sbin", "/usr/sbin", "/usr/local/sbin"] + gpu.SMI_EXTRA_DIRS
    if shutil.which("nvidia-smi", path=os.pathsep.join(extra)):
        pytest.skip("this host has an nvidia-smi outside PATH")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


@pytest.mark.parametrize("check", [False, True])
def test_nvidia_smi_one_gpu(run, tmp_path, check):
    sysfs, procfs = build_tree(tmp_path / "root", "sysfs-vm-cpu.json")
    smi = FakeSmi(tmp_path / "bin", query=(0, "smi-query-h100x1.csv"), banner=(0, "smi-banner-550.txt"))
    result = run({"nvidia_smi": smi.path, "sysfs_root": sysfs, "procfs_root": procfs}, check=check)
    assert result["_rc"] == 0 and not result["changed"] and not result.get("failed")
    assert result["source"] == "nvidia-smi" and result["nvidia_smi"] == smi.path
    assert result["gpus"] == [{"index": 0, "name": "NVIDIA H100 80GB HBM3",
                               "uuid": "GPU-5e0b2b5c-3b0e-8a7e-2f1d-7c4a9f3e2b10", "driver_version": "550.54.15",
                               "memory_total_mib": 81559, "compute_cap": "9.0"}]
    assert result["driver_version"] == "550.54.15" and result["driver_loaded"] and result["has_nvidia_gpu"]
    assert result["cuda_driver_max"] == "12.4"
    assert not result["_warnings"]
    assert smi.calls == [[QUERY + " --format=csv,noheader", "C"], ["", "C"]]


def test_nvidia_smi_eight_gpus_and_pci_devices(run, tmp_path):
    sysfs, procfs = build_tree(tmp_path / "root", "sysfs-dgx-a100.json")
    smi = FakeSmi(tmp_path / "bin", query=(0, "smi-query-a100x8.csv"), banner=(0, "smi-q-excerpt-535.txt"))
    result = run({"nvidia_smi": smi.path, "sysfs_root": sysfs, "procfs_root": procfs})
    assert result["source"] == "nvidia-smi" and len(result["gpus"]) == 8
    assert result["cuda_driver_max"] == "12.2" and result["driver_version"] == "535.104.05"
    assert [d["slot"] for d in result["pci_devices"]] == ["0000:07:00.0", "0000:0f:00.0"]
    assert {d["driver"] for d in result["pci_devices"]} == {"nvidia"}


def test_old_driver_without_compute_cap_is_asked_again(run, tmp_path):
    sysfs, procfs = build_tree(tmp_path / "root", "sysfs-vm-cpu.json")
    smi = FakeSmi(tmp_path / "bin", query=(2, "smi-error-compute-cap.txt"), query_nocc=(0, "smi-query-t4-470-nocc.csv"),
                  banner=(0, "smi-banner-470.txt"))
    result = run({"nvidia_smi": smi.path, "sysfs_root": sysfs, "procfs_root": procfs})
    assert [c[0] for c in smi.calls] == [QUERY + " --format=csv,noheader", QUERY_NOCC + " --format=csv,noheader", ""]
    assert result["gpus"][0]["name"] == "Tesla T4" and result["gpus"][0]["compute_cap"] is None
    assert result["cuda_driver_max"] == "11.4" and not result["_warnings"]


def test_banner_failure_falls_back_to_the_table(run, tmp_path):
    sysfs, procfs = build_tree(tmp_path / "root", "sysfs-vm-cpu.json")
    smi = FakeSmi(tmp_path / "bin", query=(0, "smi-query-mixed-na.csv"), banner=(1, None))
    result = run({"nvidia_smi": smi.path, "sysfs_root": sysfs, "procfs_root": procfs})
    assert result["source"] == "nvidia-smi" and result["cuda_driver_max"] == "13.0"
    assert result["gpus"][1]["uuid"] is None and result["gpus"][1]["memory_total_mib"] is None


def test_nvidia_smi_cannot_talk_to_driver_falls_back_to_procfs(run, tmp_path):
    sysfs, procfs = build_tree(tmp_path / "root", "sysfs-dgx-a100.json")
    smi = FakeSmi(tmp_path / "bin", query=(9, "smi-error-no-driver.txt"))
    result = run({"nvidia_smi": smi.path, "sysfs_root": sysfs, "procfs_root": procfs})
    assert result["_rc"] == 0 and not result.get("failed")
    assert result["source"] == "procfs" and result["driver_loaded"] and result["has_nvidia_gpu"]
    assert result["driver_version"] == "535.104.05" and result["cuda_driver_max"] == "12.2"
    assert [g["name"] for g in result["gpus"]] == ["NVIDIA A100-SXM4-80GB"] * 2
    assert len(smi.calls) == 1
    assert result["_warnings"] == [
        "nvidia-smi failed (rc=9): NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
        "Make sure that the latest NVIDIA driver is installed and running.; reading /proc and /sys instead"]


def test_gpu_without_driver(run, tmp_path):
    sysfs, procfs = build_tree(tmp_path / "root", "sysfs-workstation-nodriver.json")
    smi = FakeSmi(tmp_path / "bin", query=(9, "smi-error-no-driver.txt"))
    result = run({"nvidia_smi": smi.path, "sysfs_root": sysfs, "procfs_root": procfs})
    assert result["source"] == "sysfs" and result["has_nvidia_gpu"] and not result["driver_loaded"]
    assert result["driver_version"] is None and result["cuda_driver_max"] is None
    assert result["pci_devices"] == [{"slot": "0000:01:00.0", "vendor_id": "0x10de", "device_id": "0x2684",
                                      "pci_class": "0x030000", "driver": "nouveau"}]
    assert len(result["_warnings"]) == 1
    torch = choose_torch_build(result)
    assert torch["variant"] == "cpu" and "no usable NVIDIA driver" in torch["warnings"][0]


def test_no_devices_found(run, tmp_path):
    sysfs, procfs = build_tree(tmp_path / "root", "sysfs-vm-cpu.json")
    smi = FakeSmi(tmp_path / "bin", query=(6, "smi-error-no-devices.txt"))
    result = run({"nvidia_smi": smi.path, "sysfs_root": sysfs, "procfs_root": procfs})
    assert result["source"] == "none" and not result["has_nvidia_gpu"]
    assert result["_warnings"] == ["nvidia-smi failed (rc=6): No devices were found; reading /proc and /sys instead"]


def test_host_without_nvidia_is_a_normal_result(run, tmp_path, no_smi_on_path):
    sysfs, procfs = build_tree(tmp_path / "root", "sysfs-vm-cpu.json")
    result = run({"sysfs_root": sysfs, "procfs_root": procfs}, check=True)
    assert result["_rc"] == 0 and not result.get("failed") and not result["changed"]
    assert result["gpus"] == [] and result["pci_devices"] == [] and result["nvidia_smi"] is None
    assert result["source"] == "none" and not result["has_nvidia_gpu"] and not result["driver_loaded"]
    assert result["driver_version"] is None and result["cuda_driver_max"] is None
    assert not result["_warnings"]
    assert choose_torch_build(result) == {
        "variant": "cpu", "cuda_version": None, "cuda_driver_max": None, "style": "conda-forge",
        "specs": ["pytorch=*=*cpu*"], "channels": ["conda-forge"], "environment": {}, "warnings": []}


def test_procfs_only_open_kernel_module(run, tmp_path, no_smi_on_path):
    root = tmp_path / "root"
    sysfs, procfs = build_tree(root, "sysfs-vm-cpu.json")
    (root / "proc" / "driver" / "nvidia").mkdir(parents=True)
    (root / "proc" / "driver" / "nvidia" / "version").write_text(data("proc-version-550-open.txt"))
    result = run({"sysfs_root": sysfs, "procfs_root": procfs})
    assert result["source"] == "procfs" and result["driver_loaded"]
    assert result["driver_version"] == "550.54.15" and result["cuda_driver_max"] == "12.4"
    assert not result["has_nvidia_gpu"]   # no GPU listed in /proc or /sys: a driver without a visible GPU


def test_sysfs_module_version_only(run, tmp_path, no_smi_on_path):
    root = tmp_path / "root"
    sysfs, procfs = build_tree(root, "sysfs-dgx-a100.json")
    shutil.rmtree(str(root / "proc" / "driver"))
    result = run({"sysfs_root": sysfs, "procfs_root": procfs})
    assert result["source"] == "sysfs" and result["driver_loaded"] and result["cuda_driver_max"] == "12.2"
    assert [g["driver_version"] for g in result["gpus"]] == ["535.104.05"] * 2
    assert [g["name"] for g in result["gpus"]] == [None, None]


def test_nvidia_smi_found_on_path(run, tmp_path, monkeypatch):
    sysfs, procfs = build_tree(tmp_path / "root", "sysfs-vm-cpu.json")
    smi = FakeSmi(tmp_path / "bin", query=(0, "smi-query-h100x1.csv"), banner=(0, "smi-banner-550.txt"))
    monkeypatch.setenv("PATH", str(smi.dir))
    result = run({"sysfs_root": sysfs, "procfs_root": procfs})
    assert result["nvidia_smi"] == smi.path and result["source"] == "nvidia-smi" and not result["_warnings"]
    assert choose_torch_build(result, style="pytorch")["specs"] == ["pytorch=*=*cuda*", "pytorch-cuda=12.4"]


def test_explicit_nvidia_smi_missing_warns_and_reads_files(run, tmp_path):
    sysfs, procfs = build_tree(tmp_path / "root", "sysfs-dgx-a100.json")
    missing = str(tmp_path / "nowhere" / "nvidia-smi")
    result = run({"nvidia_smi": missing, "sysfs_root": sysfs, "procfs_root": procfs})
    assert result["_rc"] == 0 and result["source"] == "procfs" and result["nvidia_smi"] is None
    assert result["_warnings"] == ["nvidia_smi %s is not an executable file; reading /proc and /sys instead" % missing]


def _alive(pid):
    """Whether ``pid`` runs (a zombie waiting for a reaper does not)."""
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_hung_nvidia_smi_is_killed_and_the_files_are_read(run, tmp_path):
    sysfs, procfs = build_tree(tmp_path / "root", "sysfs-dgx-a100.json")
    smi = FakeSmi(tmp_path / "bin", query=(0, "smi-query-h100x1.csv"))
    smi.hang("query")
    started = time.monotonic()
    result = run({"nvidia_smi": smi.path, "sysfs_root": sysfs, "procfs_root": procfs, "timeout": 2})
    took = time.monotonic() - started
    assert took < 10, took
    assert result["_rc"] == 0 and not result.get("failed")
    assert result["source"] == "procfs" and result["driver_version"] == "535.104.05" and result["has_nvidia_gpu"]
    assert result["nvidia_smi_error"] == "nvidia-smi did not answer within 2s and was killed"
    assert result["_warnings"] == ["nvidia-smi did not answer within 2s and was killed; reading /proc and /sys instead"]
    assert len(smi.calls) == 1  # not asked again once it hung
    pids = smi.hung_pids()
    # nvidia-smi and its child are killed; a SIGKILLed process ends a moment later on a busy machine
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(pids) == 2 and not any(_alive(pid) for pid in pids)


def test_hung_banner_keeps_the_query_and_uses_the_table(run, tmp_path):
    sysfs, procfs = build_tree(tmp_path / "root", "sysfs-vm-cpu.json")
    smi = FakeSmi(tmp_path / "bin", query=(0, "smi-query-h100x1.csv"), banner=(0, "smi-banner-550.txt"))
    smi.hang("banner")
    result = run({"nvidia_smi": smi.path, "sysfs_root": sysfs, "procfs_root": procfs, "timeout": 2})
    assert result["_rc"] == 0 and result["source"] == "nvidia-smi" and len(result["gpus"]) == 1
    assert result["cuda_driver_max"] == "12.4"  # R550 in the driver-branch table
    assert "banner" in result["nvidia_smi_error"] and len(result["_warnings"]) == 1
    assert "driver-branch table" in result["_warnings"][0]


def test_answering_nvidia_smi_reports_no_error(run, tmp_path):
    sysfs, procfs = build_tree(tmp_path / "root", "sysfs-vm-cpu.json")
    smi = FakeSmi(tmp_path / "bin", query=(0, "smi-query-h100x1.csv"), banner=(0, "smi-banner-550.txt"))
    result = run({"nvidia_smi": smi.path, "sysfs_root": sysfs, "procfs_root": procfs})
    assert result["nvidia_smi_error"] is None and not result["_warnings"]
    assert [c[1] for c in smi.calls] == ["C", "C"]  # nvidia-smi speaks English to the parser


@pytest.mark.parametrize("timeout", [0, -5])
def test_timeout_must_be_positive(run, tmp_path, timeout):
    smi = FakeSmi(tmp_path / "bin", query=(0, "smi-query-h100x1.csv"))
    result = run({"nvidia_smi": smi.path, "timeout": timeout})
    assert result["failed"] and "timeout must be a positive number of seconds, got %d" % timeout in result["msg"]
    assert smi.calls == []
