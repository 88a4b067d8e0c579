"""The reference: the same jobs done with SQLite FTS5 (stdlib sqlite3, porter tokenizer).

It reads the same content folder with kb's own front-matter reader, indexes title
and raw body (no Markdown rendering: FTS5 needs none), keeps facet values in a side
table, and keeps a manifest for incremental runs. Its search does the search page's
work: ranked top hits (bm25), total, facet counts over every match, snippets.

    python bench/fts5_ref.py build CONTENT DB        # prints JSON {"items", "seconds"}
    python bench/fts5_ref.py update CONTENT DB       # incremental
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indexer.content import content_files, load_vocabulary  # noqa: E402
from indexer.readers import decode, split_front_matter  # noqa: E402
from kb.metadata import clean_list, clean_text, parse_date  # noqa: E402
from kb.query import parse_query  # noqa: E402
from kb.search import FACETS, FacetCount, Hit, SearchRequest, SearchResult  # noqa: E402
from kb.item import Item  # noqa: E402
from kb.vocabulary import Vocabulary  # noqa: E402

SCHEMA = """
CREATE TABLE IF NOT EXISTS items(rowid INTEGER PRIMARY KEY, path TEXT UNIQUE, data TEXT, date TEXT);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(title, body, tokenize='porter unicode61 remove_diacritics 2');
CREATE TABLE IF NOT EXISTS facet(rowid INTEGER, field TEXT, value TEXT);
CREATE INDEX IF NOT EXISTS facet_value ON facet(field, value, rowid);
CREATE INDEX IF NOT EXISTS facet_row ON facet(rowid, field, value);
CREATE TABLE IF NOT EXISTS manifest(path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, sha256 TEXT);
"""


def connect(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(SCHEMA)
    return conn


def read(root: Path, path: str, vocabulary: Vocabulary) -> tuple[dict[str, Any], str, list[tuple[str, str]]]:
    data = (root / path).read_bytes()
    text, _ = decode(path, data)
    meta, body = split_front_matter(path, text)
    date = parse_date(meta.get("date"))
    item = {
        "id": clean_text(meta.get("id")) or path.rsplit(".", 1)[0],
        "title": clean_text(meta.get("title")) or path,
        "type": clean_text(meta.get("type")) or "document",
        "date": date.isoformat() if date else None,
        "topics": list(clean_list(meta.get("topics"), lower=True)),
        "activities": list(clean_list(meta.get("activities"))),
        "countries": list(clean_list(meta.get("countries"), upper=True)),
        "lang": clean_text(meta.get("lang")) or "en",
        "kind": clean_text(meta.get("kind")),
    }
    values = [("topic", t) for t in vocabulary.with_ancestors(item["topics"])]
    values += [("type", item["type"]), ("lang", item["lang"]), ("year", item["date"][:4] if date else "")]
    values += [("country", c) for c in item["countries"]] + [("kind", item["kind"])]
    return item, body, [(f, v) for f, v in values if v]


def index_file(conn: sqlite3.Connection, root: Path, path: str, vocabulary: Vocabulary) -> None:
    item, body, values = read(root, path, vocabulary)
    stat = (root / path).stat()
    digest = hashlib.sha256((root / path).read_bytes()).hexdigest()
    old = conn.execute("SELECT rowid FROM items WHERE path=?", (path,)).fetchone()
    if old:
        delete_row(conn, old[0])
    cur = conn.execute("INSERT INTO items(path, data, date) VALUES (?,?,?)", (path, json.dumps(item), item["date"] or ""))
    rowid = cur.lastrowid
    conn.execute("INSERT INTO fts(rowid, title, body) VALUES (?,?,?)", (rowid, item["title"], body))
    conn.executemany("INSERT INTO facet VALUES (?,?,?)", [(rowid, f, v) for f, v in values])
    conn.execute("INSERT OR REPLACE INTO manifest VALUES (?,?,?,?)", (path, stat.st_size, stat.st_mtime_ns, digest))


def delete_row(conn: sqlite3.Connection, rowid: int) -> None:
    conn.execute("DELETE FROM items WHERE rowid=?", (rowid,))
    conn.execute("DELETE FROM fts WHERE rowid=?", (rowid,))
    conn.execute("DELETE FROM facet WHERE rowid=?", (rowid,))


def build(root: Path, db: Path) -> dict[str, Any]:
    started = time.perf_counter()
    if db.exists():
        db.unlink()
    conn = connect(db)
    vocabulary = load_vocabulary(root)
    paths = content_files(root)
    with conn:
        for path in paths:
            index_file(conn, root, path, vocabulary)
    conn.execute("INSERT INTO fts(fts) VALUES('optimize')")
    conn.close()
    return {"items": len(paths), "seconds": time.perf_counter() - started}


def update(root: Path, db: Path) -> dict[str, Any]:
    """Incremental: stat every file, hash the ones whose stat changed, reindex those that differ."""
    started = time.perf_counter()
    conn = connect(db)
    vocabulary = load_vocabulary(root)
    known = {p: (s, m, h) for p, s, m, h in conn.execute("SELECT path, size, mtime_ns, sha256 FROM manifest")}
    present = content_files(root)
    changed = []
    for path in present:
        stat = (root / path).stat()
        entry = known.get(path)
        if entry and entry[0] == stat.st_size and entry[1] == stat.st_mtime_ns:
            continue
        if entry and hashlib.sha256((root / path).read_bytes()).hexdigest() == entry[2]:
            continue
        changed.append(path)
    gone = set(known) - set(present)
    with conn:
        for path in changed:
            index_file(conn, root, path, vocabulary)
        for path in gone:
            row = conn.execute("SELECT rowid FROM items WHERE path=?", (path,)).fetchone()
            if row:
                delete_row(conn, row[0])
            conn.execute("DELETE FROM manifest WHERE path=?", (path,))
    conn.close()
    return {"changed": len(changed), "deleted": len(gone), "seconds": time.perf_counter() - started}


class Fts5Search:
    """The search page's work on the FTS5 index; returns kb's SearchResult like kb's own search.

    Matching rows and their bm25 go into a temporary table once; filters, the total,
    facet counts (each facet ignoring its own selection, as kb does) and the top hits
    are then plain SQL over it. Snippets come from FTS5's snippet() for the page only.
    """

    def __init__(self, db: Path, vocabulary: Vocabulary):
        self.conn = sqlite3.connect(db, check_same_thread=False)
        self.conn.execute("CREATE TEMP TABLE matched(rowid INTEGER PRIMARY KEY, rank REAL)")
        self.conn.execute("CREATE TEMP TABLE chosen(rowid INTEGER PRIMARY KEY, rank REAL)")
        self.vocabulary = vocabulary
        self.lock = threading.Lock()

    def __call__(self, request: SearchRequest) -> SearchResult:
        with self.lock:
            return self._search(request)

    def _search(self, request: SearchRequest) -> SearchResult:
        started = time.perf_counter()
        conn = self.conn
        parsed = parse_query(request.q, self.vocabulary, today=dt.date.today())
        match = " OR ".join(fts_terms(parsed))
        filters = {**parsed.filters, **request.filters}
        conn.execute("DELETE FROM matched")
        if match:
            conn.execute("INSERT INTO matched SELECT rowid, bm25(fts, 2.0, 1.0) FROM fts WHERE fts MATCH ?", [match])
        else:
            conn.execute("INSERT INTO matched SELECT rowid, 0 FROM items")
        facets: dict[str, tuple[FacetCount, ...]] = {}
        for name in FACETS:
            if name in filters:  # disjunctive: this facet's counts ignore its own selection
                self._choose({k: v for k, v in filters.items() if k != name})
                facets[name] = self._counts(name)
        self._choose(filters)
        for name in FACETS:
            if name not in filters:
                facets[name] = self._counts(name)
        total = conn.execute("SELECT count(*) FROM chosen").fetchone()[0]
        offset = (request.page - 1) * request.page_size
        order = "rank" if match else "rowid DESC"
        ids = [r[0] for r in conn.execute(f"SELECT rowid FROM chosen ORDER BY {order} LIMIT ? OFFSET ?",
                                          [request.page_size, offset])]
        marks = ",".join("?" * len(ids))
        snippets = dict(conn.execute(
            f"SELECT rowid, snippet(fts, 1, '<mark>', '</mark>', ' … ', 30) FROM fts WHERE fts MATCH ? "
            f"AND rowid IN ({marks})", [match, *ids])) if match and ids else {}
        data = dict(conn.execute(f"SELECT rowid, data FROM items WHERE rowid IN ({marks})", ids)) if ids else {}
        hits = tuple(Hit(item=to_item(json.loads(data[i])), score=0.0, snippet=snippets.get(i, "")) for i in ids)
        return SearchResult(request=request, parsed=parsed, total=total, hits=hits, facets=facets,
                            messages=parsed.messages, seconds=time.perf_counter() - started)

    def _choose(self, filters: dict[str, tuple[str, ...]]) -> None:
        """chosen = matched rows that pass every filter (OR within a field, AND across)."""
        conn = self.conn
        conn.execute("DELETE FROM chosen")
        where, args = [], []
        for name, values in filters.items():
            where.append(f"rowid IN (SELECT rowid FROM facet WHERE field=? AND value IN ({','.join('?' * len(values))}))")
            args += [name, *values]
        conn.execute("INSERT INTO chosen SELECT rowid, rank FROM matched" + (" WHERE " + " AND ".join(where) if where else ""),
                     args)

    def _counts(self, name: str) -> tuple[FacetCount, ...]:
        rows = self.conn.execute("SELECT value, count(*) FROM chosen JOIN facet USING(rowid) WHERE field=? "
                                 "GROUP BY value ORDER BY count(*) DESC, value", [name])
        return tuple(FacetCount(value, count) for value, count in rows)


def fts_terms(parsed: Any) -> list[str]:
    """FTS5 query terms for the parsed query's words and phrases (each quoted, prefixes starred)."""
    terms = []
    for clause in parsed.positive:
        words = "".join(c if c.isalnum() else " " for c in clause.text).split()
        if words:
            terms.append(f'"{" ".join(words)}"' + ("*" if clause.kind == "prefix" else ""))
    return terms


def to_item(data: dict[str, Any]) -> Item:
    return Item(id=data["id"], title=data["title"], type=data["type"],
                date=dt.date.fromisoformat(data["date"]) if data["date"] else None,
                topics=tuple(data["topics"]), activities=tuple(data["activities"]),
                countries=tuple(data["countries"]), lang=data["lang"], kind=data.get("kind", ""))


if __name__ == "__main__":
    command, content, database = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    result = build(content, database) if command == "build" else update(content, database)
    print(json.dumps(result))
