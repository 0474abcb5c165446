# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""Stand-in for the pip bootstrap script ansible-test downloads.

ansible-test creates its sanity virtualenvs without pip and fetches a
``get-pip.py`` from a host this project's machines cannot reach. It runs that
script with pip's install arguments; this one gets pip from the standard
library's ``ensurepip`` and then runs the same install from PyPI.
scripts/sanity copies it to where ansible-test looks for its cached copy.
"""
import subprocess
import sys

subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
# get-pip's own flags (--no-setuptools, --no-wheel) mean "do not add them": pip install never does.
ARGS = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + ARGS))
