# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""_nvidia: parsers on recorded-style output, the driver-to-CUDA table at its edges, file readers on fake trees."""
from __future__ import annotations

import json
import os

import pytest

from ansible_collections.condafleet.conda.plugins.module_utils import _nvidia

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "data", "nvidia")


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


# --- driver -> CUDA table -------------------------------------------------------------------------------------

# (driver just below a branch, its CUDA), (first driver of the branch, its CUDA) for every row of the table.
TABLE_EDGES = [
    ("409.99", None), ("410.48", "10.0"),
    ("418.39", "10.1"), ("440.33", "10.2"),
    ("449.99.99", "10.2"), ("450.36.06", "11.0"),
    ("454.99", "11.0"), ("455.23", "11.1"),
    ("460.27.03", "11.2"), ("465.19.01", "11.3"),
    ("469.99", "11.3"), ("470.42.01", "11.4"),
    ("494.99", "11.4"), ("495.29.05", "11.5"),
    ("509.99", "11.5"), ("510.39.01", "11.6"),
    ("514.99", "11.6"), ("515.43.04", "11.7"),
    ("519.99", "11.7"), ("520.61.05", "11.8"),
    ("524.99", "11.8"), ("525.60.13", "12.0"),
    ("529.99", "12.0"), ("530.30.02", "12.1"),
    ("534.99", "12.1"), ("535.54.03", "12.2"),
    ("544.99", "12.2"), ("545.23.06", "12.3"),
    ("549.99", "12.3"), ("550.54.14", "12.4"),
    ("554.99", "12.4"), ("555.42.02", "12.5"),
    ("559.99", "12.5"), ("560.28.03", "12.6"),
    ("564.99", "12.6"), ("565.57.01", "12.7"),
    ("569.99", "12.7"), ("570.26", "12.8"),
    ("574.99", "12.8"), ("575.51.03", "12.9"),
    ("579.99", "12.9"), ("580.65.06", "13.0"),
    ("590.44.01", "13.0"),  # newer than the table: the table's newest, a lower bound
]


@pytest.mark.parametrize("driver, cuda", TABLE_EDGES)
def test_cuda_driver_max_edges(driver, cuda):
    assert _nvidia.cuda_driver_max(driver) == cuda


@pytest.mark.parametrize("driver, cuda", [
    ("520.56.06", "11.8"),   # R520 supports CUDA 11.8 at most
    ("535.104.05", "12.2"),
    ("535.161.08", "12.2"),
    ("550.54.15", "12.4"),
    ("570.133.20", "12.8"),
    ("580.82.07", "13.0"),
    ("390.157", None),        # older than the table
    ("470.182.03", "11.4"),
])
def test_cuda_driver_max_known_drivers(driver, cuda):
    assert _nvidia.cuda_driver_max(driver) == cuda


@pytest.mark.parametrize("value", [None, "", "[N/A]", "N/A", "abc", "535", "535.x.1", 535])
def test_cuda_driver_max_not_a_driver(value):
    assert _nvidia.cuda_driver_max(value) is None


def test_table_is_sorted_and_increasing():
    branches = [row[0] for row in _nvidia.CUDA_DRIVER_BRANCHES]
    cudas = [_nvidia.cuda_version_tuple(row[1]) for row in _nvidia.CUDA_DRIVER_BRANCHES]
    assert branches == sorted(set(branches))
    assert cudas == sorted(set(cudas))


@pytest.mark.parametrize("value, expected", [
    ("12.4", "12.4"), (12.4, "12.4"), ("12.4.1", "12.4"), ("12", "12.0"), (" 11.8 ", "11.8"), (13, "13.0"),
])
def test_normalize_cuda_version(value, expected):
    assert _nvidia.normalize_cuda_version(value) == expected


@pytest.mark.parametrize("value", [None, True, "", "auto", "12.x", "v12.4", "12.4.1.1", [12, 4]])
def test_normalize_cuda_version_rejects(value):
    with pytest.raises(ValueError):
        _nvidia.normalize_cuda_version(value)


def test_cuda_version_tuple_orders_numerically():
    assert _nvidia.cuda_version_tuple("12.10") > _nvidia.cuda_version_tuple("12.9")


# --- nvidia-smi -----------------------------------------------------------------------------------------------

