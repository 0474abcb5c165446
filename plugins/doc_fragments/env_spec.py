# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What an environment must hold: the spec options M(condafleet.conda.conda_env) converges to and
M(condafleet.conda.conda_env_info) compares with."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
options:
  python:
    description: Python version, for example V(3.11) (C(python=3.11)) or V(>=3.10). Quote it in YAML (V("3.10")).
    type: str
  packages:
    description:
      - conda match specs, for example V(numpy), V(pandas=2.2), V(scikit-learn>=1.3,<2), V(conda-forge::opencv),
        V(*/linux-64::numpy) (any channel, that subdir).
      - Every spec is checked before conda runs (package names have only letters, digits, C(_), C(-) and C(.); no
        control characters; a channel is a name, an absolute path or a URL); the error names the bad spec.
    type: list
    elements: str
    default: []
  pip:
    description:
      - pip requirements, lines of a requirements file as in the C(pip) section of an environment.yml (V(name),
        V(name==1.0), V(name>=1,<2)); pip options (for example C(--index-url https://...)), C(-e path), C(-r file),
        URLs, VCS references (C(git+https://...)), local paths and C(--hash=...) as pip reads them.
      - A requirement is met by any installed distribution (C(*.dist-info), C(*.egg-info) in C(site-packages))
        whose name (PEP 503 normalized) and version satisfy it, whatever installed it (a conda package such as
        C(numpy) ships its own C(dist-info)). A line without a package name (C(-e), C(-r), a URL or a path) is never
        known to be met.
    type: list
    elements: str
    default: []
  spec_file:
    description:
      - Path, on the managed host, of an C(environment.yml), of an C(@EXPLICIT) lock file (C(conda list
        --explicit), C(conda-lock --kind explicit)) or of a conda-lock unified lock file (C(conda-lock.yml),
        version 1). Mutually exclusive with O(spec_content).
      - An environment.yml is read as conda 26.7 reads it. Its C(name) and C(prefix) are ignored (O(name) or O(path)
        says which environment). Top-level keys other than C(name), C(channels), C(dependencies), C(prefix) and
        C(variables) are ignored; a C(pip) section without C(pip) in the dependencies adds C(pip); of several C(pip)
        sections only the last counts. Selector comments (C(# [win])) are comments, which conda does not evaluate.
      - YAML the module's own reader does not read with certainty (anchors, block scalars, tags) is read by the
        Python of the installation at O(prefix) with conda's loader. What conda would read as something other than
        what is written (a string for C(dependencies), read one character at a time) is refused with a message.
      - A lock file names exact builds (name, version, build); the environment must hold exactly those.
      - Of a C(conda-lock.yml), the packages of the host's platform are installed (C(CONDA_SUBDIR) when set, else
        from C(uname -m), for example C(linux-64) or C(linux-aarch64)), of the categories C(main) and C(dev) as
        C(conda-lock install) does; a platform the file was not locked for is refused with its name. Its conda
        packages are installed by URL and checksum without a solver, its pip packages by URL with C(--hash) and
        C(--no-deps) (the lock lists every dependency). It cannot be combined with O(python), O(packages) or O(pip).
    type: path
  spec_content:
    description:
      - The text of an environment.yml or lock file, read as O(spec_file) is; for example read on the controller
        with C(lookup('ansible.builtin.file', 'environment.yml')). Mutually exclusive with O(spec_file).
    type: str
"""
