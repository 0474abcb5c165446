# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""NVIDIA GPU and driver detection: parsers for what nvidia-smi, /proc and /sys say, and the driver-to-CUDA table.

Everything but the ``read_*`` helpers and :func:`run_bounded` is pure (text in,
data out), so that the module stays thin and the parsing is tested on recorded
output. The ``read_*`` helpers only read files below a given root (``/proc``,
``/sys``), which lets tests point them at a fake tree; :func:`run_bounded` runs
nvidia-smi with a deadline of its own, since a wedged driver can hang it forever.
"""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess

NVIDIA_PCI_VENDOR = "0x10de"

# PCI class codes (base class + subclass, the first four hex digits of ``class``) of GPU functions:
# 0x0300 VGA compatible controller, 0x0302 3D controller (datacenter GPUs without display outputs).
# Other NVIDIA functions (HD audio 0x0403, USB 0x0c03, UCSI 0x0c80, NVSwitch bridges 0x0680) are not GPUs.
GPU_PCI_CLASSES = ("0x0300", "0x0302")

# Fields asked from ``nvidia-smi --query-gpu``, in order; ``compute_cap`` is unknown to drivers older than R510
# and is dropped when nvidia-smi rejects it.
QUERY_FIELDS = ("index", "name", "uuid", "driver_version", "memory.total", "compute_cap")

# Driver branch (major version) -> highest CUDA version that branch supports (what cuDriverGetVersion, conda's
# ``__cuda`` and the nvidia-smi banner report). From NVIDIA's CUDA Toolkit release notes, Table 3 "CUDA Toolkit
# and Corresponding Driver Versions" (Linux): 10.0 >= 410.48, 10.1 >= 418.39, 10.2 >= 440.33, 11.0 >= 450.36.06,
# 11.1 >= 455.23, 11.2 >= 460.27.03, 11.3 >= 465.19.01, 11.4 >= 470.42.01, 11.5 >= 495.29.05, 11.6 >= 510.39.01,
# 11.7 >= 515.43.04, 11.8 >= 520.61.05, 12.0 >= 525.60.13, 12.1 >= 530.30.02, 12.2 >= 535.54.03,
# 12.3 >= 545.23.06, 12.4 >= 550.54.14, 12.5 >= 555.42.02, 12.6 >= 560.28.03, 12.8 >= 570.26, 12.9 >= 575.51.03,
# 13.0 >= 580.65.06; R565 drivers report 12.7 although no 12.7 toolkit was released.
# A branch between two rows gets the lower row; a driver newer than the last row gets the last row's CUDA, a
# lower bound (the banner's "CUDA Version" is preferred when nvidia-smi can be asked).
CUDA_DRIVER_BRANCHES = (
    (410, "10.0"),
    (418, "10.1"),
    (440, "10.2"),
    (450, "11.0"),
    (455, "11.1"),
    (460, "11.2"),
    (465, "11.3"),
    (470, "11.4"),
    (495, "11.5"),
    (510, "11.6"),
    (515, "11.7"),
    (520, "11.8"),
    (525, "12.0"),
    (530, "12.1"),
    (535, "12.2"),
    (545, "12.3"),
    (550, "12.4"),
    (555, "12.5"),
    (560, "12.6"),
    (565, "12.7"),
    (570, "12.8"),
    (575, "12.9"),
    (580, "13.0"),
)

_DRIVER_VERSION_RE = re.compile(r"^\d+(?:\.\d+){1,3}$")
_CUDA_VERSION_RE = re.compile(r"^(\d+)(?:\.(\d+))?(?:\.\d+)?$")
_BANNER_DRIVER_RE = re.compile(r"Driver Version\s*:\s*(\S+)")
_BANNER_CUDA_RE = re.compile(r"CUDA Version\s*:\s*(\S+)")
_BANNER_SMI_RE = re.compile(r"NVIDIA-SMI\s+(\d+(?:\.\d+)+)")
_PROC_MODULE_RE = re.compile(r"Kernel Module(?:\s+for\s+\S+)?\s+(\d+(?:\.\d+)+)")
_PROC_ANY_VERSION_RE = re.compile(r"(?<![\d.])(\d{3}\.\d+(?:\.\d+)?)(?![\d.])")
_MEMORY_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([KMGT]i?B)?$", re.IGNORECASE)
_MEMORY_FACTORS = {"kib": 1.0 / 1024, "kb": 1.0 / 1024, "mib": 1, "mb": 1, "gib": 1024, "gb": 1024,
                   "tib": 1024 * 1024, "tb": 1024 * 1024}
_SMI_FAILED_MARKERS = ("NVIDIA-SMI has failed", "couldn't communicate with the NVIDIA driver", "No devices were found")


# --- versions -------------------------------------------------------------------------------------------------

def driver_version_tuple(version):
    """Return ``'535.104.05'`` as ``(535, 104, 5)``, or ``None`` when it is not a driver version."""
    if version is None:
        return None
    text = str(version).strip()
    if not _DRIVER_VERSION_RE.match(text):
        return None
    return tuple(int(part) for part in text.split("."))


def normalize_cuda_version(value):
    """Return a CUDA version as ``'X.Y'`` (``12.4``, ``'12.4.1'``, ``'12'`` -> ``'12.4'``, ``'12.4'``, ``'12.0'``).

    Floats (a YAML ``12.4``) are accepted. Raises ``ValueError`` for anything else.
    """
    if isinstance(value, bool) or value is None:
        raise ValueError("not a CUDA version: %r" % (value,))
    if isinstance(value, float):
        text = repr(value)
    else:
        text = str(value).strip()
    match = _CUDA_VERSION_RE.match(text)
    if not match:
        raise ValueError("not a CUDA version: %r" % (value,))
    return "%d.%d" % (int(match.group(1)), int(match.group(2) or 0))


def cuda_version_tuple(value):
    """Return ``'12.4'`` as ``(12, 4)``; ``ValueError`` as for :func:`normalize_cuda_version`."""
    major, minor = normalize_cuda_version(value).split(".")
    return int(major), int(minor)


def cuda_driver_max(driver_version):
    """Return the newest CUDA version (``'X.Y'``) a Linux driver supports, or ``None``.

    ``None`` for a value that is not a driver version or a driver older than the table (R410, CUDA 10.0).
    """
    parts = driver_version_tuple(driver_version)
    if parts is None:
        return None
    best = None
    for branch, cuda in CUDA_DRIVER_BRANCHES:
        if parts[0] >= branch:
            best = cuda
    return best


# --- nvidia-smi -----------------------------------------------------------------------------------------------

def _smi_value(text):
    """nvidia-smi's value or ``None`` for its placeholders (``[N/A]``, ``N/A``, ``[Not Supported]``, ...)."""
    if text is None:
        return None
    text = text.strip()
    if not text or text in ("N/A", "NA") or (text.startswith("[") and text.endswith("]")):
        return None
    return text