def test_parse_smi_query_one_gpu():
    assert _nvidia.parse_smi_query(data("smi-query-h100x1.csv")) == [{
        "index": 0, "name": "NVIDIA H100 80GB HBM3", "uuid": "GPU-5e0b2b5c-3b0e-8a7e-2f1d-7c4a9f3e2b10",
        "driver_version": "550.54.15", "memory_total_mib": 81559, "compute_cap": "9.0",
    }]


def test_parse_smi_query_eight_gpus():
    gpus = _nvidia.parse_smi_query(data("smi-query-a100x8.csv"))
    assert [g["index"] for g in gpus] == list(range(8))
    assert {g["name"] for g in gpus} == {"NVIDIA A100-SXM4-80GB"}
    assert {g["driver_version"] for g in gpus} == {"535.104.05"}
    assert {g["memory_total_mib"] for g in gpus} == {81920}
    assert len({g["uuid"] for g in gpus}) == 8


@pytest.mark.parametrize("fixture", ["smi-query-mixed-na.csv", "smi-query-mixed-nounits.csv"])
def test_parse_smi_query_placeholders_and_units(fixture):
    gpus = _nvidia.parse_smi_query(data(fixture))
    assert gpus[0]["memory_total_mib"] == 24564 and gpus[0]["compute_cap"] == "8.9"
    assert gpus[1] == {"index": 1, "name": "NVIDIA A100 80GB PCIe", "uuid": None, "driver_version": "580.65.06",
                       "memory_total_mib": None, "compute_cap": None}


def test_parse_smi_query_without_compute_cap_field():
    fields = [f for f in _nvidia.QUERY_FIELDS if f != "compute_cap"]
    gpus = _nvidia.parse_smi_query(data("smi-query-t4-470-nocc.csv"), fields)
    assert gpus == [{"index": 0, "name": "Tesla T4", "uuid": "GPU-2d6b4c1a-8e3f-11ec-9b0a-0242ac120002",
                     "driver_version": "470.182.03", "memory_total_mib": 15109, "compute_cap": None}]


def test_parse_smi_query_skips_header_errors_and_rejoins_commas():
    text = ("index, name, uuid, driver_version, memory.total [MiB], compute_cap\n"
            "0, Fancy GPU, rev 2, GPU-1, 550.54.15, 16 GiB, 8.6\n"
            "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n"
            "\n")
    assert _nvidia.parse_smi_query(text) == [{"index": 0, "name": "Fancy GPU, rev 2", "uuid": "GPU-1",
                                              "driver_version": "550.54.15", "memory_total_mib": 16384,
                                              "compute_cap": "8.6"}]


@pytest.mark.parametrize("fixture", ["smi-error-no-driver.txt", "smi-error-no-devices.txt",
                                     "smi-error-compute-cap.txt"])
def test_parse_smi_query_error_output_is_no_gpu(fixture):
    assert _nvidia.parse_smi_query(data(fixture)) == []
    assert _nvidia.parse_smi_query("") == [] and _nvidia.parse_smi_query(None) == []


@pytest.mark.parametrize("text, mib", [("81559 MiB", 81559), ("81559", 81559), ("80 GiB", 81920), ("[N/A]", None),
                                       ("[Not Supported]", None), ("lots", None), ("2048 KiB", 2)])
def test_parse_memory_mib(text, mib):
    assert _nvidia.parse_memory_mib(text) == mib


@pytest.mark.parametrize("fixture, smi, driver, cuda", [
    ("smi-banner-470.txt", "470.182.03", "470.182.03", "11.4"),
    ("smi-banner-550.txt", "550.54.15", "550.54.15", "12.4"),
    ("smi-banner-580.txt", "580.65.06", "580.65.06", "13.0"),
    ("smi-q-excerpt-535.txt", None, "535.104.05", "12.2"),
])
def test_parse_smi_banner(fixture, smi, driver, cuda):
    expected = {"smi_version": smi, "driver_version": driver, "cuda_version": cuda}
    assert _nvidia.parse_smi_banner(data(fixture)) == expected


def test_parse_smi_banner_without_cuda_or_output():
    assert _nvidia.parse_smi_banner("| NVIDIA-SMI 550.54.15  Driver Version: 550.54.15  CUDA Version: N/A |") == {
        "smi_version": "550.54.15", "driver_version": "550.54.15", "cuda_version": None}
    assert _nvidia.parse_smi_banner(data("smi-error-no-driver.txt")) == {
        "smi_version": None, "driver_version": None, "cuda_version": None}


