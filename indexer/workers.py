"""Worker processes that die with the job that started them.

Readers and Whoosh's sub-writers are spawned as direct children of the reindex
job. If the job is killed (kill -9, the OOM killer), each worker is killed by the
kernel too (PR_SET_PDEATHSIG), so no idle worker outlives it. (With a forkserver
they could not: its children keep the forkserver alive, and it keeps them.)
"""

from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.util
import signal
from typing import Any

PR_SET_PDEATHSIG = 1


def die_with_parent(_: object = None) -> None:
    """Ask the kernel to kill this process when its parent exits (Linux; a no-op elsewhere)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


class _Hook:
    """Kept alive at module level: multiprocessing holds after-fork hooks by weak reference."""


_HOOK = _Hook()
# Runs in every process multiprocessing starts after this module is imported.
multiprocessing.util.register_after_fork(_HOOK, die_with_parent)
if multiprocessing.parent_process() is not None:
    # A worker importing this late: Whoosh's sub-writers do, when they unpickle the
    # schema (indexer.schema imports this module) after they have started.
    die_with_parent()


def worker_context() -> Any:
    """The multiprocessing context for kb's workers."""
    return multiprocessing.get_context("spawn")
