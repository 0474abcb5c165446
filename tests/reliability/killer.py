# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""``bin/conda`` of a reliability test's installation: TEST INFRASTRUCTURE ONLY.

Runs the real conda (``$KILLER_REAL``) with the same arguments and logs each
command line to ``$KILLER_LOG``. When ``$KILLER_ARM`` exists and names this
command's verb (and this is not a dry run), it is consumed (one shot) and the
real conda is killed with SIGKILL at the moment it describes:
``appears`` (a glob starts matching), ``vanishes`` (a glob stops matching) or
``after`` (seconds). ``$KILLER_FIRED`` records that the kill happened.
"""
import glob
import json
import os
import subprocess
import sys
import time


def _rule(args):
    arm = os.environ["KILLER_ARM"]
    verb = [a for a in args if not a.startswith("-")][:1]
    if "--dry-run" in args or not verb or not os.path.exists(arm):
        return None
    with open(arm, encoding="utf-8") as handle:
        rule = json.load(handle)
    if rule["verb"] != verb[0]:
        return None
    os.unlink(arm)
    return rule


def _due(rule, started):
    if rule["when"] == "after":
        return time.monotonic() - started >= rule["seconds"]
    matched = bool(glob.glob(rule["pattern"]))
    return matched if rule["when"] == "appears" else not matched


def main():
    args = sys.argv[1:]
    with open(os.environ["KILLER_LOG"], "a", encoding="utf-8") as log:
        log.write("start %d %s\n" % (os.getpid(), " ".join(args)))
    rule = _rule(args)
    proc = subprocess.Popen([os.environ["KILLER_REAL"]] + args)
    started = time.monotonic()
    while rule and proc.poll() is None:
        if _due(rule, started):
            proc.kill()
            with open(os.environ["KILLER_FIRED"], "a", encoding="utf-8") as fired:
                fired.write("%s %s\n" % (rule["when"], rule.get("pattern") or rule.get("seconds")))
            break
        if time.monotonic() - started > 300:
            break
        time.sleep(0.002)
    rc = proc.wait()
    with open(os.environ["KILLER_LOG"], "a", encoding="utf-8") as log:
        log.write("end %d %d\n" % (os.getpid(), rc))
    sys.exit(rc if rc >= 0 else 128 - rc)


main()
