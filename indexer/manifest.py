"""What each index generation holds: one entry per content file, to find what changed.

Size and modification time are the fast path; the content hash is the truth, so a
file touched without changes is not reindexed, and a file changed within the same
second and size is. The manifest is a small SQLite database in the generation's
folder (indexer.generation names it), so an incremental run reads it quickly and
writes only the rows that changed, in one transaction.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, NamedTuple

from indexer.content import PEOPLE_FILES, VOCABULARY_FILES, FileStat, file_stat, hash_file, scan
from indexer.files import sha256_file
from indexer.listing import FORMAT, Listing

# Past this many paths, one read of the whole manifest is quicker than a query per path.
MANY_PATHS = 2000
# The folder listing is kept under a key naming its format: a listing in another format is not read.
LISTING_KEY = f"listing {FORMAT}"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files(path TEXT PRIMARY KEY, id TEXT, size INTEGER, mtime_ns INTEGER, sha256 TEXT);
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE INDEX IF NOT EXISTS files_id ON files(id);
"""


class Entry(NamedTuple):
    """One indexed file: its item id and the state it was indexed in."""

    id: str
    size: int
    mtime_ns: int
    sha256: str


@dataclass
class Changes:
    """The difference between the content folder and a manifest."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # unchanged content but a new size/mtime: only the manifest needs the new stat
    touched: dict[str, Entry] = field(default_factory=dict)
    stats: dict[str, FileStat] = field(default_factory=dict)
    unusable: list[tuple[str, str]] = field(default_factory=list)  # (path, reason) of files that cannot be read

    @property
    def to_read(self) -> list[str]:
        return self.added + self.updated

    def __bool__(self) -> bool:
        return bool(self.added or self.updated or self.deleted or self.touched)


def _connect(database: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(database)
    conn.executescript(_SCHEMA)
    return conn


def load_manifest(database: Path, paths: Iterable[str] | None = None) -> dict[str, Entry]:
    """Read a manifest (only the entries of `paths`, if given); an empty one if there is none."""
    if not database.is_file():
        return {}
    wanted = None if paths is None else set(paths)
    with closing(_connect(database)) as conn:
        if wanted is None or len(wanted) > MANY_PATHS:
            rows = conn.execute("SELECT path, id, size, mtime_ns, sha256 FROM files").fetchall()
        else:
            rows = [row for path in wanted for row in
                    conn.execute("SELECT path, id, size, mtime_ns, sha256 FROM files WHERE path = ?", (path,))]
        return {row[0]: Entry(*row[1:]) for row in rows if wanted is None or row[0] in wanted}


def manifest_size(database: Path) -> int:
    if not database.is_file():
        return 0
    with closing(_connect(database)) as conn:
        return conn.execute("SELECT count(*) FROM files").fetchone()[0]


class Owners(dict):
    """Which file holds each item id: the files read so far, then the manifest, asked one id at a time
    (a run that reads a few files need not load the manifest of a whole folder)."""

    def __init__(self, database: Path, leaving: Iterable[str]):
        super().__init__()
        self.database = database
        self.leaving = set(leaving)  # files deleted or read again: their old ids are free

    def get(self, item_id: str, default: str | None = None) -> str | None:  # type: ignore[override]
        if item_id in self:
            return self[item_id]
        if not self.database.is_file():
            return default
        with closing(_connect(self.database)) as conn:
            rows = conn.execute("SELECT path FROM files WHERE id = ?", (item_id,)).fetchall()
        owners = [path for (path,) in rows if path not in self.leaving]
        return owners[0] if owners else default


def save_manifest(database: Path, entries: dict[str, Entry], vocabulary_hash: str,
                  deleted: Iterable[str] = (), listing: Listing | None = None) -> None:
    """Insert or replace `entries`, remove `deleted`, record the vocabulary hash: one transaction.

    `listing` is the folder's listing (indexer.listing) the manifest now matches in
    full, kept for the next run to compare with (about 6 MB at 100,000 files: compressing
    it would cost more time than it saves); None when the manifest
    may not match it (a file failed and must be tried again, or only some were read).
    """
    with closing(_connect(database)) as conn, conn:
        conn.executemany("DELETE FROM files WHERE path=?", [(p,) for p in deleted])
        conn.executemany("INSERT OR REPLACE INTO files VALUES (?,?,?,?,?)",
                         [(path, *entry) for path, entry in entries.items()])
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('vocabulary_sha256', ?)", (vocabulary_hash,))
        conn.execute("DELETE FROM meta WHERE key LIKE 'listing%'")
        if listing is not None:
            conn.execute("INSERT INTO meta VALUES (?, ?)", (LISTING_KEY, listing.raw))


def manifest_vocabulary_hash(database: Path) -> str:
    return _meta(database, "vocabulary_sha256")


def manifest_listing(database: Path) -> Listing | None:
    """The folder's listing as the manifest matches it in full, if it is known."""
    stored = _meta(database, LISTING_KEY)
    return Listing(stored) if stored else None


