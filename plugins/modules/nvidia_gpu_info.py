#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: nvidia_gpu_info
short_description: Detect NVIDIA GPUs, the NVIDIA driver and the newest CUDA version it supports
version_added: 0.1.0
description:
  - Reports the NVIDIA GPUs of a Linux host, the loaded NVIDIA driver and the newest CUDA version that driver
    supports, the value conda sees as the C(__cuda) virtual package. Feed the result to the
    P(condafleet.conda.torch_build#filter) filter to choose a PyTorch build.
  - When C(nvidia-smi) is available it is asked first (C(--query-gpu=index,name,uuid,driver_version,memory.total,compute_cap)
    and the plain banner for C(CUDA Version)). When it is missing, or it fails (for example
    C(NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver)), the module reads
    C(/proc/driver/nvidia/version), C(/proc/driver/nvidia/gpus/*/information), C(/sys/module/nvidia/version) and the
    PCI functions under C(/sys/bus/pci/devices) with vendor C(0x10de) and a VGA (C(0x0300)) or 3D controller
    (C(0x0302)) class; a failure of C(nvidia-smi), or one that hangs past O(timeout), is reported as a warning and in
    RV(nvidia_smi_error).
  - A host without NVIDIA hardware or driver is a normal result (RV(has_nvidia_gpu=false)), never an error.
  - Without C(nvidia-smi), RV(cuda_driver_max) comes from NVIDIA's driver-branch table (for example R520 -> 11.8,
    R535 -> 12.2, R580 -> 13.0). A driver newer than the table gets the table's newest CUDA version, a lower bound.
author:
  - condafleet maintainers (@condafleet)
extends_documentation_fragment:
  - condafleet.conda.attributes.info_module
attributes:
  platform:
    details:
      - Linux hosts (the files read are Linux's C(/proc) and C(/sys)); C(nvidia-smi) alone also answers on WSL 2.
options:
  nvidia_smi:
    description:
      - Path of the C(nvidia-smi) program.
      - By default it is looked up on E(PATH), then in C(/usr/local/nvidia/bin) (GPU containers) and
        C(/usr/lib/wsl/lib) (WSL 2).
      - A path given here that does not exist is reported as a warning and the files are read instead.
    type: path
  sysfs_root:
    description: Where sysfs is mounted. Change it only to read a copy of another host's tree (tests).
    type: path
    default: /sys
  procfs_root:
    description: Where procfs is mounted. Change it only to read a copy of another host's tree (tests).
    type: path
    default: /proc
  timeout:
    description:
      - Seconds that all the runs of C(nvidia-smi) together may take (it is run up to three times).
      - A C(nvidia-smi) that does not answer in time (a wedged driver or GPU can hang it forever) is killed, with
        everything it started; the module warns, reports it in RV(nvidia_smi_error) and reads C(/proc) and
        C(/sys) instead, so that one broken GPU host does not stop a play.
      - Must be a positive number.
    type: int
    default: 30
notes:
  - The module runs no CUDA code and needs no CUDA toolkit; only the driver matters for conda's CUDA packages.
  - conda itself asks the driver library (C(libcuda.so.1), C(cuDriverGetVersion)) for C(__cuda); the banner's
    C(CUDA Version) is the same number.
seealso:
  - name: conda docs, Managing virtual packages
    description: How conda detects C(__cuda) and how C(CONDA_OVERRIDE_CUDA) overrides it.
    link: https://docs.conda.io/projects/conda/en/latest/user-guide/tasks/manage-virtual.html
  - name: CUDA Toolkit and Corresponding Driver Versions
    description: NVIDIA's table behind RV(cuda_driver_max) when nvidia-smi cannot be asked.
    link: https://docs.nvidia.com/cuda/cuda-toolkit-release-notes/index.html
"""

EXAMPLES = r"""
- name: Detect NVIDIA GPUs and the driver
  condafleet.conda.nvidia_gpu_info:
  register: gpu

- name: Show what was found
  ansible.builtin.debug:
    msg: >-
      {{ gpu.gpus | length }} GPU(s), driver {{ gpu.driver_version | default('none', true) }},
      CUDA up to {{ gpu.cuda_driver_max | default('none', true) }} (from {{ gpu.source }})

- name: Choose the PyTorch build for this host
  ansible.builtin.set_fact:
    torch: "{{ gpu | condafleet.conda.torch_build(style='conda-forge') }}"

- name: Fail when a GPU host has no working driver
  ansible.builtin.assert:
    that: gpu.driver_loaded
    fail_msg: "NVIDIA GPU found ({{ gpu.pci_devices | map(attribute='device_id') | join(', ') }}) but no driver loaded"
  when: gpu.has_nvidia_gpu

- name: Use an nvidia-smi outside PATH, and give it 10 seconds at most
  condafleet.conda.nvidia_gpu_info:
    nvidia_smi: /opt/nvidia/bin/nvidia-smi
    timeout: 10
"""

RETURN = r"""
gpus:
  description:
    - The NVIDIA GPUs, in nvidia-smi order (PCI bus order when read from the files).
    - Without nvidia-smi, C(name) and C(uuid) come from C(/proc/driver/nvidia/gpus) when the driver is loaded, and
      C(memory_total_mib) and C(compute_cap) are V(null).
  returned: always
  type: list
  elements: dict
  contains:
    index:
      description: The GPU index (C(nvidia-smi -i), C(CUDA_VISIBLE_DEVICES) in PCI order).
      returned: always
      type: int
      sample: 0
    name:
      description: The product name; V(null) when unknown (no driver loaded).
      returned: always
      type: str
      sample: NVIDIA H100 80GB HBM3
    uuid:
      description: The GPU UUID; V(null) when unknown.
      returned: always
      type: str
      sample: GPU-4f5e1f0c-7a2b-3c4d-9e8f-0a1b2c3d4e5f
    driver_version:
      description: The driver version driving this GPU; V(null) when no NVIDIA driver drives it.
      returned: always
      type: str
      sample: 550.54.15
    memory_total_mib:
      description: Total memory in MiB; V(null) when unknown.
      returned: always
      type: int
      sample: 81559
    compute_cap:
      description: The CUDA compute capability; V(null) when unknown (drivers older than R510 do not report it).
      returned: always
      type: str
      sample: "9.0"
driver_version:
  description: The loaded NVIDIA driver version; V(null) when no driver is loaded.
  returned: always
  type: str
  sample: 550.54.15
driver_loaded:
  description: Whether the NVIDIA kernel driver is loaded (nvidia-smi answered, or C(/proc/driver/nvidia/version) or C(/sys/module/nvidia) exist).
  returned: always
  type: bool
  sample: true
cuda_driver_max:
  description:
    - The newest CUDA version (C(X.Y)) the driver supports, as conda's C(__cuda) would report it; V(null) without a
      loaded driver or for a driver older than R410.
    - The nvidia-smi banner's C(CUDA Version) when nvidia-smi answered, else NVIDIA's driver-branch table.
  returned: always
  type: str
  sample: "12.4"
has_nvidia_gpu:
  description: Whether at least one NVIDIA GPU was found (by nvidia-smi, or as a PCI function even without a driver).
  returned: always
  type: bool
  sample: true
source:
  description:
    - Where the answer came from. V(nvidia-smi); V(procfs) (C(/proc/driver/nvidia), nvidia-smi absent or failed);
      V(sysfs) (only C(/sys) told something, the module version or PCI functions, for example a GPU without a
      loaded driver);
      V(none) (nothing NVIDIA on this host).
  returned: always
  type: str
  sample: nvidia-smi
pci_devices:
  description: The NVIDIA GPU PCI functions found under C(/sys/bus/pci/devices) (empty when sysfs shows none).
  returned: always
  type: list
  elements: dict
  contains:
    slot:
      description: The PCI address.
      returned: always
      type: str
      sample: "0000:17:00.0"
    vendor_id:
      description: The PCI vendor id (always C(0x10de)).
      returned: always
      type: str
      sample: "0x10de"
    device_id:
      description: The PCI device id.
      returned: always
      type: str
      sample: "0x2330"
    pci_class:
      description: The PCI class code (C(0x0300xx) VGA or C(0x0302xx) 3D controller).
      returned: always
      type: str
      sample: "0x030200"
    driver:
      description: The kernel driver bound to the function (V(nvidia), V(nouveau), V(vfio-pci)), V(null) if none.
      returned: always
      type: str
      sample: nvidia
nvidia_smi:
  description: The nvidia-smi program that was found and run; V(null) when none was found.
  returned: always
  type: str
  sample: /usr/bin/nvidia-smi
nvidia_smi_error:
  description:
    - Why the answer does not come (in full) from nvidia-smi although one was found (it failed, listed no GPUs, or
      did not answer within O(timeout) and was killed); V(null) when it answered or none was found.
  returned: always
  type: str
  sample: nvidia-smi did not answer within 30s and was killed
"""

from ansible_collections.condafleet.conda.plugins.module_utils._gpu import SPEC, run
from ansible_collections.condafleet.conda.plugins.module_utils._masked_module import MaskedModule


def main():
    run(MaskedModule(**SPEC))


if __name__ == "__main__":
    main()
