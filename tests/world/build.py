# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: contributors to condafleet.conda
"""Build the offline conda world (channels + installers): TEST INFRASTRUCTURE ONLY.

    python tests/world/build.py [--out .cache/world] [--port 8731] [--force] [--upstream [NAMES]]

Calls ``channel.build_channel(out)`` (the channel engineer's builder) and
``installer.build_all(out)`` (Miniconda3/Miniforge3 of the real conda 25.3.1 and
26.7.1, from the upstream wheels in ``$CONDAFLEET_CONDA_WHEELS``, default
``../shared/vendor/conda``).
Both are cached: nothing is rebuilt when its sources did not change. The
installers' preset ``.condarc`` points at ``http://127.0.0.1:PORT``
(``CONDAFLEET_WORLD_URL`` overrides).

``--upstream`` (or ``CONDAFLEET_WORLD_UPSTREAM=1``) puts upstream's own installers,
downloaded from github.com/conda-forge/miniforge and repo.anaconda.com/miniconda and
checked against their published SHA256, where the world's would be (internet needed);
``--upstream NAME,NAME`` does it for those file names only.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import installer  # noqa: E402

DEFAULT_OUT = os.path.join(REPO, ".cache", "world")


def build(out=DEFAULT_OUT, port=installer.DEFAULT_PORT, force=False, quiet=False, upstream=None):
    """Build (or reuse) everything; returns a dict of paths.

    ``upstream``: see ``installer.build_all`` (default ``$CONDAFLEET_WORLD_UPSTREAM``)."""
    import channel  # the channel engineer's builder
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr))
    out = os.path.abspath(out)
    t0 = time.monotonic()
    chan = channel.build_channel(out, force=force, quiet=quiet)
    t1 = time.monotonic()
    say("world: channel ready in %.1f s" % (t1 - t0))
    inst = installer.build_all(out, port=port, force=force, upstream=upstream)
    t2 = time.monotonic()
    say("world: %d installers ready in %.1f s under %s" % (len(inst), t2 - t1,
                                                           os.path.join(out, "installers")))
    for key, path in sorted(inst.items()):
        say("world:   %s -> %s" % (" ".join(key), os.path.relpath(path, out)))
    return {"root": out, "channel": chan, "installers": inst,
            "url": installer.world_url(port)}


def main(argv=None):
    ap = argparse.ArgumentParser(description="Build the offline conda world (test infrastructure).")
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--port", type=int, default=installer.DEFAULT_PORT)
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--upstream", nargs="?", const="all", default=None, metavar="NAMES",
                    help="use upstream's own Miniforge/Miniconda installers (needs internet; downloads "
                         "are checked against upstream's SHA256) instead of building the world's: all of "
                         "them, or the comma-separated file names given (default: $%s)"
                         % installer.conda_dist.UPSTREAM_ENV)
    a = ap.parse_args(argv)
    t0 = time.monotonic()
    try:
        build(a.out, a.port, a.force, upstream=a.upstream)
    except installer.conda_dist.UpstreamError as exc:
        print("world: %s" % exc, file=sys.stderr)
        return 1
    print("world: done in %.1f s" % (time.monotonic() - t0), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
