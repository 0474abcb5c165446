# shellcheck shell=bash
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Shared helpers for the project's scripts. Source it; do not run it.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CACHE="${CONDAFLEET_CACHE:-$ROOT/.cache}"
VENV="$ROOT/.venv"
export CONTAINERS_CONF="$ROOT/tests/podman/containers.conf"
export ANSIBLE_CONFIG="$ROOT/ansible.cfg"
export PATH="$VENV/bin:$PATH"
export PYTHONUNBUFFERED=1

say() { printf '\n==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# Seconds since the epoch, for the timings each script prints.
now() { date +%s; }
elapsed() { echo "$(( $(now) - $1 ))s"; }
