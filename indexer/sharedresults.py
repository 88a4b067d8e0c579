"""Search results shared by every process that serves one index folder.

Each web worker keeps its own recent results (IndexStore.results), so a popular search was ranked
once per worker, and a worker that had just started ranked again what the others already knew.
This second level, a SQLite file in the index folder, lets a worker take a result another one
ranked. It holds only what the key says exactly (generation, commit, last update, request, role,
day, as in indexer.searching) plus what else makes a result (this code, search by meaning and its
weight, the time limit), so a stale result cannot be served: any change makes a new key, and old
entries are forgotten oldest first once the file holds `megabytes`. Results are pickled, as Whoosh
pickles the index's own postings and stored fields beside it: whoever may write the folder may
already change what searches find.

Beside the results, each process notes which requests it was asked, and how often (`asked`): an
incremental run ranks the most asked again on its new commit before readers move to it (indexer.warming).

It is a cache and nothing more: a locked, unreadable or read-only file, or an entry that does not
unpickle, is a miss, never an error (the search is run as if the file were not there).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import os
import pickle
import sqlite3
import threading
import time
import zlib
from pathlib import Path
from typing import Any

from kb.search import SearchResult

FILE = "results.sqlite"
# Writers wait this long for the other writer, then skip keeping the result (it is kept next time).
BUSY_SECONDS = 0.05
# The size is checked every so many results kept.
CHECK_EVERY = 64

log = logging.getLogger(__name__)


def code_stamp() -> str:
    """What identifies this code: a result ranked by other code may differ, so it is not shared.
    The package's files' sizes and times (about 100 stats: a fraction of a millisecond)."""
    stamp = hashlib.blake2b(digest_size=8)
    for package in ("kb", "indexer"):
        folder = Path(__file__).resolve().parent.parent / package
        for path in sorted(folder.rglob("*.py")):
            stat = path.stat()
            stamp.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return stamp.hexdigest()


class SharedResults:
    """get/put of whole search results under their exact key, for every process of one index folder."""

    def __init__(self, folder: Path, megabytes: float, settings: tuple):
        self.path = Path(folder) / FILE
        self.limit = megabytes * 1_000_000
        self.settings = settings
        self._stamp: str | None = None
        self._db: sqlite3.Connection | None = None
        self._pid = 0
        self._puts = 0
        self._lock = threading.Lock()
        self._off = megabytes <= 0

    def key(self, key: tuple) -> bytes:
        if self._stamp is None:
            self._stamp = code_stamp()
        return hashlib.blake2b(repr((self._stamp, self.settings, key)).encode(), digest_size=16).digest()

    def get(self, key: tuple, vocabulary: Any) -> SearchResult | None:
        if self._off:
            return None
        packed = self._run("SELECT value FROM results WHERE key = ?", (self.key(key),))
        if not packed:
            return None
        try:
            result = pickle.loads(zlib.decompress(packed[0][0]))
        except Exception:  # written by other code, or cut short: not a result
            return None
        return dataclasses.replace(result, vocabulary=vocabulary)

    def put(self, key: tuple, result: SearchResult) -> None:
        if self._off:
            return
        bare = dataclasses.replace(result, vocabulary=None, state=(), cached=False, seconds=0.0)
        packed = zlib.compress(pickle.dumps(bare, protocol=pickle.HIGHEST_PROTOCOL), 1)
        self._run("INSERT OR REPLACE INTO results (key, value, size) VALUES (?, ?, ?)",
                  (self.key(key), packed, len(packed)))
        self._puts += 1
        if self._puts % CHECK_EVERY == 0:
            self.trim()

    def note_asked(self, counts: dict[bytes, int], keep_seconds: float) -> None:
        """Add to the requests asked (pickled kb.search.SearchRequest: how many times each) since the last note;
        forget those not asked within `keep_seconds`, so that the file holds only recent ones."""
        if self._off or not counts:
            return
        now = time.time()
        rows = [(hashlib.blake2b(packed, digest_size=16).digest(), packed, count, now) for packed, count in counts.items()]
        self._run_many("INSERT INTO asked (key, request, count, last) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT (key) DO UPDATE SET count = count + excluded.count, last = excluded.last", rows)
        self._run("DELETE FROM asked WHERE last < ?", (now - keep_seconds,))

    def most_asked(self, seconds: float, limit: int, least: int = 1) -> list[Any]:
        """The requests asked at least `least` times, the last time within the last `seconds`, the most asked
        first (at most `limit`); older ones are forgotten."""
        if self._off:
            return []
        since = time.time() - seconds
        self._run("DELETE FROM asked WHERE last < ?", (since,))
        found = []
        for (packed,) in self._run("SELECT request FROM asked WHERE count >= ? ORDER BY count DESC, last DESC "
                                "LIMIT ?", (least, limit)):
            try:
                found.append(pickle.loads(packed))
            except Exception:  # written by other code: not a request
                continue
        return found

    def trim(self) -> None:
        """Forget the oldest results until the file holds at most 80% of its size."""
        rows = self._run("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM results")
        if rows and rows[0][1] > self.limit:
            count, size = rows[0]
            drop = count - int(count * 0.8 * self.limit / size)
            self._run("DELETE FROM results WHERE n IN (SELECT n FROM results ORDER BY n LIMIT ?)", (drop,))

    def _run(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            try:
                return self._connection().execute(sql, args).fetchall()
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) and "busy" not in str(error):
                    self._give_up(error)
                return []
            except sqlite3.Error as error:
                self._give_up(error)
                return []

    def _run_many(self, sql: str, rows: list[tuple]) -> None:
        with self._lock:
            try:
                db = self._connection()
                db.execute("BEGIN")  # one transaction for all the rows
                try:
                    db.executemany(sql, rows)
                    db.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        db.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) and "busy" not in str(error):
                    self._give_up(error)
            except sqlite3.Error as error:
                self._give_up(error)

    def _connection(self) -> sqlite3.Connection:
        # a process forked from one that had the file open opens its own
        if self._db is None or self._pid != os.getpid():
            db = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=OFF")  # losing the last results in a crash loses nothing
            db.execute("CREATE TABLE IF NOT EXISTS results "
                       "(n INTEGER PRIMARY KEY, key BLOB UNIQUE, value BLOB, size INTEGER)")
            db.execute("CREATE TABLE IF NOT EXISTS asked "
                       "(key BLOB PRIMARY KEY, request BLOB, count INTEGER, last REAL)")
            self._db, self._pid = db, os.getpid()
        return self._db

    def _give_up(self, error: sqlite3.Error) -> None:
        log.warning("shared search results off (%s: %s); each process keeps its own", self.path, error)
        self._off = True
