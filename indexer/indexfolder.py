"""The index folder: which generation serves, the one writer's lock, the record of the last run.

    CURRENT            name of the generation that serves searches
    PREVIOUS           name of the generation it replaced, kept for `kb rollback`
    LOCK               held by the one process that writes; holds its pid, host, start
    last-run.json      the summary of the last reindex job
    gen-<stamp>/       one generation (indexer.generation says what is inside)

A full rebuild writes a new generation beside the current one and then replaces
CURRENT atomically, so readers never see a half-built index. A generation that no
longer serves is removed some minutes later (readers may still be using it); a
folder that never served is a build a killed job left behind, removed at once.
Nothing here depends on the search engine: each engine keeps its own data in
(or named after) the generation's folder.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import socket
import time
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator

from indexer.files import now_iso, read_json, write_atomic
from indexer.generation import GenerationFolder
from indexer.locking import lock, unlock
from indexer.warming import held_until
from kb.errors import IndexLockedError, IndexMissingError, NotFoundError

log = logging.getLogger(__name__)
# A generation that stopped serving stays this long, for searches still running on it.
RETIRE_GRACE = 600.0


class IndexFolder:
    """The generations of one index on disk."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)

    # -- generations -------------------------------------------------------
    def current_name(self) -> str:
        try:
            name = (self.path / "CURRENT").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise IndexMissingError(f"no index in {str(self.path)!r}; run 'kb reindex' first") from None
        if not name or "/" in name or not (self.path / name).is_dir():
            raise IndexMissingError(f"{self.path / 'CURRENT'} names a missing generation {name!r}; run 'kb reindex'")
        return name

    def current(self) -> GenerationFolder | None:
        """The serving generation, or None when there is no index yet."""
        try:
            return GenerationFolder(self.path / self.current_name())
        except IndexMissingError:
            return None

    def previous(self) -> GenerationFolder | None:
        """The generation that served before the current one, if it is still on disk."""
        try:
            name = (self.path / "PREVIOUS").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        current = self.current()
        folder = GenerationFolder(self.path / name)
        if not name or "/" in name or (current and current.name == name) or not folder.complete():
            return None
        return folder

    def new_generation(self) -> GenerationFolder:
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        path = self.path / f"gen-{stamp}-{os.getpid()}"
        path.mkdir(parents=True)
        return GenerationFolder(path)

    def publish(self, name: str) -> None:
        """Make generation `name` serve; keep the one it replaces for rollback, retire older ones."""
        previous, leaving = self.current(), self.previous()
        if previous is not None:
            write_atomic(self.path / "PREVIOUS", previous.name + "\n")
        write_atomic(self.path / "CURRENT", name + "\n")
        if leaving is not None:
            leaving.retired_marker.touch()
        self.prune()

    def rollback(self) -> str:
        """Serve the previous generation again (and keep the current one as the new previous)."""
        previous, current = self.previous(), self.current()
        if previous is None:
            raise NotFoundError("there is no previous generation to roll back to")
        if current is not None:
            write_atomic(self.path / "PREVIOUS", current.name + "\n")
        write_atomic(self.path / "CURRENT", previous.name + "\n")
        return previous.name

    def prune(self) -> list[str]:
        """Remove generations that are neither serving nor kept for rollback; return the names
        of those that never served (builds a killed job left behind).

        A generation that served is removed only RETIRE_GRACE seconds after it was
        retired, so a reader still searching it finishes. Call only while holding
        the writer lock.
        """
        keep = {g.name for g in (self.current(), self.previous()) if g is not None}
        unfinished = []
        now = time.time()
        for path in self.path.glob("gen-*"):
            if path.name in keep:
                continue
            marker = GenerationFolder(path).retired_marker
            if not marker.exists():
                shutil.rmtree(path, ignore_errors=True)
                unfinished.append(path.name)
            elif now - marker.stat().st_mtime >= RETIRE_GRACE:
                shutil.rmtree(path, ignore_errors=True)
        for tmp in self.path.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)
        return unfinished

    # -- run records and status ---------------------------------------------
    def record_run(self, summary: dict[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path / "last-run.json", json.dumps({"finished_at": now_iso(), **summary}))

    def status(self) -> dict[str, Any]:
        """What serves, when it was built, how many items, the last run and any lock holder."""
        current = self.current()
        build = current.build() if current else {}
        previous = self.previous()
        return {
            "generation": current.name if current else None,
            "built_at": build.get("built_at"),
            "updated_at": build.get("updated_at"),
            "items": build.get("items"),
            "previous_generation": previous.name if previous else None,
            "last_run": read_json(self.path / "last-run.json"),
            "lock_holder": self.lock_holder() or None,
            "readers_held_until": held_until(current.path) if current else None,
        }

    # -- the writer lock ---------------------------------------------------
    @contextmanager
    def write_lock(self, wait: float = 0.0) -> Iterator[str]:
        """Hold the writer lock; yield a description of a dead holder's lock it recovered, or ''.

        The lock is an operating-system lock on the LOCK file (flock on Linux and
        macOS, through portalocker, which also works on Windows), so it is free as
        soon as its holder dies, even by kill -9. The holder's details stay in the
        file, which is how a killed job is recognised and reported. After `wait`
        seconds of waiting for a live holder, IndexLockedError names it.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + wait
        with open(self.path / "LOCK", "a+b") as handle:
            while not _try_lock(handle):
                if time.monotonic() >= deadline:
                    holder = _describe(_read(handle)) or "another process"
                    raise IndexLockedError(f"the index is being written by {holder}; try again later or use --wait")
                time.sleep(0.1)
            try:
                stale = _describe(_read(handle))
                if stale:
                    log.info("recovered the lock of a job that did not finish (%s)", stale)
                holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": now_iso()}
                _write(handle, json.dumps(holder).encode())
                try:
                    yield stale
                finally:
                    _write(handle, b"")
            finally:
                unlock(handle)

    def lock_holder(self) -> str:
        """Describe the live process holding the writer lock, or '' if none does."""
        try:
            handle = open(self.path / "LOCK", "r+b")
        except FileNotFoundError:
            return ""
        with handle:
            if not _try_lock(handle):
                return _describe(_read(handle)) or "another process"
            unlock(handle)
            return ""


def _try_lock(handle: IO[bytes]) -> bool:
    return lock(handle, wait=False)


def _read(handle: IO[bytes]) -> bytes:
    handle.seek(0)
    return handle.read(4096)


def _write(handle: IO[bytes], data: bytes) -> None:
    handle.seek(0)
    handle.truncate()
    handle.write(data)
    handle.flush()
    os.fsync(handle.fileno())


def _describe(raw: bytes) -> str:
    if not raw.strip():
        return ""
    try:
        info = json.loads(raw)
        return f"pid {info['pid']} on {info['host']} since {info['started']}"
    except (ValueError, KeyError, TypeError):
        return "an unknown process"