def parse_memory_mib(text):
    """Return a memory size in MiB as an int: ``'81559 MiB'``/``'81559'`` -> ``81559``; ``None`` for N/A."""
    value = _smi_value(text)
    if value is None:
        return None
    match = _MEMORY_RE.match(value)
    if not match:
        return None
    factor = _MEMORY_FACTORS.get((match.group(2) or "MiB").lower(), 1)
    return int(round(float(match.group(1)) * factor))


def _merge_name_field(row, fields):
    """Re-join a GPU name that contained commas, so that ``row`` has one cell per field."""
    extra = len(row) - len(fields)
    if extra <= 0 or "name" not in fields:
        return row
    at = fields.index("name")
    return row[:at] + [", ".join(row[at:at + extra + 1])] + row[at + extra + 1:]


def parse_smi_query(text, fields=QUERY_FIELDS):
    """Parse ``nvidia-smi --query-gpu=<fields> --format=csv,noheader[,nounits]`` output.

    Returns a list of dicts with the keys ``index``, ``name``, ``uuid``, ``driver_version``,
    ``memory_total_mib`` and ``compute_cap`` (``None`` where nvidia-smi printed a placeholder or the field was
    not asked). A header line and lines that are not GPU rows (errors) are skipped.
    """
    fields = tuple(fields)
    gpus = []
    lines = [line for line in (text or "").splitlines() if line.strip()]
    for row in csv.reader(lines, skipinitialspace=True):
        row = _merge_name_field([cell.strip() for cell in row], fields)
        if len(row) != len(fields):
            continue
        values = dict(zip(fields, row))
        if values.get("index", "").lower() == "index" or values.get("name", "").lower() == "name":
            continue  # a header line (format=csv without noheader)
        index = _smi_value(values.get("index"))
        if index is not None and not index.isdigit():
            continue
        driver = _smi_value(values.get("driver_version"))
        gpus.append({
            "index": int(index) if index is not None else len(gpus),
            "name": _smi_value(values.get("name")),
            "uuid": _smi_value(values.get("uuid")),
            "driver_version": driver if driver_version_tuple(driver) else None,
            "memory_total_mib": parse_memory_mib(values.get("memory.total")),
            "compute_cap": _smi_value(values.get("compute_cap")),
        })
    return gpus