def test_smi_failure_message_and_rejected_field():
    assert _nvidia.smi_failure_message(9, data("smi-error-no-driver.txt"), "").startswith(
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver")
    assert _nvidia.smi_failure_message(6, "", data("smi-error-no-devices.txt")) == "No devices were found"
    assert _nvidia.smi_failure_message(127, "", "") == "exit code 127"
    assert _nvidia.smi_failure_message(1, "", "Segmentation fault\n") == "Segmentation fault"
    assert _nvidia.smi_rejected_field(data("smi-error-compute-cap.txt"), "")
    assert not _nvidia.smi_rejected_field(data("smi-error-no-driver.txt"), "")


# --- /proc and /sys -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fixture, version, kind", [
    ("proc-version-390.txt", "390.157", "proprietary"),
    ("proc-version-470.txt", "470.182.03", "proprietary"),
    ("proc-version-535.txt", "535.104.05", "proprietary"),
    ("proc-version-535-aarch64.txt", "535.161.08", "proprietary"),
    ("proc-version-550-open.txt", "550.54.15", "open"),
    ("proc-version-580-open.txt", "580.65.06", "open"),
])
def test_parse_proc_driver_version(fixture, version, kind):
    assert _nvidia.parse_proc_driver_version(data(fixture)) == {"driver_version": version, "kernel_module": kind}


@pytest.mark.parametrize("text", [None, "", "GCC version:  gcc version 12.2.0\n", "NVRM version: garbage\n"])
def test_parse_proc_driver_version_none(text):
    assert _nvidia.parse_proc_driver_version(text) is None


def test_parse_sys_module_version():
    assert _nvidia.parse_sys_module_version("550.54.15\n") == "550.54.15"
    assert _nvidia.parse_sys_module_version("") is None
    assert _nvidia.parse_sys_module_version(None) is None


def test_parse_proc_gpu_information():
    assert _nvidia.parse_proc_gpu_information(data("proc-gpu-information-a100.txt")) == {
        "name": "NVIDIA A100-SXM4-80GB", "uuid": "GPU-0a1e6c3d-62b4-1f4e-8f0e-3c1d2b4a5e01",
        "bus_id": "0000:07:00.0", "minor": 0}
    assert _nvidia.parse_proc_gpu_information("") == {"name": None, "uuid": None, "bus_id": None, "minor": None}


@pytest.mark.parametrize("vendor, cls, expected", [
    ("0x10de\n", "0x030200\n", True),    # 3D controller (datacenter)
    ("0x10de", "0x030000", True),        # VGA
    ("0x10DE", "0x030001", True),
    ("0x10de", "0x040300", False),       # the GPU's HD audio function
    ("0x10de", "0x0c0330", False),       # its USB controller
    ("0x10de", "0x068000", False),       # NVSwitch
    ("0x8086", "0x030000", False),       # Intel iGPU
    (None, None, False),
])
def test_is_nvidia_gpu_function(vendor, cls, expected):
    assert _nvidia.is_nvidia_gpu_function(vendor, cls) is expected


def test_read_files_on_dgx_tree(tmp_path):
    sysfs, procfs = build_tree(tmp_path, "sysfs-dgx-a100.json")
    assert _nvidia.read_pci_gpus(sysfs) == [
        {"slot": "0000:07:00.0", "vendor_id": "0x10de", "device_id": "0x20b2", "pci_class": "0x030200",
         "driver": "nvidia"},
        {"slot": "0000:0f:00.0", "vendor_id": "0x10de", "device_id": "0x20b2", "pci_class": "0x030200",
         "driver": "nvidia"},
    ]
    assert _nvidia.read_sys_module_version(sysfs) == (True, "535.104.05")
    proc = _nvidia.read_proc_driver(procfs)
    assert proc["version"] == {"driver_version": "535.104.05", "kernel_module": "proprietary"}
    assert [(g["bus_id"], g["name"], g["minor"]) for g in proc["gpus"]] == [
        ("0000:07:00.0", "NVIDIA A100-SXM4-80GB", 0), ("0000:0f:00.0", "NVIDIA A100-SXM4-80GB", 1)]


def test_read_files_on_workstation_without_driver(tmp_path):
    sysfs, procfs = build_tree(tmp_path, "sysfs-workstation-nodriver.json")
    assert _nvidia.read_pci_gpus(sysfs) == [
        {"slot": "0000:01:00.0", "vendor_id": "0x10de", "device_id": "0x2684", "pci_class": "0x030000",
         "driver": "nouveau"}]
    assert _nvidia.read_sys_module_version(sysfs) == (False, None)
    assert _nvidia.read_proc_driver(procfs) == {"version": None, "gpus": []}


