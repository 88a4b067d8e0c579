"""Read content files in child processes that can be stopped: a time and memory bound per file.

One bad file must not stall a reindex job that holds the writer lock, or take
the job's memory: a parser can loop for minutes on hostile input, and a small
archive can expand to gigabytes. So files are read in reader processes, never
in the job itself. Each reader has an address-space limit (RLIMIT_AS: the
reader's size when it starts plus `memory_mb`); the job gives each file
`seconds` of wall-clock time. A file over either bound is reported as a failure
with its path and reason, its reader is replaced, and the other files go on.

Readers are forked when the job has a single thread (the CLI: a fork costs about
3 ms) and spawned otherwise (the web app, whose other threads may hold locks a
forked child would inherit; a spawn costs about 0.1 s). Either way they die with
the job (indexer.workers). Results come back in the order of the paths given.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Iterator

from indexer.content import Failure, Read, ReadLimits, read_one
from indexer.readers import load_renderers
from indexer.workers import JOB_PID, die_with_parent

# Paths sent ahead to each reader, so it never waits for the job between files.
AHEAD = 4
_MB = 1 << 20


def _vm_size() -> int:
    """This process's address-space size in bytes (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _limit_memory(memory_mb: int) -> None:
    try:
        import resource  # not on Windows: readers there have the time bound only
    except ImportError:
        return
    size = _vm_size()
    if not size:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = size + memory_mb * _MB
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    if soft == resource.RLIM_INFINITY or limit < soft:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _serve(conn: Connection, root: str, limits: ReadLimits, parent: int) -> None:
    """A reader's loop: read each path it is sent, send back the Read; stop on None or a closed pipe."""
    die_with_parent(parent)
    load_renderers()
    _limit_memory(limits.memory_mb)
    base = Path(root)
    while True:
        try:
            path = conn.recv()
        except (EOFError, OSError):
            return
        if path is None:
            return
        try:
            read = read_one(base, path, limits)
        except MemoryError:
            read = Read(path, failure=Failure(path, over_memory(limits)))
        conn.send(read)
        if read.failure is not None and read.failure.reason == over_memory(limits):
            return  # a reader that ran out of memory may be damaged: the job starts a new one


def over_memory(limits: ReadLimits) -> str:
    return f"reading it needs more than {limits.memory_mb:,} MB of memory (KB_FILE_MEMORY_MB); skipped"


def over_time(limits: ReadLimits) -> str:
    return f"reading it took longer than {limits.seconds:g} s (KB_FILE_SECONDS); skipped"


def _context() -> multiprocessing.context.BaseContext:
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    os.environ[JOB_PID] = str(os.getpid())  # spawned readers check their parent before anything else
    return multiprocessing.get_context("spawn")


@dataclass
class _Reader:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    queue: deque[int]  # sequence numbers sent and not answered, oldest first
    since: float  # when the oldest of them started being read
    stopping: bool = False  # its pipe refused a path: it is ending (out of memory), take only its answers


class ReaderPool:
    """Reader processes for one job; use as a context manager, then call `read`."""

    def __init__(self, root: Path, limits: ReadLimits, size: int):
        self.root = root
        self.limits = limits
        self.size = max(1, size)
        self.readers: list[_Reader] = []

    def __enter__(self) -> ReaderPool:
        return self

    def __exit__(self, *exc: object) -> None:
        for reader in self.readers:
            self._stop(reader, kill=exc[0] is not None)
        self.readers = []

    def _start(self) -> _Reader:
        context = _context()  # chosen at each start: the job may have started threads since
        mine, theirs = context.Pipe()
        process = context.Process(target=_serve, args=(theirs, str(self.root), self.limits, os.getpid()),
                                       name="kb-reader", daemon=True)
        process.start()
        theirs.close()
        reader = _Reader(process, mine, deque(), time.monotonic())
        self.readers.append(reader)
        return reader

    def _stop(self, reader: _Reader, kill: bool = False) -> None:
        if not kill:
            try:
                reader.conn.send(None)
            except OSError:
                pass
            reader.process.join(timeout=5)
        if reader.process.is_alive():
            reader.process.kill()
            reader.process.join()
        reader.conn.close()

    def read(self, paths: list[str]) -> Iterator[Read]:
        """Read every path; yield the Reads in the order of `paths`."""
        results: dict[int, Read] = {}
        pending = deque(range(len(paths)))  # not yet sent
        window = self.size * AHEAD * 4  # bounds the results waiting for an earlier one
        following = 0
        while following < len(paths):
            while following in results:
                yield results.pop(following)
                following += 1
            if following >= len(paths):
                break
            self._dispatch(paths, pending, following + window)
            self._collect(paths, pending, results)

    def _dispatch(self, paths: list[str], pending: deque[int], horizon: int) -> None:
        while len(self.readers) < self.size and pending:
            self._start()
        for reader in list(self.readers):
            while not reader.stopping and pending and len(reader.queue) < AHEAD and pending[0] < horizon:
                sequence = pending.popleft()
                try:
                    reader.conn.send(paths[sequence])
                except OSError:
                    # The reader ended after a file over the memory bound and has not been
                    # collected yet: the path goes to another reader, its answers are still read.
                    pending.appendleft(sequence)
                    reader.stopping = True
                    if not reader.queue:
                        self.readers.remove(reader)
                        self._stop(reader, kill=True)
                    break
                if not reader.queue:
                    reader.since = time.monotonic()
                reader.queue.append(sequence)

    def _collect(self, paths: list[str], pending: deque[int], results: dict[int, Read]) -> None:
        busy = [r for r in self.readers if r.queue]
        if not busy:
            return
        now = time.monotonic()
        timeout = max(0.0, min(r.since + self.limits.seconds for r in busy) - now)
        ready = wait([r.conn for r in busy], timeout=timeout)
        for reader in busy:
            if reader.conn in ready:
                try:
                    read = reader.conn.recv()
                except (EOFError, OSError):
                    self._lost(reader, paths, pending, results, self._death(reader))
                    continue
                sequence = reader.queue.popleft()
                results[sequence] = read
                reader.since = time.monotonic()
                if not reader.process.is_alive() or read.failure is not None and \
                        read.failure.reason == over_memory(self.limits):
                    self._lost(reader, paths, pending, results, "")
            elif time.monotonic() - reader.since >= self.limits.seconds:
                self._lost(reader, paths, pending, results, over_time(self.limits))

    def _death(self, reader: _Reader) -> str:
        reader.process.join(timeout=5)
        code = reader.process.exitcode
        if code is not None and code < 0:
            return (f"reading it stopped the reader process (signal {-code}); it may need more than "
                    f"{self.limits.memory_mb:,} MB of memory (KB_FILE_MEMORY_MB); skipped")
        return f"reading it stopped the reader process (exit code {code}); skipped"

    def _lost(self, reader: _Reader, paths: list[str], pending: deque[int], results: dict[int, Read],
              reason: str) -> None:
        """Retire a reader; its current file fails with `reason` (if any); the rest go back in the queue."""
        if reason and reader.queue:
            sequence = reader.queue.popleft()
            results[sequence] = Read(paths[sequence], failure=Failure(paths[sequence], reason))
        pending.extendleft(sorted(reader.queue, reverse=True))
        reader.queue.clear()
        self.readers.remove(reader)
        self._stop(reader, kill=True)


def read_in_readers(root: Path, paths: list[str], limits: ReadLimits, workers: int) -> Iterator[Read]:
    """Read files in reader processes (see the module's docstring); yield Reads in path order."""
    if not paths:
        return
    with ReaderPool(root, limits, workers) as pool:
        yield from pool.read(paths)
