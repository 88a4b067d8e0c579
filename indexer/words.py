"""The words of a generation, with how many items use each: the source of "did you mean".

Whoosh's own spelling data on the body field cost ~40% of build time; this table is
filled from words the reader processes already extract, and only consulted when a
query word matches nothing.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any, Callable

from rapidfuzz import process
from rapidfuzz.distance import OSA

from indexer.connections import SharedConnections
from kb.spelling import best_correction, max_distance
from kb.text import fold

def connect(database: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(database)
    conn.execute("CREATE TABLE IF NOT EXISTS words(word TEXT PRIMARY KEY, folded TEXT, df INTEGER)")
    conn.execute("CREATE INDEX IF NOT EXISTS words_folded ON words(folded)")
    # Acronyms the items define (kb.acronyms), with how many items define each pair.
    conn.execute("CREATE TABLE IF NOT EXISTS acronyms(short TEXT, long TEXT, df INTEGER, PRIMARY KEY(short, long))")
    conn.execute("CREATE INDEX IF NOT EXISTS acronyms_long ON acronyms(long)")
    return conn


class WordCounts:
    """What a run's reads add to this table: how many items use each word and define each acronym."""

    def __init__(self) -> None:
        self.words: Counter[str] = Counter()
        self.acronyms: Counter[tuple[str, str]] = Counter()

    def add(self, read: Any) -> None:
        self.words.update(read.words)
        self.acronyms.update(read.acronyms)


def add_words(database: Path, counts: WordCounts) -> None:
    """Add document frequencies of words and acronym definitions (a new generation starts empty;
    incremental runs add)."""
    with closing(connect(database)) as conn, conn:
        conn.executemany(
            "INSERT INTO words VALUES (?, ?, ?) ON CONFLICT(word) DO UPDATE SET df = df + excluded.df",
            [(word, fold(word), df) for word, df in counts.words.items()])
        conn.executemany(
            "INSERT INTO acronyms VALUES (?, ?, ?) ON CONFLICT(short, long) DO UPDATE SET df = df + excluded.df",
            [(short, long, df) for (short, long), df in counts.acronyms.items()])


def acronyms(database: Path, shorts: list[str], text: str) -> tuple[dict[str, str], dict[str, str]]:
    """({short form: its long form}, {long form: its short form}) for the short forms given and the
    long forms written in `text` (folded, lower case); the pair most items define wins."""
    if not database.is_file():
        return {}, {}
    words = re.findall(r"\w+", fold(text).lower())[:MAX_ACRONYM_WORDS]
    phrases = {" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 2, min(len(words), i + 8) + 1)}
    with _readers.using(database) as conn:
        try:
            rows = conn.execute(  # SQLite takes `long` from the row with the largest df
                f"SELECT short, long, MAX(df) FROM acronyms WHERE short IN ({','.join('?' * len(shorts))}) "
                "GROUP BY short", shorts).fetchall() if shorts else []
            # A long form brings in its short form unless that is mostly an ordinary word ("IDEA", "idea").
            found = conn.execute(
                f"SELECT a.long, a.short FROM acronyms a LEFT JOIN words w ON w.word = lower(a.short) "
                f"WHERE a.long IN ({','.join('?' * len(phrases))}) AND (w.df IS NULL OR w.df <= ? * "
                "(SELECT SUM(df) FROM acronyms b WHERE b.short = a.short)) ORDER BY a.df",
                [*sorted(phrases), ORDINARY_WORD]).fetchall() if phrases else []
        except sqlite3.OperationalError:  # an index built before acronyms were kept
            return {}, {}
    return {short: long for short, long, _ in rows}, dict(found)


CANDIDATES = 3000
MAX_ACRONYM_WORDS = 40
ORDINARY_WORD = 10  # a short form used by 10 times more items than define it is an ordinary word  # long forms are looked for in the first words of a query only
_readers = SharedConnections(
    lambda database: sqlite3.connect(f"file:{database}?mode=ro", uri=True, check_same_thread=False))


def correct(database: Path, word: str, labels: list[str] = (), usable: Callable[[str], bool] | None = None,
            together: Callable[[str], float] | None = None) -> str | None:
    """A close, frequent word of the index (or a vocabulary label word) for a word that matches nothing;
    only words `usable` accepts (those of items the reader may see) are offered, and equally close ones
    are weighed by `together` (kb.spelling.best_correction)."""
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
    found = close(target, candidates + label_words)
    if usable is not None:
        found = [(candidate, df, distance) for candidate, df, distance in found if usable(candidate)]
    return best_correction(word, found, together)


def close(target: str, candidates: list[tuple[str, int]]) -> list[tuple[str, int, int]]:
    """The candidates (word, frequency) within the allowed edit distance of `target`, with that distance
    (Damerau-Levenshtein as optimal string alignment: a swap of two neighbours is one edit; accents folded)."""
    folded = [fold(word) for word, _ in candidates]
    limit = max_distance(target)
    found = process.extract(target, folded, scorer=OSA.distance, score_cutoff=limit, limit=None)
    return [(*candidates[index], int(distance)) for _, distance, index in found]
