"""Exclusive locks on open files, through portalocker (flock on Linux and macOS, LockFileEx on Windows).

portalocker is imported when a lock is first taken: a search never locks, and importing it reads
its package's metadata, about 20 ms of a `kb search` command.
"""

from __future__ import annotations

from typing import IO, Any


def lock(handle: IO[Any], wait: bool = True) -> bool:
    """Lock an open file exclusively, waiting for it; with `wait` False, False when another holds it."""
    import portalocker

    try:
        portalocker.lock(handle, portalocker.LOCK_EX if wait else portalocker.LOCK_EX | portalocker.LOCK_NB)
    except portalocker.AlreadyLocked:
        return False
    return True


def unlock(handle: IO[Any]) -> None:
    import portalocker

    portalocker.unlock(handle)
