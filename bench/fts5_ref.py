"""The reference: kb's search page done with SQLite FTS5 (stdlib sqlite3), as well as SQLite allows.

The benchmarks time kb beside this reference, so it does kb's work, with kb's own functions
wherever they do not need Whoosh:

build    kb's reading of each file (indexer.content.read_one: front matter, Markdown rendered to
         text, the words and acronyms of "did you mean") and kb's document of each item
         (indexer.schema.item_document: the title; the ranked text, which is the title twice,
         the summary, the prose front matter and the text; people's names withheld from
         non-attributable items; keyword values with topic ancestors and activity kinds). Title
         and ranked text are analysed by kb's analyser of the item's language (lower case,
         accents folded, stop words dropped, Snowball stems) and stored as space-joined words in
         the FTS5 column named like kb's Whoosh field (title_en, text_en ... text_pt); the
         `ascii` tokenizer with `.`, `_` and `*` as token characters keeps each of kb's words
         whole (tests/test_fts5_ref.py checks that every column holds the words, and document
         counts, of kb's field). Reading and analysis run in WORKERS processes from 400 files
         on, as kb spreads its reading and writing. Beside the FTS5 table: the item itself with
         its rendered text (indexer.schema.pack) for hits and snippets, every keyword value as
         a (rowid, field, value) row, the words and acronyms in kb's own tables (indexer.words).
         `update` reindexes the files whose size or time changed and whose hash differs, drops
         deleted ones, derives activity kinds again for the items linking to an activity whose
         kind changed, and builds again when the vocabulary changed, as kb derives every item.
search   kb's query parser; kb's corrections of words no item has and kb's acronyms
         (indexer.corrections, on the words tables above); kb's units and matching rule
         (indexer.matching: stop words of the query's language are no units; an item matches
         when it has all units of a query of one or two, two thirds of them for more; a unit is
         matched by its words, its correction, a topic whose label names it and the items using
         the topic's other labels, the type, kind or country it names, or the other form of an
         acronym). FTS5 finds the rows holding each unit in the text columns of every language,
         the unit analysed by each language's analyser (words AND-ed, phrases as FTS5 phrases, a
         prefix as the 64 most frequent words starting so, read from an fts5vocab table, as kb
         expands it); kb's code counts units, filters, dates, negation and visibility over Python
         int bitsets (indexer.searching, indexer.visibility). The rows of recent clauses are kept
         between searches, as kb's bitsets keep recent terms' and queries'.
facets   each keyword value's rows are read into a bitset once when the database is opened
         (again after it changed); counts are `(matches & value).bit_count()`, each facet
         ignoring its own selection (indexer.searching.facet_counts).
ranking  FTS5's bm25 over the text columns, among kb's matches, then among the partial
         matches; rows matched only through a topic (or its other labels), a name or an
         acronym follow, newest first. Sorting by date is kb's (indexer.bitsets.page_by_date).
snippets kb's own snippet function (indexer.snippets, through indexer.searching.make_hit)
         over the stored rendered text of the page's hits; FTS5's snippet() would show stems.

Where it still differs from kb: the order of hits (FTS5's bm25, with its idf over the whole
table, without kb's boosts of topics, names, the query's language and neighbouring words,
without kb's pool for long questions; prefix matches rank by bm25 where kb gives them one
score); which 64 words a short prefix stands for may differ after updates, as Whoosh counts
deleted documents in a word's frequency until its segments merge and FTS5 does not; no search
by meaning (the benchmarks run kb with KB_SEMANTIC=0) and no "other languages" panel; no result
cache; the build writes one database in place (kb builds a new generation, checks it and
switches) and reads without kb's per-file time and memory bounds (indexer.readpool).

    python bench/fts5_ref.py build CONTENT DB        # prints JSON {"items", "seconds"}
    python bench/fts5_ref.py update CONTENT DB       # incremental: {"changed", "deleted", "rederived", "seconds"}
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import multiprocessing
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indexer.bitsets import BitSets, bitset  # noqa: E402
from indexer.content import PARALLEL_FROM, FileStat, ReadLimits, hash_file, load_vocabulary, read_one, scan  # noqa: E402
from indexer.corrections import corrected, defined_acronyms  # noqa: E402
from indexer.manifest import vocabulary_hash  # noqa: E402
from indexer.matching import (MAX_EXPANSION, Plan, Unit, cover, cover_with_names, covered,  # noqa: E402
                              unit_clauses)
from indexer.schema import (LANGUAGES, item_document, related_kinds, text_analyzer, text_field, title_field,  # noqa: E402
                            unpack)
from indexer.searching import (answer, any_of, count, label_notes, make_hit, match_places,  # noqa: E402
                               page_slices, split)
from indexer.lru import LRU  # noqa: E402
from indexer.visibility import people_shown_in, visible_in  # noqa: E402
from indexer.words import WordCounts, add_words  # noqa: E402
from indexer.writing import WORKERS  # noqa: E402
from kb.access import Viewer  # noqa: E402
from kb.item import Item  # noqa: E402
from kb.query import Clause, parse_query  # noqa: E402
from kb.search import Hit, SearchRequest, SearchResult  # noqa: E402
from kb.text import fold  # noqa: E402
from kb.vocabulary import Vocabulary, normalise_label  # noqa: E402

# What the database holds: `update` builds a database of another format (or of none: the reference of before)
# again, and Fts5Search refuses it.
FORMAT = "2"
# kb's Whoosh text fields, one FTS5 column each, in this order (bm25 takes a weight per column).
COLUMNS = [name for lang in LANGUAGES for name in (title_field(lang), text_field(lang))]
# kb's keyword fields (indexer.schema.build_schema), kept as (rowid, field, value) rows.
KEYWORDS = ("topics", "topics_all", "type", "kind", "country", "year", "lang", "activity", "person", "community",
            "attachment", "links", "visibility", "attribution")
# Read into bitsets when the database is opened: what every search page uses (facets, visibility, filters).
PAGE_FIELDS = ("topics_all", "type", "kind", "country", "year", "lang", "person", "visibility", "attribution",
               "date")
CACHED = 512  # clauses whose rows are kept between searches, as kb's DocSets keeps its terms' and queries'

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS items(rowid INTEGER PRIMARY KEY, id TEXT UNIQUE, path TEXT UNIQUE, date TEXT,
                                 activity_kind TEXT, data BLOB);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5({", ".join(COLUMNS)}, tokenize="ascii tokenchars '._*'");
CREATE VIRTUAL TABLE IF NOT EXISTS fts_words USING fts5vocab(fts, 'col');
CREATE TABLE IF NOT EXISTS facet(rowid INTEGER, field TEXT, value TEXT);
CREATE INDEX IF NOT EXISTS facet_value ON facet(field, value, rowid);
CREATE INDEX IF NOT EXISTS facet_row ON facet(rowid);
CREATE TABLE IF NOT EXISTS manifest(path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, sha256 TEXT);
"""