def parse_smi_banner(text):
    """Parse the plain ``nvidia-smi`` banner (or ``nvidia-smi -q``).

    Returns ``{'smi_version', 'driver_version', 'cuda_version'}``, each ``None`` when absent. ``cuda_version`` is
    the newest CUDA the driver supports (``'X.Y'``).
    """
    text = text or ""
    result = {"smi_version": None, "driver_version": None, "cuda_version": None}
    match = _BANNER_SMI_RE.search(text)
    if match:
        result["smi_version"] = match.group(1)
    match = _BANNER_DRIVER_RE.search(text)
    if match and driver_version_tuple(match.group(1)):
        result["driver_version"] = match.group(1)
    match = _BANNER_CUDA_RE.search(text)
    if match:
        try:
            result["cuda_version"] = normalize_cuda_version(match.group(1))
        except ValueError:
            pass
    return result


def smi_failure_message(rc, out, err):
    """A one-line reason for a failed nvidia-smi run, from its output (it prints its errors on stdout)."""
    for stream in (out, err):
        for line in (stream or "").splitlines():
            line = line.strip()
            if line and any(marker in line for marker in _SMI_FAILED_MARKERS):
                return line
    for stream in (err, out):
        for line in (stream or "").splitlines():
            if line.strip():
                return line.strip()
    return "exit code %s" % rc


def smi_rejected_field(out, err, field="compute_cap"):
    """Whether nvidia-smi refused ``field`` (``Field "compute_cap" is not a valid field to query.``)."""
    text = "%s\n%s" % (out or "", err or "")
    return ('"%s"' % field) in text and "not a valid field" in text


def run_bounded(argv, timeout, env=None):
    """Run ``argv`` for at most ``timeout`` seconds; return ``(rc, out, err)``, ``rc`` ``None`` when it timed out.

    The program runs in a session of its own, so that on timeout the whole group
    (nvidia-smi and anything it started) gets SIGKILL. Its output is then read
    for one more second at most: a process stuck in the kernel (a hung driver)
    does not die, and the module must return anyway.
    """
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, start_new_session=True, close_fds=True)
    try:
        out, err = proc.communicate(timeout=max(timeout, 0.001))
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            out, err = proc.communicate(timeout=1)
        except subprocess.TimeoutExpired:
            out, err = b"", b""
        return None, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


# --- /proc and /sys -------------------------------------------------------------------------------------------

