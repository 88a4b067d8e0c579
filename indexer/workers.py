"""Worker processes that die with the job that started them.

Readers and Whoosh's sub-writers are direct children of the reindex job. If the
job is killed (kill -9, the OOM killer), the kernel kills each of them too
(PR_SET_PDEATHSIG), so no worker outlives it. The signal is armed from inside the
child, so a job killed while a child is still starting would be missed; each
child therefore checks, once armed, that its parent is still the job that
started it, and exits at once if not. That closes the gap at any moment of
start-up. (With a forkserver this could not work: its children are the
forkserver's, and they keep it alive.)

Children arm the signal as early as they can: a spawned child whose parent runs
the `kb` command does it while it imports `indexer` (see indexer/__init__.py),
before it reads its task; every other child does it when it starts working.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.util
import os
import signal
import sys
from typing import Any

PR_SET_PDEATHSIG = 1
# The job's process id, for spawned children that arm before they know their parent.
JOB_PID = "KB_JOB_PID"
ORPHAN_EXIT = 70


def _prctl_deathsig() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: workers then end when their pipes close
        pass


def _expected_parent() -> int | None:
    parent = multiprocessing.parent_process()
    if parent is not None and parent.pid:
        return parent.pid
    value = os.environ.get(JOB_PID, "")
    return int(value) if value.isdigit() else None


def die_with_parent(parent_pid: int | None = None) -> None:
    """Have the kernel kill this process when its parent exits; exit now if the parent is already gone."""
    _prctl_deathsig()
    expected = parent_pid if isinstance(parent_pid, int) else _expected_parent()
    if expected is not None and os.getppid() != expected:
        os._exit(ORPHAN_EXIT)  # the job died while this process was starting


def spawned_child() -> bool:
    """True in a process multiprocessing spawned (its command line ends with --multiprocessing-fork).

    sys.orig_argv, not sys.argv: a spawned child takes its parent's sys.argv
    before it imports anything of the parent's.
    """
    return "--multiprocessing-fork" in getattr(sys, "orig_argv", sys.argv)


def arm_if_worker() -> None:
    """Called when `indexer` is imported: a child spawned by a kb job arms itself at once."""
    if os.environ.get(JOB_PID) and spawned_child():
        die_with_parent()


class _Hook:
    """Kept alive at module level: multiprocessing holds after-fork hooks by weak reference."""


_HOOK = _Hook()
# Runs in every process multiprocessing forks after this module is imported (not in
# spawned ones: multiprocessing runs no after-fork hooks there).
multiprocessing.util.register_after_fork(_HOOK, die_with_parent)
if multiprocessing.parent_process() is not None:
    # A worker importing this late: Whoosh's sub-writers do, when they unpickle the
    # schema (indexer.schema imports this module) after they have started.
    die_with_parent()


def worker_context() -> Any:
    """The multiprocessing context for kb's spawned workers (Whoosh's sub-writers).

    Records this process as the job, so that its spawned children can check
    their parent before they have unpickled anything.
    """
    os.environ[JOB_PID] = str(os.getpid())
    return multiprocessing.get_context("spawn")


def lower_priority(steps: int) -> None:
    """Run this process, and the readers and sub-writers it starts, at least `steps` nice steps below
    normal CPU priority (POSIX; nothing elsewhere). A job started at a lower priority already (`nice
    kb reindex` in a crontab) keeps it.

    A reindex job is batch work beside web workers that answer members while they wait: on a busy
    machine the job should take what they leave. Measured at 100,000 items on 2 cores, Zipf load on 2
    gunicorn workers while 1-file runs followed each other: 79-90 req/s with p95 285-326 ms at the
    same priority, 164-224 req/s with p95 145-157 ms at 10 steps, each run then taking 3-4 s instead
    of 1 (README, Benchmarks).
    """
    if steps <= 0 or not hasattr(os, "nice"):
        return
    try:
        current = os.nice(0)
        if current < steps:
            os.nice(steps - current)
    except OSError as exc:  # a platform that refuses: the job still runs, at its priority
        print(f"note: the job's CPU priority was not lowered: {exc}", file=sys.stderr)


def available_cores() -> int:
    """The cores this process may run on (its affinity where the platform says, else every core)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1
