# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: contributors to condafleet.conda
"""The offline conda world: TEST INFRASTRUCTURE ONLY.

Channel builder (channel.py), loopback HTTP server (server.py), and the
Miniconda/Miniforge-compatible installers of the real conda (conda_dist.py). Nothing in
``plugins/`` or ``roles/`` knows this package exists.
"""