# -- analysis: kb's analysers ---------------------------------------------------------------------

@lru_cache(maxsize=None)
def analyser(lang: str) -> Any:
    return text_analyzer(lang)


def analysed(text: str, lang: str) -> list[str]:
    """The words of `text` as kb indexes them in the fields of `lang` (an analysis language)."""
    return [token.text for token in analyser(lang)(text)]


def analysis_language(lang: str) -> str:
    """The language whose fields hold an item of `lang` (kb falls back to English's)."""
    return text_field(lang).rsplit("_", 1)[1]


# -- build and update -----------------------------------------------------------------------------

def connect(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(SCHEMA)
    return conn


def stored_format(db: Path) -> str | None:
    """The FORMAT a database was built with (None when there is none, or it is the reference of before)."""
    if not db.is_file():
        return None
    try:
        return meta(db, "format")
    except sqlite3.OperationalError:  # no meta table
        return None


def keyword_values(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, value) of each keyword value of kb's Whoosh document (comma-separated, as Whoosh splits them)."""
    found = []
    for field in KEYWORDS:
        for value in str(document.get(field) or "").split(","):
            if value.strip():
                found.append((field, value.strip()))
    return found


@dataclass
class Prepared:
    """One file read by kb's reader and analysed by kb's analyser, ready to write (made in a worker process)."""

    path: str
    item: Item | None = None  # without body, HTML or text (those are in `data`)
    data: bytes = b""  # the whole item, packed as kb stores it (indexer.schema.pack)
    date: str = ""
    title: str = ""  # the analysed words of kb's title field, space-joined
    text: str = ""  # ... of kb's text field
    values: tuple[tuple[str, str], ...] = ()  # keyword values but activity kinds (known only once all are read)
    words: tuple[str, ...] = ()  # for "did you mean" and acronyms (indexer.words)
    acronyms: tuple[tuple[str, str], ...] = ()
    sha256: str = ""


_worker: dict[str, Any] = {}


def start_worker(root: Path) -> None:
    _worker.update(root=root, vocabulary=load_vocabulary(root), limits=ReadLimits())


def prepare(path: str) -> Prepared:
    """kb's read of one file (indexer.content.read_one: Markdown rendered) and kb's analysis of its fields."""
    read = read_one(_worker["root"], path, _worker["limits"])
    item = read.item
    if read.failure is not None or item is None:
        return Prepared(path)
    document = item_document(item, _worker["vocabulary"], ())
    lang = analysis_language(item.lang)
    title, text = title_field(lang), text_field(lang)
    return Prepared(path, dataclasses.replace(item, body="", html="", text=""), document["data"], document["date"],
                    " ".join(analysed(document[title], lang)), " ".join(analysed(document[text], lang)),
                    tuple(keyword_values(document)), read.words, read.acronyms, read.sha256)


def prepared(root: Path, paths: list[str]) -> Iterator[Prepared]:
    """Every file prepared, in order: in WORKERS processes for a big folder, as kb reads and writes one."""
    if WORKERS == 1 or len(paths) < PARALLEL_FROM:
        start_worker(root)
        yield from map(prepare, paths)
        return
    # forked where this process has a single thread (the command line), spawned otherwise, as kb's readers
    single = threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()
    with multiprocessing.get_context("fork" if single else "spawn").Pool(WORKERS, start_worker, (root,)) as pool:
        yield from pool.imap(prepare, paths, chunksize=8)


class Writer:
    """Items written as kb's writer writes them: each once the kinds of the activities it links to are known."""

    def __init__(self, conn: sqlite3.Connection, vocabulary: Vocabulary):
        self.conn, self.vocabulary = conn, vocabulary
        self.kind_of: dict[str, str] = dict(conn.execute(
            "SELECT id, activity_kind FROM items WHERE activity_kind IS NOT NULL"))
        self.owners: dict[str, str] = dict(conn.execute("SELECT id, path FROM items"))
        self.words = WordCounts()
        self.waiting: list[tuple[Prepared, tuple[str, int, int, str]]] = []
        self.written = 0

    def read(self, root: Path, paths: list[str], stats: dict[str, FileStat]) -> None:
        for ready in prepared(root, paths):
            item = ready.item
            if item is None:
                continue  # kb reports it and keeps the last good version; here the old row stays
            if self.owners.get(item.id, ready.path) != ready.path:
                continue  # kb refuses an id already used by another file
            self.owners[item.id] = ready.path
            self.words.add(ready)
            if item.is_activity:
                self.kind_of[item.id] = item.kind
            entry = (ready.path, stats[ready.path].st_size, stats[ready.path].st_mtime_ns, ready.sha256)
            if all(a in self.kind_of for a in item.activities):
                self.put(ready, entry)
            else:
                self.waiting.append((ready, entry))

    def finish(self) -> None:
        for ready, entry in self.waiting:
            self.put(ready, entry)
        self.waiting = []

    def put(self, ready: Prepared, entry: tuple[str, int, int, str]) -> None:
        item = ready.item
        assert item is not None
        for (rowid,) in self.conn.execute("SELECT rowid FROM items WHERE path = ? OR id = ?",
                                          (ready.path, item.id)).fetchall():
            delete_row(self.conn, rowid)
        lang = analysis_language(item.lang)
        rowid = self.conn.execute(
            "INSERT INTO items(id, path, date, activity_kind, data) VALUES (?, ?, ?, ?, ?)",
            (item.id, ready.path, ready.date, item.kind if item.is_activity else None, ready.data)).lastrowid
        self.conn.execute(f"INSERT INTO fts(rowid, {title_field(lang)}, {text_field(lang)}) VALUES (?, ?, ?)",
                          (rowid, ready.title, ready.text))
        values = list(ready.values) + [("kind", kind) for kind in related_kinds(item, self.kind_of) if kind]
        self.conn.executemany("INSERT INTO facet VALUES (?, ?, ?)", [(rowid, field, value) for field, value in values])
        self.conn.execute("INSERT OR REPLACE INTO manifest VALUES (?, ?, ?, ?)", entry)
        self.written += 1

    def remove(self, path: str) -> None:
        row = self.conn.execute("SELECT rowid, id FROM items WHERE path = ?", (path,)).fetchone()
        if row:
            delete_row(self.conn, row[0])
            self.kind_of.pop(row[1], None)
            self.owners.pop(row[1], None)
        self.conn.execute("DELETE FROM manifest WHERE path = ?", (path,))

    def rederive(self, before: dict[str, str]) -> int:
        """Activity kinds again for the items linking to an activity whose kind changed (as kb's incremental runs)."""
        changed = [a for a in set(before) | set(self.kind_of) if before.get(a) != self.kind_of.get(a)]
        if not changed:
            return 0
        rows = self.conn.execute(
            f"SELECT DISTINCT items.rowid, items.data FROM facet JOIN items USING(rowid) WHERE facet.field = "
            f"'activity' AND facet.value IN ({','.join('?' * len(changed))})", changed).fetchall()
        for rowid, data in rows:
            self.conn.execute("DELETE FROM facet WHERE rowid = ? AND field = 'kind'", (rowid,))
            self.conn.executemany("INSERT INTO facet VALUES (?, 'kind', ?)",
                                  [(rowid, kind) for kind in related_kinds(unpack(data), self.kind_of) if kind])
        return len(rows)


def delete_row(conn: sqlite3.Connection, rowid: int) -> None:
    conn.execute("DELETE FROM items WHERE rowid = ?", (rowid,))
    conn.execute("DELETE FROM fts WHERE rowid = ?", (rowid,))
    conn.execute("DELETE FROM facet WHERE rowid = ?", (rowid,))


def build(root: Path, db: Path) -> dict[str, Any]:
    started = time.perf_counter()
    for old in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        old.unlink(missing_ok=True)
    conn = connect(db)
    stats = scan(root)
    with conn:
        writer = Writer(conn, load_vocabulary(root))
        writer.read(root, sorted(stats), stats)
        writer.finish()
        conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                         [("format", FORMAT), ("vocabulary", vocabulary_hash(root))])
    conn.execute("INSERT INTO fts(fts) VALUES('optimize')")
    conn.close()
    add_words(db, writer.words)
    return {"items": writer.written, "seconds": time.perf_counter() - started}


