# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""testinfra checks for the smoke scenario: each host is the Debian release it claims."""

import pytest

EXPECTED = {
    "condafleet-bullseye": ("bullseye", "3.9"),
    "condafleet-bookworm": ("bookworm", "3.11"),
    "condafleet-trixie": ("trixie", "3.13"),
}


@pytest.fixture
def expected(host):
    return EXPECTED[host.backend.get_hostname()]


def test_release_marker(host, expected):
    marker = host.file("/etc/condafleet-smoke")
    assert marker.is_file
    assert marker.mode == 0o644
    assert marker.content_string.strip() == expected[0]


def test_debian_release(host, expected):
    assert host.system_info.distribution == "debian"
    assert host.system_info.codename == expected[0]


def test_python(host, expected):
    out = host.check_output("python3 -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])'")
    assert out.strip() == expected[1]
