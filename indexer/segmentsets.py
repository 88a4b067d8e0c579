"""Facet bitsets and dates of each Whoosh segment, stored beside the generation (sets.sqlite).

A search page counts facets over bitsets (indexer.bitsets). Reading them from the postings
takes about half a second at 100,000 items, which every new process (a `kb search` on the
command line, a new web worker) paid on its first search. Segments never change once
written (only their deletions do, which the live-document bitset removes), so the writer
stores each new segment's bitsets and dates right after its commit, keyed by segment id,
and readers load them: one small SQLite read and a few shifts per field.

A segment whose rows are missing (a commit a moment ago, an index written before this
file existed, a read-only copy) is read from its postings as before: the file only ever
saves time, it is never needed for a correct answer.
"""

from __future__ import annotations

import logging
import sqlite3
import zlib
from contextlib import closing
from pathlib import Path
from typing import Any, Iterable

from indexer.bitsets import bitset
from indexer.generation import SETS_FILE
from indexer.schema import FILTER_FIELDS

log = logging.getLogger(__name__)

# The keyword fields whose values are read as bitsets (facets, filters, visibility).
FIELDS = (*FILTER_FIELDS.values(), "visibility", "attribution")

SCHEMA = """
CREATE TABLE IF NOT EXISTS segments (segment TEXT PRIMARY KEY, size INTEGER NOT NULL, dates BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS sets (segment TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL,
                                 bits BLOB NOT NULL, PRIMARY KEY (segment, field, value));
"""


def segment_values(reader: Any, field: str) -> dict[str, int]:
    """Each value of a keyword field in one segment (or any reader), as a bitset of its documents."""
    size = reader.doc_count_all()
    found = {}
    if field not in reader.schema:
        return found
    for raw in reader.lexicon(field):
        value = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
        found[value] = bitset(reader.postings(field, raw).all_ids(), size)
    return found


def segment_dates(reader: Any) -> list[str]:
    """Each document's date in one segment (or any reader), '' when undated."""
    column = reader.column_reader("date")
    return [column[docnum] or "" for docnum in range(reader.doc_count_all())]


def live(reader: Any) -> int:
    """The bitset of a segment's documents that are not deleted."""
    size = reader.doc_count_all()
    bits = (1 << size) - 1
    if reader.has_deletions():
        deleted = getattr(reader, "deleted_docs_set", None)  # a segment reader's set; else ask each
        gone = deleted if deleted is not None else [d for d in range(size) if reader.is_deleted(d)]
        bits &= ~bitset(gone, size)
    return bits


def _pack(bits: int, size: int) -> bytes:
    return zlib.compress(bits.to_bytes((size >> 3) + 1, "little"), 1)


def _unpack(blob: bytes) -> int:
    return int.from_bytes(zlib.decompress(blob), "little")


def save(folder: Path, index: Any) -> None:
    """Store the sets of every segment of `index` not stored yet; forget segments merged away.

    Called by the writer after each commit. A failure here costs only speed (readers fall
    back to the postings), so it is logged, not raised.
    """
    try:
        with closing(index.reader()) as reader, closing(sqlite3.connect(folder / SETS_FILE, timeout=30)) as db:
            db.executescript(SCHEMA)
            stored = {row[0] for row in db.execute("SELECT segment FROM segments")}
            present = {}
            for leaf, _offset in reader.leaf_readers():
                segment = leaf.segment()
                if segment is not None:
                    present[segment.segment_id()] = leaf
            with db:
                for gone in stored - set(present):
                    db.execute("DELETE FROM segments WHERE segment = ?", (gone,))
                    db.execute("DELETE FROM sets WHERE segment = ?", (gone,))
                for name, leaf in present.items():
                    if name not in stored:
                        _save_segment(db, name, leaf)
    except (OSError, sqlite3.Error) as exc:
        log.warning("could not store the facet bitsets of %s: %s", folder, exc)


def _save_segment(db: sqlite3.Connection, name: str, leaf: Any) -> None:
    size = leaf.doc_count_all()
    rows = ((name, field, value, _pack(bits, size))
            for field in FIELDS for value, bits in segment_values(leaf, field).items())
    db.executemany("INSERT OR REPLACE INTO sets VALUES (?, ?, ?, ?)", rows)
    dates = zlib.compress("\n".join(segment_dates(leaf)).encode("utf-8"), 1)
    db.execute("INSERT OR REPLACE INTO segments VALUES (?, ?, ?)", (name, size, dates))


class StoredSets:
    """What sets.sqlite holds for the segments of one reader; missing segments are read from postings."""

    def __init__(self, folder: Path | None, reader: Any):
        self.path = folder / SETS_FILE if folder is not None else None
        self.known: set[str] | None = None
        self.leaves: list[tuple[Any, int, str | None]] = []
        for leaf, offset in reader.leaf_readers():
            segment = leaf.segment()
            self.leaves.append((leaf, offset, segment.segment_id() if segment is not None else None))

    def _rows(self, sql: str, args: Iterable[Any]) -> list[tuple]:
        if self.path is None or not self.path.is_file():
            return []
        try:
            with closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5)) as db:
                return db.execute(sql, tuple(args)).fetchall()
        except sqlite3.Error as exc:
            log.warning("reading %s: %s; reading the postings instead", self.path, exc)
            return []

    def _known(self) -> set[str]:
        """The reader's segments whose sets are stored, asked once per reader."""
        if self.known is None:
            names = [name for _, _, name in self.leaves if name]
            marks = ",".join("?" * len(names))
            self.known = {row[0] for row in self._rows(f"SELECT segment FROM segments WHERE segment IN ({marks})",
                                                       names)}
        return self.known

    def live(self) -> int:
        bits = 0
        for leaf, offset, _ in self.leaves:
            bits |= live(leaf) << offset
        return bits

    def values(self, field: str) -> dict[str, int]:
        """Every value of `field` with its documents' bitset over the whole reader."""
        known = self._known() if field in FIELDS else set()
        stored: dict[str, dict[str, int]] = {}
        if known:
            marks = ",".join("?" * len(known))
            for segment, value, blob in self._rows(
                    f"SELECT segment, value, bits FROM sets WHERE field = ? AND segment IN ({marks})", [field, *known]):
                stored.setdefault(segment, {})[value] = _unpack(blob)
        found: dict[str, int] = {}
        for leaf, offset, name in self.leaves:
            local = stored.get(name, {}) if name in known else segment_values(leaf, field)
            for value, bits in local.items():
                found[value] = found.get(value, 0) | bits << offset
        return found

    def dates(self) -> list[str]:
        """Each document's date by document number over the whole reader."""
        known = self._known()
        stored = {}
        if known:
            marks = ",".join("?" * len(known))
            for segment, blob in self._rows(f"SELECT segment, dates FROM segments WHERE segment IN ({marks})", known):
                stored[segment] = zlib.decompress(blob).decode("utf-8").split("\n")
        days: list[str] = []
        for leaf, _offset, name in self.leaves:
            local = stored.get(name) if name in known else None
            if local is None or len(local) != leaf.doc_count_all():
                local = segment_dates(leaf)
            days.extend(local)
        return days
