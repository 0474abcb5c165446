# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""conda_report_table and has_secrets: the report's table from registered results, the credential test."""
from __future__ import annotations

import jinja2
import pytest

from ansible_collections.condafleet.conda.plugins.filter import conda_report_table as crt
from ansible_collections.condafleet.conda.plugins.filter.has_secrets import FilterModule as SecretsFilters
from ansible_collections.condafleet.conda.plugins.filter.has_secrets import has_secrets


def env(name, prefix, python="3.12.8", base=False):
    return {"name": name, "prefix": prefix, "python_version": python, "base": base}


def compared(name, exists=True, comparison=None):
    """conda_probe's answer for one entry, with compare (comparison None: its spec could not be read)."""
    return {"name": name, "converged": bool(comparison and comparison.get("satisfied")), "lock": None,
            "prefix": "/opt/conda/envs/" + name, "exists": exists, "comparison": comparison}


SYNCED = {"satisfied": True, "extra": [], "missing": [], "unsatisfied": [], "pip_unsatisfied": []}
FLEET = {
    "node1": {
        "conda_report_info": {"environments": [
            env("webdev", "/opt/conda/envs/webdev"),
            env(None, "/opt/conda", base=True),
            env("vision", "/opt/conda/envs/vision", python="3.11.11"),
            env("scratch", "/opt/conda/envs/scratch", python=None),
            env("finance", "/opt/conda/envs/finance"),
        ]},
        "conda_report_probe": {"environments": [
            compared("vision", comparison=dict(SYNCED, extra=["a", "b"])),
            compared("webdev", comparison={"satisfied": False, "missing": ["fastapi", "uvicorn"],
                                           "unsatisfied": [{"spec": "python=3.12", "installed": "3.11"}],
                                           "pip_unsatisfied": []}),
            compared("finance", comparison=SYNCED),
            compared("research", exists=False),
            {"name": "retired", "converged": True, "lock": None},  # state absent: not compared, not reported
        ]},
    },
    "node2": {"conda_report_info": {"failed": True, "msg": "conda not found at /opt/conda/bin/conda"}},
    "node3": {"conda_report_info": {"environments": []}, "conda_prefix": "/srv/miniforge"},
    "long-host-name": {"conda_report_info": {"environments": [env(None, "/opt/conda", base=True)]},
                       "conda_report_probe": {"environments": [compared("webdev", comparison=None)]}},
}


def test_table():
    lines = crt.conda_report_table(FLEET, ["node1", "node2", "node3", "long-host-name", "node4"])
    assert lines == [
        "HOST            ENVIRONMENT  PYTHON    STATUS",
        "node1           /opt/conda   3.12.8    base",
        "node1           finance      3.12.8    in sync",
        "node1           scratch      -         unlisted",
        "node1           vision       3.11.11   in sync, 2 extra",
        "node1           webdev       3.12.8    DRIFT: missing fastapi uvicorn; wrong python=3.12; pip -",
        "node1           research     -         MISSING",
        "node2           -            -         no conda: conda not found at /opt/conda/bin/conda",
        "node3           -            -         no conda installation in /srv/miniforge",
        "long-host-name  /opt/conda   3.12.8    base",
        "node4           -            -         no conda: unreachable",
    ]


def test_listed_but_not_compared_and_default_prefix():
    hostvars = {"h": {"conda_report_info": {"environments": [env("web", "/opt/conda/envs/web")]},
                      "conda_report_probe": {"environments": [compared("web")]}},
                "i": {"conda_report_info": {"environments": []}}}
    assert crt.conda_report_table(hostvars, ["h", "i"])[1:] == [
        "h     web          3.12.8    listed",
        "i     -            -         no conda installation in /opt/conda",
    ]


def test_pip_drift_and_a_drift_without_names():
    status = crt.status(env("a", "/p"), compared("a", comparison={"satisfied": False, "pip_unsatisfied": ["x==1"]}))
    assert status == "DRIFT: missing -; wrong -; pip x==1"


@pytest.mark.parametrize("text", ["short", "x" * 65, "x" * 66, "word " * 20, "y" * 70, "a b" * 30])
def test_truncate_is_jinjas(text):
    assert crt.truncate(text) == jinja2.Environment().from_string("{{ s | truncate(60) }}").render(s=text)


def test_filter_module():
    assert set(crt.FilterModule().filters()) == {"conda_report_table"}
    assert set(SecretsFilters().filters()) == {"has_secrets"}


@pytest.mark.parametrize("value, secret", [
    ({}, False),
    ({"http": "http://proxy.example.org:3128", "https": "http://proxy.example.org:3128"}, False),
    ({"https": "http://bob:pw@proxy.example.org:3128"}, True),
    ({"https": "bob:pw@proxy.example.org:3128"}, True),
    (["https://host/t/abc123/conda-forge"], True),
    ("conda-forge", False),
    ({"password": "x"}, True),
    (None, False),
    (3128, False),
])
def test_has_secrets(value, secret):
    assert has_secrets(value) is secret
