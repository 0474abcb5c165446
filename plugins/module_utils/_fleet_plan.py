# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""Fleet locks on the controller: which host of a class solves, which follow, and who has the lock's builds.

Pure functions of the ``conda_probe`` answers of the play's hosts (each environment's ``lock``, from
``_fleet_lock`` on the host), for the ``conda_lock_plan`` and ``conda_lock_report`` filters. Nothing here parses
a spec: Ansible loads every filter file of the collection in each worker process to find any one filter.
"""

from __future__ import annotations

#: what each host does for an environment (conda_lock_plan)
HOST = "host"          # solved on this host, as without fleet locks
LOCKED = "locked"      # installed from the class's lock, which the controller had before the run
SOLVE = "solve"        # this host solves for its class and writes the lock
FOLLOW = "follow"      # installed from the lock the class's solver writes in this run


def lock_solvers(play_answers):
    """The host that solves each lock no host had before the run: the first of the play that needs it."""
    first = {}
    for name, answers in play_answers.items():
        for answer in answers or []:
            lock = answer.get("lock") if isinstance(answer, dict) else None
            if lock and not lock.get("locked"):
                first.setdefault(lock["file"], name)
    return first


def lock_plan(host, play_answers, check_mode=False):
    """What ``host`` does for each of its environments, in the order of its probe's answers.

    ``play_answers`` maps each host of the play, in play order, to its ``conda_probe`` environment answers
    (each with ``lock``: ``None``, or ``{"file", "locked"}``). For a lock file no host had before the run, the
    first host of the play that needs it solves (:data:`SOLVE`), the others :data:`FOLLOW`; in check mode
    nothing is written, so each host predicts on its own (:data:`HOST`).
    """
    first = lock_solvers(play_answers)
    plan = []
    for answer in play_answers.get(host) or []:
        lock = answer.get("lock") if isinstance(answer, dict) else None
        if not lock:
            plan.append(HOST)
        elif lock.get("locked"):
            plan.append(LOCKED)
        elif check_mode:
            plan.append(HOST)
        else:
            plan.append(SOLVE if first.get(lock["file"]) == host else FOLLOW)
    return plan


def lock_report(play_answers, lock_files=()):
    """Each fleet lock and the hosts of its class: ``[{"lock", "identical", "differ", "missing"}]`` by file name.

    ``play_answers`` are the probe's environment answers by host, given the controller's locks: a host whose
    environment was checked against its lock has the lock's builds (``identical``) or not (``differ``); a host that
    needs a lock the controller does not have is ``missing`` it. ``lock_files`` adds the locks no host needs.
    """
    rows = {}
    for name in lock_files:
        rows.setdefault(name, {"lock": name, "identical": [], "differ": [], "missing": []})
    for host, answers in play_answers.items():
        for answer in answers or []:
            lock = answer.get("lock") if isinstance(answer, dict) else None
            if not lock:
                continue
            row = rows.setdefault(lock["file"], {"lock": lock["file"], "identical": [], "differ": [], "missing": []})
            column = "missing" if not lock.get("locked") else "identical" if answer.get("converged") else "differ"
            row[column].append(host)
    return [rows[name] for name in sorted(rows)]