def test_read_files_on_missing_roots(tmp_path):
    missing = str(tmp_path / "nothing")
    assert _nvidia.read_pci_gpus(missing) == []
    assert _nvidia.read_sys_module_version(missing) == (False, None)
    assert _nvidia.read_proc_driver(missing) == {"version": None, "gpus": []}
    assert _nvidia.read_text(missing) is None


# --- summarize ------------------------------------------------------------------------------------------------

def test_summarize_prefers_nvidia_smi_and_its_banner():
    result = _nvidia.summarize(smi_gpus=_nvidia.parse_smi_query(data("smi-query-h100x1.csv")),
                               banner=_nvidia.parse_smi_banner(data("smi-banner-550.txt")),
                               proc={"version": {"driver_version": "550.54.15"}, "gpus": []},
                               sys_module=(True, "550.54.15"))
    assert result["source"] == "nvidia-smi" and result["driver_loaded"] and result["has_nvidia_gpu"]
    assert result["driver_version"] == "550.54.15" and result["cuda_driver_max"] == "12.4"
    assert result["gpus"][0]["compute_cap"] == "9.0"


def test_summarize_banner_wins_over_table():
    # R565 reports 12.7 by the table too; a banner that says otherwise is believed.
    result = _nvidia.summarize(smi_gpus=[{"index": 0, "name": "x", "uuid": None, "driver_version": "565.57.01",
                                          "memory_total_mib": None, "compute_cap": None}],
                               banner={"cuda_version": "12.6"})
    assert result["cuda_driver_max"] == "12.6"
    no_banner = _nvidia.summarize(smi_gpus=result["gpus"], banner=None)
    assert no_banner["cuda_driver_max"] == "12.7"


def test_summarize_procfs_fallback(tmp_path):
    sysfs, procfs = build_tree(tmp_path, "sysfs-dgx-a100.json")
    result = _nvidia.summarize(proc=_nvidia.read_proc_driver(procfs),
                               sys_module=_nvidia.read_sys_module_version(sysfs),
                               pci_gpus=_nvidia.read_pci_gpus(sysfs))
    assert result["source"] == "procfs" and result["driver_loaded"]
    assert result["driver_version"] == "535.104.05" and result["cuda_driver_max"] == "12.2"
    assert result["gpus"] == [
        {"index": 0, "name": "NVIDIA A100-SXM4-80GB", "uuid": "GPU-0a1e6c3d-62b4-1f4e-8f0e-3c1d2b4a5e01",
         "driver_version": "535.104.05", "memory_total_mib": None, "compute_cap": None},
        {"index": 1, "name": "NVIDIA A100-SXM4-80GB", "uuid": "GPU-1b2f7d4e-73c5-2a5f-9a1f-4d2e3c5b6f12",
         "driver_version": "535.104.05", "memory_total_mib": None, "compute_cap": None},
    ]


def test_summarize_sysfs_only_driver():
    result = _nvidia.summarize(sys_module=(True, "580.65.06"),
                               pci_gpus=[{"slot": "0000:41:00.0", "driver": "nvidia"}])
    assert result["source"] == "sysfs" and result["driver_loaded"]
    assert result["cuda_driver_max"] == "13.0" and result["gpus"][0]["driver_version"] == "580.65.06"


def test_summarize_gpu_without_driver(tmp_path):
    sysfs, procfs = build_tree(tmp_path, "sysfs-workstation-nodriver.json")
    result = _nvidia.summarize(proc=_nvidia.read_proc_driver(procfs),
                               sys_module=_nvidia.read_sys_module_version(sysfs),
                               pci_gpus=_nvidia.read_pci_gpus(sysfs))
    assert result["source"] == "sysfs" and result["has_nvidia_gpu"] and not result["driver_loaded"]
    assert result["driver_version"] is None and result["cuda_driver_max"] is None
    assert result["gpus"] == [{"index": 0, "name": None, "uuid": None, "driver_version": None,
                               "memory_total_mib": None, "compute_cap": None}]


def test_summarize_nothing():
    assert _nvidia.summarize() == {"gpus": [], "driver_version": None, "driver_loaded": False,
                                   "cuda_driver_max": None, "has_nvidia_gpu": False, "source": "none",
                                   "pci_devices": []}