def update(root: Path, db: Path) -> dict[str, Any]:
    """Incremental: stat every file, hash the ones whose stat changed, reindex those that differ."""
    started = time.perf_counter()
    if stored_format(db) != FORMAT or meta(db, "vocabulary") != vocabulary_hash(root):
        built = build(root, db)  # kb derives every item again when the vocabulary changed
        return {"changed": built["items"], "deleted": 0, "rebuilt": True, "seconds": time.perf_counter() - started}
    conn = connect(db)
    known = {p: (s, m, h) for p, s, m, h in conn.execute("SELECT path, size, mtime_ns, sha256 FROM manifest")}
    stats = scan(root)
    changed, touched = compare(root, stats, known)
    gone = sorted(set(known) - set(stats))
    with conn:
        conn.executemany("UPDATE manifest SET size = ?, mtime_ns = ? WHERE path = ?",
                         [(stats[path].st_size, stats[path].st_mtime_ns, path) for path in touched])
        writer = Writer(conn, load_vocabulary(root))
        before = dict(writer.kind_of)
        for path in gone:
            writer.remove(path)
        writer.read(root, changed, stats)
        writer.finish()
        rederived = writer.rederive(before)
    conn.close()
    add_words(db, writer.words)  # as kb's incremental runs: the changed items' words are added
    return {"changed": len(changed), "deleted": len(gone), "rederived": rederived,
            "seconds": time.perf_counter() - started}