def _meta(database: Path, key: str) -> Any:
    if not database.is_file():
        return ""
    with closing(_connect(database)) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    return row[0] if row else ""


def load_stats(database: Path, paths: Iterable[str] | None = None) -> dict[str, tuple[int, int]]:
    """Each indexed file's (size, mtime_ns), all of them or those of `paths`: what compare() needs for
    the files that did not change, a third of the cost of reading whole entries at 100,000 files."""
    if not database.is_file():
        return {}
    with closing(_connect(database)) as conn:
        if paths is None:
            rows = conn.execute("SELECT path, size, mtime_ns FROM files").fetchall()
        else:
            rows = [row for path in paths for row in
                    conn.execute("SELECT path, size, mtime_ns FROM files WHERE path = ?", (path,))]
    return {path: (size, mtime_ns) for path, size, mtime_ns in rows}


def compare(root: Path, known: Mapping[str, tuple[int, int]], entries: Callable[[list[str]], dict[str, Entry]],
            only: Iterable[str] | None = None, listing: Listing | None = None) -> Changes:
    """Sort every file into added, updated, deleted, unchanged: the whole content folder (from
    `listing` when there is one, else walked here), or only the files in `only` (the ones a tag
    edit wrote: no walk of the folder).

    `known` gives each indexed file's (size, mtime_ns); `entries(paths)` the whole manifest
    entries of the few files whose size or time differ, to tell a touched file from a changed one.
    """
    changes = Changes()
    if only is None:
        changes.stats = listing.stats(changes.unusable) if listing is not None else scan(root, changes.unusable)
        changes.deleted = sorted(p for p in known if p not in changes.stats)
    else:
        for path in sorted(set(only)):
            stat = file_stat(root, path)
            if stat is not None:
                changes.stats[path] = stat
            elif path in known:
                changes.deleted.append(path)
    differing = []
    for relative_path, stat in changes.stats.items():
        seen = known.get(relative_path)
        if seen is None:
            changes.added.append(relative_path)
        elif seen == stat:  # (size, mtime_ns) both
            changes.unchanged.append(relative_path)
        else:
            differing.append(relative_path)
    indexed = entries(differing) if differing else {}
    for relative_path in differing:
        entry = indexed[relative_path]
        stat = changes.stats[relative_path]
        # Hashed here only to tell a touched file from a changed one; the reader hashes the
        # bytes it actually reads, which may have changed again since.
        try:
            digest = hash_file(root, relative_path)
        except OSError:
            changes.updated.append(relative_path)
            continue
        if digest == entry.sha256:
            changes.unchanged.append(relative_path)
            changes.touched[relative_path] = Entry(entry.id, stat.st_size, stat.st_mtime_ns, digest)
        else:
            changes.updated.append(relative_path)
    changes.added.sort()
    changes.updated.sort()
    return changes


def vocabulary_hash(root: Path) -> str:
    """Hash of the vocabulary file, and of the people registry when there is one ('' when neither is)."""
    hashes = [sha256_file(root / name) for names in (VOCABULARY_FILES, PEOPLE_FILES) for name in names
              if (root / name).is_file()]
    return hashes[0] if len(hashes) == 1 else "+".join(hashes)
