"""The words of a generation, with how many items use each: the source of "did you mean".

Whoosh's own spelling data on the body field cost ~40% of build time; this table is
filled from words the reader processes already extract, and only consulted when a
query word matches nothing.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from contextlib import closing
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import OSA

from indexer.connections import SharedConnections
from kb.spelling import best_correction, max_distance
from kb.text import fold

def _connect(database: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(database)
    conn.execute("CREATE TABLE IF NOT EXISTS words(word TEXT PRIMARY KEY, folded TEXT, df INTEGER)")
    conn.execute("CREATE INDEX IF NOT EXISTS words_folded ON words(folded)")
    return conn


def add_words(database: Path, counts: Counter[str]) -> None:
    """Add document frequencies (a new generation starts empty; incremental runs add)."""
    with closing(_connect(database)) as conn, conn:
        conn.executemany(
            "INSERT INTO words VALUES (?, ?, ?) ON CONFLICT(word) DO UPDATE SET df = df + excluded.df",
            [(word, fold(word), df) for word, df in counts.items()])


CANDIDATES = 3000
_readers = SharedConnections(
    lambda database: sqlite3.connect(f"file:{database}?mode=ro", uri=True, check_same_thread=False))


def correct(database: Path, word: str, labels: list[str] = ()) -> str | None:
    """A close, frequent word of the index (or a vocabulary label word) for a word that matches nothing."""
    target = fold(word)
    if not database.is_file():
        candidates: list[tuple[str, int]] = []
    else:
        spread = max_distance(target)
        # Typos rarely hit the first letter: compare only words starting like this one, the most
        # frequent first, a bounded number of them.
        with _readers.using(database) as conn:
            candidates = conn.execute(
                "SELECT word, df FROM words WHERE folded >= ? AND folded < ? AND length(folded) BETWEEN ? AND ? "
                "ORDER BY df DESC LIMIT ?",
                (target[0], chr(ord(target[0]) + 1), len(target) - spread, len(target) + spread,
                 CANDIDATES)).fetchall()
    label_words = [(w, 1) for label in labels for w in label.lower().split() if w[:1] == target[:1]]
    return best_correction(word, close(target, candidates + label_words))


def close(target: str, candidates: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The candidates within the allowed edit distance of `target` (found in C by rapidfuzz; the exact
    choice among these few is kb.spelling's)."""
    folded = [fold(word) for word, _ in candidates]
    limit = max_distance(target)
    found = process.extract(target, folded, scorer=OSA.distance, score_cutoff=limit, limit=None)
    return [candidates[index] for _, _, index in found]
