# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""The options conda_probe decides with are the options the role's steps run with.

vars/main.yml's __conda_install_args and __conda_config_args restate the arguments of install.yml's
conda_install and configure.yml's conda_config (``omit`` written as ``none``, which the probe treats as
omitted); a probe asked about other options would call a step converged that is not.
"""
from __future__ import annotations

import os
import re

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE = os.path.join(ROOT, "roles", "conda")


def task_args(tasks_file, module):
    with open(os.path.join(ROLE, "tasks", tasks_file), encoding="utf-8") as handle:
        tasks = yaml.safe_load(handle)
    (args,) = [task[module] for task in tasks if module in task]
    return args


def dict_entries(var):
    """``{key: expression}`` of a vars entry written as one Jinja dict literal."""
    with open(os.path.join(ROLE, "vars", "main.yml"), encoding="utf-8") as handle:
        text = yaml.safe_load(handle)[var]
    body = text.strip()
    assert body.startswith("{{ {") and body.endswith("} }}"), text
    body = " ".join(body[4:-4].split())
    return dict((m.group(1), m.group(2).strip())
                for m in re.finditer(r"'([a-z_]+)': (.*?)(?=, '[a-z_]+': |$)", body))


def expression(value):
    """The Jinja expression of a task argument, ``omit`` written as ``none``."""
    text = str(value).strip()
    if text.startswith("{{") and text.endswith("}}"):
        text = text[2:-2].strip()
    else:
        text = "'%s'" % text
    return " ".join(text.replace("omit", "none").split())


@pytest.mark.parametrize("tasks_file, module, var", [
    ("install.yml", "condafleet.conda.conda_install", "__conda_install_args"),
    ("configure.yml", "condafleet.conda.conda_config", "__conda_config_args"),
])
def test_the_probe_is_asked_about_the_options_the_step_runs_with(tasks_file, module, var):
    args = task_args(tasks_file, module)
    entries = dict_entries(var)
    assert sorted(entries) == sorted(args)
    for key, value in args.items():
        assert expression(value) == entries[key], key
