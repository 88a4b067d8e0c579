"""Index generations on disk, the writer lock, and long-lived searchers.

Layout of the index folder:

    CURRENT            name of the generation that serves searches
    LOCK               held (flock) by the one process that writes
    gen-<stamp>/       a complete Whoosh index plus vocabulary.json and build.json

A full rebuild writes a new generation beside the current one and then
replaces CURRENT atomically, so readers never see a half-built index.
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
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from whoosh import index as whoosh_index
from whoosh.searching import Searcher

from kb.errors import IndexLockedError, IndexMissingError
from kb.vocabulary import Vocabulary

log = logging.getLogger(__name__)
KEEP_GENERATIONS = 2


def write_atomic(path: Path, data: str) -> None:
    """Write a small file so that readers see the old or the new content, never a mix."""
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


class Generation:
    """One complete index generation, opened for reading."""

    def __init__(self, path: Path):
        self.path = path
        self.name = path.name
        try:
            self.index = whoosh_index.open_dir(str(path))
        except (OSError, whoosh_index.EmptyIndexError) as exc:
            raise IndexMissingError(f"index generation {path} cannot be opened: {exc}") from None
        self.vocabulary = Vocabulary.from_dict(self._json("vocabulary.json"), source=f"{self.name}/vocabulary.json")
        self.build = self._json("build.json") or {}

    def _json(self, name: str) -> Any:
        try:
            return json.loads((self.path / name).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None


class IndexStore:
    """The index folder: which generation serves, and searchers kept open per thread."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._local = threading.local()
        self._generation: Generation | None = None
        self._lock = threading.Lock()

    # -- generations -------------------------------------------------------
    def current_name(self) -> str:
        try:
            name = (self.path / "CURRENT").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise IndexMissingError(f"no index in {str(self.path)!r}; run 'kb reindex' first") from None
        if not name or "/" in name or not (self.path / name).is_dir():
            raise IndexMissingError(f"{self.path / 'CURRENT'} names a missing generation {name!r}; run 'kb reindex'")
        return name

    def generation(self) -> Generation:
        """Return the serving generation, reopening it when CURRENT has changed."""
        name = self.current_name()
        with self._lock:
            if self._generation is None or self._generation.name != name:
                self._generation = Generation(self.path / name)
            return self._generation

    def new_generation_path(self) -> Path:
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        path = self.path / f"gen-{stamp}-{os.getpid()}"
        path.mkdir(parents=True)
        return path

    def publish(self, path: Path) -> None:
        """Make `path` the serving generation and delete generations beyond the kept ones."""
        write_atomic(self.path / "CURRENT", path.name + "\n")
        self._prune(keep=path.name)

    def _prune(self, keep: str) -> None:
        generations = sorted((p for p in self.path.glob("gen-*") if p.is_dir()), key=lambda p: p.name)
        old = [p for p in generations if p.name != keep]
        for path in old[:-(KEEP_GENERATIONS - 1) or None]:
            shutil.rmtree(path, ignore_errors=True)

    # -- searchers ---------------------------------------------------------
    @contextmanager
    def searcher(self) -> Iterator[tuple[Searcher, Generation]]:
        """Yield this thread's searcher on the serving generation.

        Opening a searcher is costly, so each thread keeps one and reopens it
        only when the generation or its last commit changed. Searcher.refresh()
        is not used: it can keep segments that a merge removed.
        """
        generation = self.generation()
        cached = getattr(self._local, "searcher", None)
        if cached is not None:
            searcher, name = cached
            if name != generation.name or not searcher.up_to_date():
                searcher.close()
                cached = None
        if cached is None:
            searcher = generation.index.searcher()
            self._local.searcher = (searcher, generation.name)
        yield self._local.searcher[0], generation

    # -- the writer lock ---------------------------------------------------
    @contextmanager
    def write_lock(self, wait: float = 0.0) -> Iterator[None]:
        """Hold the index's writer lock; raise IndexLockedError naming the holder after `wait` seconds.

        The lock is an flock, so the kernel releases it when its holder dies,
        even by kill -9: a stale LOCK file never blocks the next job.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        lock_path = self.path / "LOCK"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
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
                        raise IndexLockedError(f"the index is being written by {self.lock_holder() or 'another process'}") from None
                    time.sleep(0.1)
            holder = {"pid": os.getpid(), "host": socket.gethostname(),
                      "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(holder).encode(), 0)
            try:
                yield
            finally:
                os.ftruncate(fd, 0)
        finally:
            os.close(fd)

    def lock_holder(self) -> str:
        """Describe the process holding the writer lock, or '' if none does."""
        lock_path = self.path / "LOCK"
        try:
            fd = os.open(lock_path, os.O_RDWR)
        except FileNotFoundError:
            return ""
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raw = os.pread(fd, 4096, 0)
                try:
                    info = json.loads(raw)
                    return f"pid {info['pid']} on {info['host']} since {info['started']}"
                except (ValueError, KeyError, TypeError):
                    return "another process"
            fcntl.flock(fd, fcntl.LOCK_UN)
            return ""
        finally:
            os.close(fd)
