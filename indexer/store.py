"""Index generations on disk, the writer lock, and long-lived searchers.

Layout of the index folder:

    CURRENT            name of the generation that serves searches
    PREVIOUS           name of the generation it replaced, kept for `kb rollback`
    LOCK               held (flock) by the one process that writes; holds its pid, host, start
    last-run.json      the summary of the last reindex job
    gen-<stamp>/       a Whoosh index plus manifest.sqlite, vocabulary.json and build.json

A full rebuild writes a new generation beside the current one and then replaces
CURRENT atomically, so readers never see a half-built index. A generation that no
longer serves is removed some minutes later (readers may still be using it); a
folder that never served is a build a killed job left behind, removed at once.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import logging
import os
import shutil
import socket
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from whoosh import index as whoosh_index
from whoosh.searching import Searcher

from kb.errors import IndexLockedError, IndexMissingError, NotFoundError
from kb.vocabulary import Vocabulary

log = logging.getLogger(__name__)
BUILD_FILE = "build.json"
RETIRED = "retired"
# A generation that stopped serving stays this long, for searches still running on it.
RETIRE_GRACE = 600.0


def write_atomic(path: Path, data: str) -> None:
    """Write a file so that readers see the old or the new content, never a mix."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def now_iso(precise: bool = False) -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds" if precise else "seconds")


class Generation:
    """One complete index generation, opened for reading."""

    def __init__(self, path: Path):
        self.path = path
        self.name = path.name
        try:
            self.index = whoosh_index.open_dir(str(path))
        except (OSError, whoosh_index.EmptyIndexError) as exc:
            raise IndexMissingError(f"index generation {path} cannot be opened: {exc}") from None
        self.vocabulary = Vocabulary.from_dict(read_json(path / "vocabulary.json"), source=f"{self.name}/vocabulary.json")
        self.build = read_json(path / BUILD_FILE) or {}

    @contextmanager
    def searcher(self) -> Iterator[tuple[Searcher, Generation]]:
        """A searcher on exactly this generation (used to check a build before it serves)."""
        searcher = self.index.searcher()
        try:
            yield searcher, self
        finally:
            searcher.close()


class ResultCache:
    """Recent search results, keyed by the exact index state and request; thread-safe LRU."""

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        if not self.size:
            return None
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        if not self.size:
            return
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


