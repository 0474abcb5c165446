# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""testinfra: 25.3.1 upgraded in place to 26.7.1, the environment and .condarc kept."""

import json
import re

PREFIX = "/opt/conda"


def test_upgraded(host):
    assert host.check_output("%s/bin/conda --version" % PREFIX) == "conda 26.7.1"
    info = json.loads(host.check_output("%s/bin/conda info --json" % PREFIX))
    assert info["conda_version"] == "26.7.1"
    assert info["root_prefix"] == PREFIX
    assert info["solver"]["name"] == "rattler"


def test_history_records_the_install_then_the_upgrade(host):
    history = host.file("%s/conda-meta/history" % PREFIX).content_string
    # one installer run per release, in order: the upgrade went over the old prefix in place
    assert re.findall(r"(?m)^# conda version: (\S+)$", history) == ["25.3.1", "26.7.1"]
    records = host.check_output("ls %s/conda-meta" % PREFIX).split()
    assert [r for r in records if r.startswith("conda-")] == ["conda-26.7.1-py311_0.json"]


def test_condarc_speaks_the_new_conda(host):
    # 25.3.1 reads auto_activate_base; after the upgrade the key is the one 26.7.1 reads
    lines = host.file("%s/.condarc" % PREFIX).content_string.splitlines()
    assert "auto_activate: false" in lines
    assert not [line for line in lines if line.startswith("auto_activate_base")]
    shown = json.loads(host.check_output("%s/bin/conda config --show --json" % PREFIX))
    assert shown["auto_activate"] is False
    assert shown["channels"] == ["http://127.0.0.1:8731/conda-forge"]


def test_environment_kept(host):
    assert host.file("%s/envs/webdev/kept-by-upgrade" % PREFIX).exists
    out = host.run("%s/envs/webdev/bin/python --version" % PREFIX)
    assert out.rc == 0, out.stderr
    assert (out.stdout + out.stderr).strip().startswith("Python 3.12.")
    listing = json.loads(host.check_output("%s/bin/conda list -n webdev --json" % PREFIX))
    assert "fastapi" in {r["name"] for r in listing}
    # created once, before the upgrade: its history holds a single transaction
    history = host.file("%s/envs/webdev/conda-meta/history" % PREFIX).content_string
    assert history.count("==> ") == 1