def compare(root: Path, stats: dict[str, FileStat],
            known: dict[str, tuple[int, int, str]]) -> tuple[list[str], list[str]]:
    """(files new or whose content changed, files whose size or time changed but not their content), as kb's
    manifest compares them: the hash only of files whose stat changed."""
    changed, touched = [], []
    for path, stat in sorted(stats.items()):
        entry = known.get(path)
        if entry is not None and (entry[0], entry[1]) == (stat.st_size, stat.st_mtime_ns):
            continue
        if entry is not None and hash_file(root, path) == entry[2]:
            touched.append(path)
        else:
            changed.append(path)
    return changed, touched


def meta(db: Path, key: str) -> str | None:
    with closing(sqlite3.connect(db)) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


# -- search ---------------------------------------------------------------------------------------

class Fts5Sets(BitSets):
    """kb's bitsets (indexer.bitsets) over the reference's rows: bit n is the item of rowid n."""

    def __init__(self, conn: sqlite3.Connection):
        super().__init__()
        self.conn = conn
        rows = conn.execute("SELECT rowid, date FROM items").fetchall()
        self.size = max((rowid for rowid, _ in rows), default=0) + 1
        self.all = bitset((rowid for rowid, _ in rows), self.size)
        self.day_of = [""] * self.size
        for rowid, day in rows:
            self.day_of[rowid] = day or ""
        for field in PAGE_FIELDS:  # read now, not in the first search
            self.values(field)

    def _read_values(self, field: str) -> dict[str, int]:
        rows: dict[str, list[int]] = {}
        if field == "date":
            for rowid, day in enumerate(self.day_of):
                rows.setdefault(day, []).append(rowid)
        else:
            for value, rowid in self.conn.execute("SELECT value, rowid FROM facet WHERE field = ?", (field,)):
                rows.setdefault(value, []).append(rowid)
        return {value: bitset(found, self.size) & self.all for value, found in rows.items()}

    def _dates(self) -> list[str]:
        return self.day_of