def parse_proc_driver_version(text):
    """Parse ``/proc/driver/nvidia/version``.

    Returns ``{'driver_version', 'kernel_module'}`` (``kernel_module`` is ``'open'`` for the open GPU kernel
    modules, ``'proprietary'`` otherwise), or ``None`` when no driver version is found. Handles the
    ``NVIDIA UNIX x86_64 Kernel Module  470.82.01  <date>`` and the
    ``NVIDIA UNIX Open Kernel Module for x86_64  550.54.14  Release Build  (...)  <date>`` forms.
    """
    for line in (text or "").splitlines():
        if "NVRM version" not in line:
            continue
        match = _PROC_MODULE_RE.search(line) or _PROC_ANY_VERSION_RE.search(line)
        if match and driver_version_tuple(match.group(1)):
            return {
                "driver_version": match.group(1),
                "kernel_module": "open" if "Open Kernel Module" in line else "proprietary",
            }
    return None


def parse_sys_module_version(text):
    """Parse ``/sys/module/nvidia/version`` (just ``550.54.14``); ``None`` when it is not a driver version."""
    value = (text or "").strip()
    return value if driver_version_tuple(value) else None


def parse_proc_gpu_information(text):
    """Parse ``/proc/driver/nvidia/gpus/<bus id>/information``.

    Returns ``{'name', 'uuid', 'bus_id', 'minor'}`` (values ``None`` when absent or placeholders).
    """
    keys = {"model": "name", "gpu uuid": "uuid", "bus location": "bus_id", "device minor": "minor"}
    result = dict((key, None) for key in keys.values())
    for line in (text or "").splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        name = keys.get(key.strip().lower())
        if name:
            result[name] = _smi_value(value)
    if result["bus_id"]:
        result["bus_id"] = result["bus_id"].lower()
    if result["minor"] is not None:
        result["minor"] = int(result["minor"]) if result["minor"].isdigit() else None
    return result


def is_nvidia_gpu_function(vendor, pci_class):
    """Whether a PCI function (``vendor``/``class`` file contents) is an NVIDIA display or 3D controller."""
    vendor = (vendor or "").strip().lower()
    pci_class = (pci_class or "").strip().lower()
    return vendor == NVIDIA_PCI_VENDOR and pci_class[:6] in GPU_PCI_CLASSES


def read_text(path):
    """Return the text of ``path``, or ``None`` when it cannot be read."""
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except (OSError, IOError):
        return None


def read_pci_gpus(sysfs_root):
    """Return the NVIDIA GPU functions under ``<sysfs_root>/bus/pci/devices``, sorted by bus id.

    Each is ``{'slot', 'vendor_id', 'device_id', 'pci_class', 'driver'}``; ``driver`` is the kernel driver the
    function is bound to (``nvidia``, ``nouveau``, ``vfio-pci``) or ``None``.
    """
    base = os.path.join(sysfs_root, "bus", "pci", "devices")
    try:
        slots = os.listdir(base)
    except OSError:  # no PCI bus in sysfs (a container without /sys): no device to find
        slots = []
    found = []
    for slot in sorted(slots):
        path = os.path.join(base, slot)
        vendor = read_text(os.path.join(path, "vendor"))
        pci_class = read_text(os.path.join(path, "class"))
        if not is_nvidia_gpu_function(vendor, pci_class):
            continue
        device = read_text(os.path.join(path, "device"))
        driver_link = os.path.join(path, "driver")
        driver = os.path.basename(os.readlink(driver_link)) if os.path.islink(driver_link) else None
        found.append({
            "slot": slot.lower(),
            "vendor_id": vendor.strip().lower(),
            "device_id": device.strip().lower() if device else None,
            "pci_class": pci_class.strip().lower(),
            "driver": driver,
        })
    return found