class IndexStore:
    """The index folder: which generation serves, and a pool of open searchers."""

    # Idle searchers kept open for the next searches; more are opened when more
    # searches run at once, and closed again when they finish.
    KEEP_IDLE = 4

    def __init__(self, path: str | os.PathLike[str], cache_size: int = 0, time_limit: float = 10.0):
        self.path = Path(path)
        self.results = ResultCache(cache_size)
        self.time_limit = time_limit  # seconds a search may spend ranking before it returns what it has
        self._generation: Generation | None = None
        self._lock = threading.Lock()
        self._idle: list[tuple[Searcher, str]] = []  # (searcher, generation name), most recent last
        self._closed = False

    def close(self) -> None:
        """Close every idle searcher (they hold the index's files open); searchers in use close when returned."""
        with self._lock:
            idle, self._idle = self._idle, []
            self._closed = True
        for searcher, _ in idle:
            searcher.close()

    def __del__(self) -> None:
        self.close()

    # -- generations -------------------------------------------------------
    def current_name(self) -> str:
        try:
            name = (self.path / "CURRENT").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise IndexMissingError(f"no index in {str(self.path)!r}; run 'kb reindex' first") from None
        if not name or "/" in name or not (self.path / name).is_dir():
            raise IndexMissingError(f"{self.path / 'CURRENT'} names a missing generation {name!r}; run 'kb reindex'")
        return name

    def current_path(self) -> Path | None:
        """The serving generation's folder, or None when there is no index yet."""
        try:
            return self.path / self.current_name()
        except IndexMissingError:
            return None

    def generation(self) -> Generation:
        """Return the serving generation, reopening it when CURRENT has changed."""
        name = self.current_name()
        with self._lock:
            if self._generation is None or self._generation.name != name:
                self._generation = Generation(self.path / name)
            elif self._generation.build.get("updated_at") != (read_json(self.path / name / BUILD_FILE) or {}).get("updated_at"):
                # an incremental run changed this generation's vocabulary or counts
                self._generation = Generation(self.path / name)
            return self._generation

    def new_generation_path(self) -> Path:
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        path = self.path / f"gen-{stamp}-{os.getpid()}"
        path.mkdir(parents=True)
        return path

    def publish(self, path: Path) -> None:
        """Make `path` serve; keep the generation it replaces for rollback, remove older ones."""
        previous, leaving = self.current_path(), self.previous_path()
        if previous is not None:
            write_atomic(self.path / "PREVIOUS", previous.name + "\n")
        write_atomic(self.path / "CURRENT", path.name + "\n")
        if leaving is not None:
            (leaving / RETIRED).touch()
        self.prune()

    def previous_path(self) -> Path | None:
        """The generation that served before the current one, if it is still on disk."""
        try:
            name = (self.path / "PREVIOUS").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        current = self.current_path()
        path = self.path / name
        if not name or "/" in name or (current and current.name == name) or not (path / BUILD_FILE).is_file():
            return None
        return path

    def rollback(self) -> str:
        """Serve the previous generation again (and keep the current one as the new previous)."""
        previous, current = self.previous_path(), self.current_path()
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
        keep = {p.name for p in (self.current_path(), self.previous_path()) if p is not None}
        unfinished = []
        now = time.time()
        for path in self.path.glob("gen-*"):
            if path.name in keep:
                continue
            marker = path / RETIRED
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
        current = self.current_path()
        build = (read_json(current / BUILD_FILE) or {}) if current else {}
        previous = self.previous_path()
        return {
            "generation": current.name if current else None,
            "built_at": build.get("built_at"),
            "updated_at": build.get("updated_at"),
            "items": build.get("items"),
            "previous_generation": previous.name if previous else None,
            "last_run": read_json(self.path / "last-run.json"),
            "lock_holder": self.lock_holder() or None,
        }

    # -- searchers ---------------------------------------------------------
    @contextmanager
    def searcher(self) -> Iterator[tuple[Searcher, Generation]]:
        """Lend a searcher on the serving generation for the length of the block.

        Opening a searcher is costly (and its facet bitsets are built on first
        use), so searchers are pooled: one that is returned waits for the next
        search, unless its generation or commit is no longer the serving one,
        in which case it is closed, releasing the files of a retired generation.
        Searchers are not tied to threads: a server that starts a thread per
        request (kb serve) reuses the same few. Searcher.refresh() is not used:
        it can keep segments that a merge removed.
        """
        generation = self.generation()
        searcher = self._checkout(generation)
        try:
            yield searcher, generation
        finally:
            self._checkin(searcher, generation.name)

    def _checkout(self, generation: Generation) -> Searcher:
        found = None
        with self._lock:
            stale = [s for s, name in self._idle if name != generation.name]
            self._idle = [(s, name) for s, name in self._idle if name == generation.name]
            if self._idle:
                found = self._idle.pop()[0]
        for old in stale:  # of a generation that no longer serves
            old.close()
        if found is not None:
            if found.up_to_date():
                return found
            found.close()  # an incremental run committed since
        return generation.index.searcher()

    def _checkin(self, searcher: Searcher, name: str) -> None:
        with self._lock:
            keep = not self._closed and len(self._idle) < self.KEEP_IDLE and \
                (self._generation is None or self._generation.name == name)
            if keep:
                self._idle.append((searcher, name))
        if not keep:
            searcher.close()

    def open_searchers(self) -> int:
        """Idle searchers held open (for tests of descriptor use)."""
        with self._lock:
            return len(self._idle)

    # -- the writer lock ---------------------------------------------------
    @contextmanager
    def write_lock(self, wait: float = 0.0) -> Iterator[str]:
        """Hold the writer lock; yield a description of a dead holder's lock it recovered, or ''.

        The lock is an flock, so the kernel releases it when its holder dies,
        even by kill -9. The holder's details stay in the file, which is how a
        killed job is recognised and reported. After `wait` seconds of waiting
        for a live holder, IndexLockedError names it.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / "LOCK", os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + wait
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        holder = _describe(os.pread(fd, 4096, 0)) or "another process"
                        raise IndexLockedError(f"the index is being written by {holder}; try again later or use --wait") from None
                    time.sleep(0.1)
            stale = _describe(os.pread(fd, 4096, 0))
            if stale:
                log.info("recovered the lock of a job that did not finish (%s)", stale)
            holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": now_iso()}
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(holder).encode(), 0)
            os.fsync(fd)
            try:
                yield stale
            finally:
                os.ftruncate(fd, 0)
        finally:
            os.close(fd)

    def lock_holder(self) -> str:
        """Describe the live process holding the writer lock, or '' if none does."""
        try:
            fd = os.open(self.path / "LOCK", os.O_RDWR)
        except FileNotFoundError:
            return ""
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return _describe(os.pread(fd, 4096, 0)) or "another process"
            fcntl.flock(fd, fcntl.LOCK_UN)
            return ""
        finally:
            os.close(fd)


def _describe(raw: bytes) -> str:
    if not raw.strip():
        return ""
    try:
        info = json.loads(raw)
        return f"pid {info['pid']} on {info['host']} since {info['started']}"
    except (ValueError, KeyError, TypeError):
        return "an unknown process"