class Fts5Search:
    """The search page's work on the FTS5 reference; returns kb's SearchResult like kb's own search.

    One search at a time per object (its SQLite connection is shared), as kb runs one per process.
    """

    def __init__(self, db: Path, vocabulary: Vocabulary, default_visibility: str = "public"):
        self.db = Path(db)
        if stored_format(self.db) != FORMAT:
            raise ValueError(f"{db} is not a database of this reference (format {FORMAT}): build it again "
                             f"with `python bench/fts5_ref.py build CONTENT {db}`")
        self.conn = sqlite3.connect(self.db, check_same_thread=False)
        self.vocabulary = vocabulary
        self.default_visibility = default_visibility
        self.lock = threading.Lock()
        self.version: int | None = None
        self.refresh()

    def refresh(self) -> None:
        """Read the bitsets again, and forget the clauses found, when the database changed since."""
        version = self.conn.execute("PRAGMA data_version").fetchone()[0]
        if version != self.version:
            self.sets = Fts5Sets(self.conn)
            self.found = LRU(CACHED)
            self.prefixes = LRU(CACHED)
            self.version = version

    def bitsets(self) -> Fts5Sets:
        """The bitsets of the database as it is now (for item pages' visibility and facet tables)."""
        with self.lock:
            self.refresh()
            return self.sets

    def __call__(self, request: SearchRequest) -> SearchResult:
        with self.lock:
            started = time.perf_counter()
            self.refresh()
            result = Page(self, request, dt.date.today()).result()
            return dataclasses.replace(result, seconds=time.perf_counter() - started)

    # -- what FTS5 finds ---------------------------------------------------------------------------
    def docs(self, clause: Clause, title: bool = False) -> int:
        """The rows holding a word, phrase or prefix in the text (or title) of any language."""
        key = (clause.kind, clause.text, title)
        bits = self.found.get(key)
        if bits is None:
            expression = self.expression(clause, title)
            rowids = [r for (r,) in self.conn.execute("SELECT rowid FROM fts WHERE fts MATCH ?", (expression,))] \
                if expression else []
            bits = bitset(rowids, self.sets.size) & self.sets.all
            self.found.put(key, bits)
        return bits

    def expression(self, clause: Clause, title: bool = False) -> str:
        """An FTS5 query for a clause: in each language's column, its words as that language analyses them
        (languages that analyse it alike share one column filter)."""
        columns_of: dict[str, list[str]] = {}
        for lang in LANGUAGES:
            column = title_field(lang) if title else text_field(lang)
            found = self.language_expression(clause, lang, column)
            if found:
                columns_of.setdefault(found, []).append(column)
        return " OR ".join(f"{{{' '.join(columns)}}} : {found}" for found, columns in columns_of.items())

    def language_expression(self, clause: Clause, lang: str, column: str) -> str:
        """One language's part of a clause's query, as kb's clause_queries matches it (indexer.matching)."""
        if clause.kind == "prefix":
            # kb looks for the words starting like the prefix or its stem, the MAX_EXPANSION most frequent
            stems = analysed(clause.text, lang) or [fold(clause.text)]
            words = [w for prefix in dict.fromkeys([fold(clause.text), stems[0]]) for w in self.expand(column, prefix)]
            return "(" + " OR ".join(quoted(w) for w in words) + ")" if words else ""
        tokens = analysed(clause.text, lang)
        if len(tokens) <= 1 or clause.kind == "phrase":
            return quoted(" ".join(tokens)) if tokens else ""
        return "(" + " AND ".join(quoted(t) for t in tokens) + ")"  # an unquoted results-based: both, anywhere

    def expand(self, column: str, prefix: str) -> list[str]:
        """The MAX_EXPANSION most frequent words of a column starting with `prefix` (all when fewer)."""
        rows = self.starting(prefix).get(column, [])
        if len(rows) > MAX_EXPANSION:
            rows = sorted(rows, key=lambda row: -row[1])[:MAX_EXPANSION]
        return [term for term, _ in rows]

    def starting(self, prefix: str) -> dict[str, list[tuple[str, int]]]:
        """For each column, its words starting with `prefix` and how many rows hold each (one read of FTS5's
        vocabulary for all columns, kept for the next searches)."""
        found = self.prefixes.get(prefix)
        if found is None:
            found = {}
            if prefix:
                end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
                for column, term, doc in self.conn.execute(
                        "SELECT col, term, doc FROM fts_words WHERE term >= ? AND term < ?", (prefix, end)):
                    found.setdefault(column, []).append((term, doc))
            self.prefixes.put(prefix, found)
        return found

    def ranked(self, expression: str, weights: list[float], group: int, wanted: int) -> list[tuple[int, float]]:
        """The best `wanted` rows of `group` by FTS5's bm25 for `expression`, best first."""
        found = []
        args = ", ".join(str(w) for w in weights)
        for rowid, score in self.conn.execute(f"SELECT rowid, bm25(fts, {args}) AS score FROM fts WHERE fts MATCH ? "
                                              "ORDER BY score", (expression,)):
            if group >> rowid & 1:
                found.append((rowid, -score))
                if len(found) >= wanted:
                    break
        return found

    def stored(self, rowids: list[int]) -> dict[int, bytes]:
        marks = ",".join("?" * len(rowids))
        return dict(self.conn.execute(f"SELECT rowid, data FROM items WHERE rowid IN ({marks})", rowids)) \
            if rowids else {}


def quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


class Page:
    """One search page over the reference: FTS5 finds the words, kb's code does the rest, as in
    indexer.searching.run_search (and indexer.typesense.searching, the other backend doing so)."""

    def __init__(self, search: Fts5Search, request: SearchRequest, today: dt.date):
        self.search, self.request = search, request
        self.sets, self.vocabulary = search.sets, search.vocabulary
        self.viewer = Viewer(request.role)
        self.seen = visible_in(self.sets, self.viewer, search.default_visibility)
        self.with_people = people_shown_in(self.sets, self.viewer)
        self.parsed = parse_query(request.q, self.vocabulary, today=today)
        self.corrections, self.suggestion, self.notes = corrected(
            self.parsed, request.q, self.vocabulary, search.db, self.held)
        self.ranking: list[Clause] = []  # what FTS5 ranks with: the units' words and their corrections
        self.highlighted: list[Clause] = []  # ... and the other words kb's ranking query holds (synonyms, acronyms)
        self.reach = 0  # the rows of everything kb ranks: the matches of a query made of stop words only

    def held(self, word: str) -> int:
        """The rows the reader may see that hold `word` (what "did you mean" weighs candidates with)."""
        return self.search.docs(Clause("word", word)) & self.seen

    def result(self) -> SearchResult:
        sets, parsed, request, vocabulary = self.sets, self.parsed, self.request, self.vocabulary
        plan = self.plan()
        allowed = ~self.excluded() & self.seen
        if not parsed.positive:
            full, partial = sets.all, 0
        elif plan.units:
            full, partial = split(sets, plan)
        else:  # only stop words: whatever the ranking finds matches (as kb's split)
            full, partial = self.reach, 0
        counted = count(sets, parsed, request, full, partial, allowed, self.with_people)
        hits = self.hits(plan, (counted.final, counted.partial))
        return answer(request, parsed, counted, hits, full & allowed, vocabulary,
                      [*self.notes, *label_notes(plan, vocabulary)], self.suggestion)

    # -- which rows match (indexer.matching.plan) ------------------------------------------------------
    def plan(self) -> Plan:
        parsed, docs = self.parsed, self.search.docs
        clauses, stop_only = unit_clauses(parsed)
        units: list[Unit] = []
        for clause in clauses:
            unit = Unit(clause.text, self.corrections.get(clause.text, ""))
            for form in [clause] + ([Clause("word", self.corrections[clause.text])]
                                    if clause.text in self.corrections else []):
                self.ranking.append(form)
                unit.text_docs |= docs(form, title=parsed.title_only)
                unit.title_docs |= docs(form, title=True)
            unit.docs = unit.text_docs
            self.reach |= unit.docs
            if not stop_only:
                units.append(unit)
        result = Plan(None, units)
        if not parsed.title_only:
            spoken = " ".join(self.corrections.get(c.text, c.text) for c in parsed.positive)
            self.cover_with_labels(spoken, result)
            cover_with_names(self.sets, spoken, self.vocabulary, result, [])
            for docs_of_name in result.hints:
                self.reach |= docs_of_name
            self.cover_with_acronyms(result)
        return result

    def cover_with_labels(self, spoken: str, result: Plan) -> None:
        """Units that are part of a topic's label match the topic's items and the items using its other labels
        (indexer.matching.cover_with_labels)."""
        for phrase, topic_id in dict.fromkeys(self.vocabulary.match_labels(spoken)):
            docs = self.sets.value("topics_all", topic_id)
            self.reach |= self.sets.value("topics", topic_id)  # kb ranks the items tagged with it
            topic = self.vocabulary.topics.get(topic_id)
            for label in topic.all_labels() if topic else []:
                if normalise_label(label) != phrase:
                    form = Clause("phrase" if len(label.split()) > 1 else "word", label)
                    self.highlighted.append(form)
                    found = self.search.docs(form)
                    docs |= found
                    self.reach |= found
            cover(result, phrase, topic_id, docs)

    def cover_with_acronyms(self, result: Plan) -> None:
        """A short form also matches the items that write its long form, and the reverse, for the pairs the
        items define (indexer.matching.cover_with_acronyms)."""
        docs = self.search.docs
        longs, shorts = defined_acronyms(self.search.db, self.parsed, self.seen if self.seen != self.sets.all else None,
                                         docs)
        pairs = [(Clause("phrase", long), [u for u in result.units if u.text.upper() == short])
                 for short, long in longs.items()]
        pairs += [(Clause("word", short), [u for u in result.units if covered(u, long)]) for long, short in shorts.items()]
        for form, units in pairs:
            if units:
                found = docs(form)
                self.highlighted.append(form)
                self.reach |= found
                for unit in units:
                    unit.docs |= found

    def excluded(self) -> int:
        """Rows left out by negated words and phrases and by excluded filter values."""
        bits = 0
        for clause in self.parsed.negative:
            bits |= self.search.docs(clause)
        for name, values in self.parsed.exclude.items():
            bits |= any_of(self.sets, name, values, self.with_people)
        return bits

    # -- the page of hits (indexer.searching.page_hits) ------------------------------------------------
    def hits(self, plan: Plan, groups: tuple[int, int]) -> tuple[Hit, ...]:
        """The requested page: the matches, then the partial matches, each ranked."""
        chosen = [(rowid, score, partial) for group, partial, first, last in page_slices(self.request, groups)
                  for rowid, score in self.order(group, first, last)]
        stored = self.search.stored([rowid for rowid, _, _ in chosen])
        places, words = match_places(plan), self.words()
        return tuple(make_hit(rowid, {"data": stored[rowid]}, score, places, words, partial, self.viewer)
                     for rowid, score, partial in chosen)

    def order(self, group: int, first: int, last: int) -> list[tuple[int, float]]:
        """Rows `first` to `last` of `group`: by bm25, those FTS5 does not rank (matched through a label, a name
        or an acronym) after them, newest first; or by date."""
        expression = " OR ".join(filter(None, (self.search.expression(c, self.parsed.title_only)
                                                for c in self.ranking)))
        if self.request.sort != "relevance" or not expression:
            sort = "newest" if self.request.sort == "relevance" else self.request.sort
            return [(d, 0.0) for d in self.sets.page_by_date(group, first, last - first, oldest=sort == "oldest")]
        weights = [1.0 if (name.startswith("title_") == self.parsed.title_only) else 0.0 for name in COLUMNS]
        found = self.search.ranked(expression, weights, group, last)
        if len(found) < last:
            rest = group
            for rowid, _ in found:
                rest &= ~(1 << rowid)
            found += [(d, 0.0) for d in self.sets.page_by_date(rest, 0, last - len(found))]
        return found[first:last]

    def words(self) -> dict[str, tuple[set[str], set[str]]]:
        """For each language's text field, the query's words as indexed and its prefixes: what snippets mark
        (indexer.searching.query_words)."""
        found: dict[str, tuple[set[str], set[str]]] = {}
        for lang in LANGUAGES:
            stems, prefixes = found.setdefault(text_field(lang), (set(), set()))
            for clause in self.ranking + self.highlighted:
                if clause.kind == "prefix":
                    prefixes.add(fold(clause.text))
                else:
                    stems.update(analysed(clause.text, lang))
        return found


if __name__ == "__main__":
    command, content, database = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    print(json.dumps(build(content, database) if command == "build" else update(content, database)))
