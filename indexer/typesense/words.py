"""A generation's words table on the cluster: "did you mean" and acronyms on a read host without the writer's folder.

The words table (indexer.words: each word with how many items use it, each acronym with its long
form) lives in the writer's generation folder. Each run also upserts the rows it changed (every row,
after a full build) into `<collection>__words`, stamped with the time of that run. A read host keeps
a private SQLite copy per generation, which indexer.words reads as it reads the writer's, and fetches
only the rows stamped since the last it has, once per commit the meta collection announces.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path
from typing import Any

from indexer.typesense.collection import ClusterWriteError, CollectionWriter, jsonl
from indexer.typesense.connection import Connection, retried
from indexer.words import WordCounts, connect

BATCH = 1000
SELECT = 500  # rows asked of SQLite at once (its limit on bound parameters is higher)


def words_of(collection: str) -> str:
    return f"{collection}__words"


def row_id(*parts: str) -> str:
    return hashlib.sha1("\x00".join(parts).encode("utf-8")).hexdigest()


def changed_rows(database: Path, counts: WordCounts) -> list[dict[str, Any]]:
    """The table's rows for the words and acronyms a run counted, as they now stand, as documents."""
    words, pairs = sorted(counts.words), sorted(counts.acronyms)
    docs: list[dict[str, Any]] = []
    with closing(connect(database)) as conn:
        for start in range(0, len(words), SELECT):
            part = words[start:start + SELECT]
            for word, folded, df in conn.execute(
                    f"SELECT word, folded, df FROM words WHERE word IN ({','.join('?' * len(part))})", part):
                docs.append({"id": row_id("w", word), "kind": "word", "word": word, "folded": folded, "df": df})
        for short, long in pairs:
            for (df,) in conn.execute("SELECT df FROM acronyms WHERE short = ? AND long = ?", (short, long)):
                docs.append({"id": row_id("a", short, long), "kind": "acronym", "short": short, "long": long,
                             "df": df})
    return docs


def upload(connection: Connection, collection: str, database: Path, counts: WordCounts) -> None:
    """Upsert the rows a run changed into the generation's words collection (created on first use)."""
    name = words_of(collection)
    writer = CollectionWriter(connection, name, False)
    client = writer.client
    if name not in {c["name"] for c in writer._patiently(lambda: client.collections.retrieve())}:
        writer._patiently(lambda: client.collections.create({"name": name, "fields": [
            {"name": "kind", "type": "string"}, {"name": "stamp", "type": "int64"}]}))
    stamp = time.time_ns()
    docs = [dict(doc, stamp=stamp) for doc in changed_rows(database, counts)]
    for start in range(0, len(docs), BATCH):
        batch = docs[start:start + BATCH]
        answers = writer._patiently(lambda batch=batch: client.collections[name].documents.import_(
            batch, {"action": "upsert"}))
        failed = [a for a in answers if not a.get("success")]
        if failed:
            raise ClusterWriteError(f"Typesense refused {len(failed)} rows of {name}: {failed[0].get('error')}")


class WordsCopy:
    """A read host's SQLite copies of the words tables of the generations the cluster serves."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self._folder: Path | None = None  # made on first use: a writer host reads its own table
        self._seen: dict[str, tuple[str, int]] = {}  # words collection -> (the meta stamp synced at, last row stamp)
        self._lock = threading.Lock()

    def path(self, client: Any, collection: str, stamp: str) -> Path | None:
        """The copy for this collection, brought up to the commit `stamp`; None when the cluster has no words
        collection for it (a generation written before words were kept there)."""
        from typesense import exceptions

        name = words_of(collection)
        with self._lock:
            if self._folder is None:
                self._folder = Path(tempfile.mkdtemp(prefix="kb-words-"))
                weakref.finalize(self, shutil.rmtree, self._folder, ignore_errors=True)
            database = self._folder / f"{name}.sqlite"
            synced, last = self._seen.get(name, ("", -1))
            if synced == stamp:
                return database
            # rows of the last stamp are read again: a run may have been writing them when they were read
            where = {"filter_by": f"stamp:>={last}"} if last >= 0 else {}
            try:
                exported = retried(lambda: client.collections[name].documents.export(where),
                                   len(self.connection.urls))
            except exceptions.ObjectNotFound:
                return None
            rows = jsonl(exported)
            store(database, rows)
            self._seen[name] = (stamp, max([last, *(int(row["stamp"]) for row in rows)]))
            for old in set(self._seen) - {name}:  # one generation serves at a time
                del self._seen[old]
                (self._folder / f"{old}.sqlite").unlink(missing_ok=True)
            return database


def store(database: Path, rows: Iterable[dict[str, Any]]) -> None:
    rows = list(rows)
    with closing(connect(database)) as conn, conn:
        conn.executemany("INSERT OR REPLACE INTO words VALUES (?, ?, ?)",
                         [(r["word"], r["folded"], r["df"]) for r in rows if r.get("kind") == "word"])
        conn.executemany("INSERT OR REPLACE INTO acronyms VALUES (?, ?, ?)",
                         [(r["short"], r["long"], r["df"]) for r in rows if r.get("kind") == "acronym"])