def read_proc_driver(procfs_root):
    """Read ``<procfs_root>/driver/nvidia``: ``{'version': parse_proc_driver_version(...), 'gpus': [...]}``.

    ``version`` is ``None`` when the driver is not loaded; ``gpus`` lists the parsed
    ``gpus/*/information`` files.
    """
    base = os.path.join(procfs_root, "driver", "nvidia")
    version = parse_proc_driver_version(read_text(os.path.join(base, "version")))
    gpus = []
    try:
        entries = sorted(os.listdir(os.path.join(base, "gpus")))
    except OSError:
        entries = []
    for entry in entries:
        info = read_text(os.path.join(base, "gpus", entry, "information"))
        if info is None:
            continue
        parsed = parse_proc_gpu_information(info)
        parsed["bus_id"] = parsed["bus_id"] or entry.lower()
        gpus.append(parsed)
    return {"version": version, "gpus": gpus}


def read_sys_module_version(sysfs_root):
    """Return ``(loaded, version)`` from ``<sysfs_root>/module/nvidia``: whether the module is loaded, its version."""
    base = os.path.join(sysfs_root, "module", "nvidia")
    return os.path.isdir(base), parse_sys_module_version(read_text(os.path.join(base, "version")))


# --- putting it together --------------------------------------------------------------------------------------

def gpus_from_files(proc_gpus, pci_gpus, driver_version):
    """Build the ``gpus`` list without nvidia-smi, from /proc GPU entries and /sys PCI functions.

    GPUs are keyed by PCI bus id and numbered in bus order (nvidia-smi's default order). ``driver_version`` is
    set on GPUs the loaded driver drives (a /proc entry, or a PCI function bound to ``nvidia``).
    """
    by_bus = {}
    for gpu in proc_gpus:
        by_bus[gpu["bus_id"]] = {"name": gpu.get("name"), "uuid": gpu.get("uuid"), "driven": True}
    for dev in pci_gpus:
        entry = by_bus.setdefault(dev["slot"], {"name": None, "uuid": None, "driven": False})
        entry["driven"] = entry["driven"] or dev.get("driver") == "nvidia"
    gpus = []
    for index, bus_id in enumerate(sorted(by_bus)):
        entry = by_bus[bus_id]
        gpus.append({
            "index": index,
            "name": entry["name"],
            "uuid": entry["uuid"],
            "driver_version": driver_version if entry["driven"] else None,
            "memory_total_mib": None,
            "compute_cap": None,
        })
    return gpus


def summarize(smi_gpus=None, banner=None, proc=None, sys_module=(False, None), pci_gpus=()):
    """Combine what each source said into the module's result.

    ``smi_gpus``: :func:`parse_smi_query` of a successful run (``None`` when nvidia-smi was absent or failed);
    ``banner``: :func:`parse_smi_banner` or ``None``; ``proc``: :func:`read_proc_driver`;
    ``sys_module``: :func:`read_sys_module_version`; ``pci_gpus``: :func:`read_pci_gpus`.
    """
    proc = proc or {"version": None, "gpus": []}
    banner = banner or {}
    sys_loaded, sys_version = sys_module
    proc_version = (proc.get("version") or {}).get("driver_version")

    if smi_gpus:
        source = "nvidia-smi"
        gpus = smi_gpus
        driver_version = next((g["driver_version"] for g in smi_gpus if g.get("driver_version")), None)
        driver_version = driver_version or banner.get("driver_version") or proc_version or sys_version
        driver_loaded = True
    else:
        driver_version = proc_version or sys_version
        driver_loaded = bool(proc_version or sys_loaded)
        gpus = gpus_from_files(proc.get("gpus") or [], list(pci_gpus), driver_version)
        if proc_version:
            source = "procfs"
        elif sys_loaded or sys_version or pci_gpus:
            source = "sysfs"
        else:
            source = "none"

    cuda_max = banner.get("cuda_version") if smi_gpus else None
    if cuda_max is None and driver_loaded:
        cuda_max = cuda_driver_max(driver_version)
    return {
        "gpus": gpus,
        "driver_version": driver_version,
        "driver_loaded": driver_loaded,
        "cuda_driver_max": cuda_max,
        "has_nvidia_gpu": bool(gpus),
        "source": source,
        "pci_devices": list(pci_gpus),
    }
