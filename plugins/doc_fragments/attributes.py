# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The attributes every module of the collection shares; a module adds its C(details)."""

from __future__ import annotations


class ModuleDocFragment:

    # A module that changes the host.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Changes nothing in check mode and predicts what a real run would change, from the same decision.
    support: full
  diff_mode:
    description: Returns what it manages before and after the run (the prediction in check mode) in diff mode.
    support: full
  platform:
    description: The target systems it works on.
    support: full
    platforms: posix
"""

    # A module that only reads the host.
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    description: Only reads the host, so it runs the same way in check mode.
    support: full
  diff_mode:
    description: Changes nothing, so there is no diff.
    support: N/A
  platform:
    description: The target systems it works on.
    support: full
    platforms: posix
"""
