# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""testinfra: the vision environment holds the PyTorch build that fits each host."""

import json

PREFIX = "/opt/conda"


def _pytorch(host):
    listing = json.loads(host.check_output("%s/bin/conda list -n vision --json" % PREFIX))
    records = [r for r in listing if r["name"] == "pytorch"]
    assert len(records) == 1, listing
    return records[0]


def test_fake_nvidia_smi_only_on_the_gpu_host(host):
    gpu = "gpu" in host.ansible.get_variables().get("group_names", [])
    assert host.exists("nvidia-smi") == gpu


def test_vision_has_the_build_for_this_host(host):
    build = _pytorch(host)["build_string"]
    if "gpu" in host.ansible.get_variables().get("group_names", []):
        assert build.startswith("cuda124_"), build
    else:
        assert build.startswith("cpu_"), build


def test_vision_python(host):
    out = host.run("%s/envs/vision/bin/python --version" % PREFIX)
    assert out.rc == 0, out.stderr
    assert (out.stdout + out.stderr).strip().startswith("Python 3.11.")
