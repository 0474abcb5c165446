# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: conda_report_table
short_description: Render the fleet's conda environments and their drift as a table
version_added: 0.1.0
author:
  - condafleet maintainers (@condafleet)
description:
  - Renders what C(playbooks/report.yml) registered on each host as the lines of one table with the columns
    C(HOST), C(ENVIRONMENT), C(PYTHON) and C(STATUS), one line per environment of each host, sorted by prefix.
  - "The status of an environment is V(base), V(unlisted) (not in C(conda_environments)), V(listed) (listed but not
    compared), V(in sync) (with the number of packages beyond the spec, if any), or
    C(DRIFT: missing ...; wrong ...; pip ...) (the specs it does not satisfy, from M(condafleet.conda.conda_probe)'s
    C(comparison)). A listed environment that does not exist gets a line of its own, V(MISSING)."
  - "A host where the installation could not be read gets one line (C(no conda: <message>)), as does a host without
    an installation at its prefix."
  - The filter runs on the controller and is a pure function of its input.
positional: _input
options:
  _input:
    description:
      - The variables of each host (C(hostvars)); the filter reads C(conda_report_info) (the registered result of
        M(condafleet.conda.conda_env_info) for the whole installation), C(conda_report_probe) (the registered result
        of M(condafleet.conda.conda_probe) with O(condafleet.conda.conda_probe#module:compare=true), one answer per
        entry of C(conda_environments), each with its C(name), and C(exists) and C(comparison) unless the entry
        is V(absent)) and C(conda_prefix).
    type: dict
    required: true
  hosts:
    description: The hosts to report, in order (for example C(ansible_play_hosts_all)).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Print the fleet's environments and their drift
  ansible.builtin.debug:
    msg: "{{ hostvars | condafleet.conda.conda_report_table(ansible_play_hosts_all) }}"
  run_once: true
  # HOST   ENVIRONMENT  PYTHON    STATUS
  # node1  /opt/conda   3.12.8    base
  # node1  vision       3.11.11   in sync, 42 extra
  # node1  webdev       3.12.8    DRIFT: missing fastapi; wrong -; pip -
  # node2  -            -         no conda: ...
"""

RETURN = r"""
_value:
  description: The lines of the table, the header first; columns padded to the widest entry.
  type: list
  elements: str
"""

from ansible.module_utils.common.text.converters import to_text

HEADER = ["HOST", "ENVIRONMENT", "PYTHON", "STATUS"]
DEFAULT_PREFIX = "/opt/conda"


def truncate(text, length=60, end="...", leeway=5):
    """Jinja's ``truncate`` (word boundary, ``...``, a leeway of 5)."""
    if len(text) <= length + leeway:
        return text
    return text[:length - len(end)].rsplit(" ", 1)[0] + end


def status(env, compared):
    """The STATUS column of one environment; ``compared`` is its conda_probe answer (with compare), or ``None``."""
    if env.get("base"):
        return "base"
    if compared is None:
        return "unlisted"
    comparison = compared.get("comparison")
    if comparison is None:
        return "listed"
    if comparison.get("satisfied"):
        extra = comparison.get("extra") or []
        return "in sync" + ((", %d extra" % len(extra)) if extra else "")
    return "DRIFT: missing %s; wrong %s; pip %s" % (
        " ".join(comparison.get("missing") or []) or "-",
        " ".join(to_text(u.get("spec")) for u in comparison.get("unsatisfied") or []) or "-",
        " ".join(comparison.get("pip_unsatisfied") or []) or "-")


def host_rows(host, hostvars):
    """The table rows of one host."""
    info = hostvars.get("conda_report_info") or {}
    if info.get("environments") is None:
        return [[host, "-", "-", "no conda: " + truncate(to_text(info.get("msg", "unreachable")))]]
    if not info["environments"]:
        return [[host, "-", "-", "no conda installation in " + to_text(hostvars.get("conda_prefix", DEFAULT_PREFIX))]]
    # the listed environments that are not absent (those that were compared)
    listed = [a for a in (hostvars.get("conda_report_probe") or {}).get("environments") or [] if "exists" in a]
    rows = []
    for env in sorted(info["environments"], key=lambda e: e["prefix"]):
        matches = [a for a in listed if a.get("name") == env.get("name")]
        rows.append([host, to_text(env.get("name") or env["prefix"]), to_text(env.get("python_version") or "-"),
                     status(env, matches[0] if matches else None)])
    rows += [[host, to_text(a.get("name")), "-", "MISSING"] for a in listed if not a["exists"]]
    return rows


def render(rows):
    """The lines of a table: the first two columns padded to their widest entry, the third to 8 characters."""
    width0 = max(len(r[0]) for r in rows)
    width1 = max(len(r[1]) for r in rows)
    return ["%s%s%-8s  %s" % (r[0].ljust(width0 + 2), r[1].ljust(width1 + 2), r[2], r[3]) for r in rows]


def conda_report_table(hostvars, hosts):
    """The ``condafleet.conda.conda_report_table`` filter."""
    rows = [list(HEADER)]
    for host in hosts:
        rows += host_rows(to_text(host), hostvars[host] if host in hostvars else {})
    return render(rows)


class FilterModule(object):
    """condafleet.conda filters: conda_report_table."""

    def filters(self):
        return {"conda_report_table": conda_report_table}
