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

# The demo fleet's world server, on 127.0.0.1:PORT for the rest of the calling script (NAME names its
# pid and log files in .cache); on exit the server stops and the demo fleet is removed, unless
# CONDAFLEET_DEMO_KEEP=1. Used by scripts/demo and scripts/ee.
serve_world_for_demo() {
  DEMO_PIDFILE="$CACHE/$2-server.pid"
  say "World server on 127.0.0.1:$1"
  "$VENV/bin/python" "$ROOT/tests/world/server.py" --stop --pidfile "$DEMO_PIDFILE" >/dev/null 2>&1 || true
  "$VENV/bin/python" "$ROOT/tests/world/server.py" --root "$CACHE/world" --port "$1" \
    --log "$CACHE/$2-server.log" --pidfile "$DEMO_PIDFILE" --daemon
  trap demo_cleanup EXIT
}

demo_cleanup() {
  "$VENV/bin/python" "$ROOT/tests/world/server.py" --stop --pidfile "$DEMO_PIDFILE" >/dev/null 2>&1 || true
  if [ "${CONDAFLEET_DEMO_KEEP:-0}" != 1 ]; then
    say "Removing the demo fleet (keep it with CONDAFLEET_DEMO_KEEP=1)"
    ansible-playbook -i "$ROOT/inventories/demo/hosts.yml" "$ROOT/inventories/demo/fleet.yml" \
      -e demo_fleet_state=absent >/dev/null || true
  fi
}

# What each demo host holds, read with inventories/demo/show.yml through the podman connection: the
# conda it runs, its environments and the python each one runs. show_demo_fleet PORT LOG
show_demo_fleet() {
  ansible-playbook -i "$ROOT/inventories/demo/hosts.yml" "$ROOT/inventories/demo/show.yml" \
    -e "conda_world_url=http://127.0.0.1:$1" >"$2" || { cat "$2"; die "could not read the demo fleet (see $2)"; }
  sed -n -e 's/^ok: \[\([^]]*\)\] => {$/\1:/p' \
    -e 's/^        "\(conda [0-9][^"]*\)",\{0,1\}$/    \1/p' \
    -e 's/^        "\(.*: Python [^"]*\)",\{0,1\}$/    \1/p' "$2"
}
