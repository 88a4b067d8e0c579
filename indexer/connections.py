"""SQLite connections shared by every thread of a process, one per database file.

A web server may start a thread per request (kb serve does); a connection kept
per thread would then be opened on every request and never closed, leaking a
file descriptor each time. Here each file has one connection, used under a
lock (the statements are short), and the least recently used ones are closed
when more than a few files are open (words tables of retired generations).
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator


class SharedConnections:
    def __init__(self, opener: Callable[[Path], sqlite3.Connection], keep: int = 4):
        self.opener = opener
        self.keep = keep
        self._lock = threading.Lock()
        self._open: OrderedDict[Path, tuple[sqlite3.Connection, threading.Lock]] = OrderedDict()

    @contextmanager
    def using(self, path: Path, reopen: bool = False) -> Iterator[sqlite3.Connection]:
        """The connection to `path` for the length of the block; `reopen` drops a cached one first."""
        closing: list[sqlite3.Connection] = []
        with self._lock:
            entry = self._open.get(path)
            if entry is not None and reopen:
                closing.append(self._open.pop(path)[0])
                entry = None
            if entry is None:
                entry = self._open[path] = (self.opener(path), threading.Lock())
            self._open.move_to_end(path)
            while len(self._open) > self.keep:
                closing.append(self._open.popitem(last=False)[1][0])
        for conn in closing:
            conn.close()
        conn, lock = entry
        with lock:
            yield conn

    def close(self) -> None:
        with self._lock:
            entries, self._open = list(self._open.values()), OrderedDict()
        for conn, _ in entries:
            conn.close()
