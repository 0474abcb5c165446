# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""An environment against its spec, from disk: the drift that conda_env_info and conda_probe report.

``drift()`` reads the environment's package records and pip distributions and compares them with the spec
of conda_env's options (``python``, ``packages``, ``pip``) and a spec file's text, with
``_envspec.compare()``: what is missing, what is installed in a version or build the spec does not allow, and
what is there beyond what the spec needs. It never starts conda.
"""

from __future__ import annotations

from ansible_collections.condafleet.conda.plugins.module_utils._envspec import compare, desired_state, validate
from ansible_collections.condafleet.conda.plugins.module_utils._pip_dists import dist_versions
from ansible_collections.condafleet.conda.plugins.module_utils._prefix import conda_meta_records


def drift(prefix, params, text, environ, machine):
    """The comparison of the environment at ``prefix`` (``None``: there is none) with the spec.

    ``params`` holds conda_env's spec options; the channels play no part (a package record does not say
    which channel of a list it came from). Raises ``_envspec.SpecError`` for a spec that is not valid.
    """
    desired = desired_state(dict(params, channels=[], override_channels=False), text, environ=environ,
                            machine=machine)
    validate(desired)
    return compare(conda_meta_records(prefix) if prefix else None, desired, dist_versions(prefix) if prefix else {})
