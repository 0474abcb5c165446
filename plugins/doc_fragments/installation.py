# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""O(prefix): the conda installation a module works on, with one default across the collection."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
options:
  prefix:
    description:
      - The conda installation (its base prefix), an absolute path.
      - The default is the collection's; the installers' own defaults differ (C(~/miniforge3), C(~/miniconda3), and
        C(/opt/miniforge3) or C(/opt/miniconda3) for a system-wide install), so set it to where the installation is.
      - Where the task needs an installation there (M(condafleet.conda.conda_env), M(condafleet.conda.conda_env_info),
        M(condafleet.conda.conda_config) with O(condafleet.conda.conda_config#module:scope=system)), a O(prefix) that
        holds none fails the task before anything is changed, saying what is there (nothing, an empty directory, a
        plain environment...) and where the installers put one.
      - Set it once for every module of the collection with C(module_defaults) and the action group
        C(group/condafleet.conda.conda).
    type: path
    default: /opt/conda
"""
