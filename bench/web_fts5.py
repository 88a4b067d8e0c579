"""The kb web app with its search served by the FTS5 reference, for the web benchmark.

Same Flask app, templates and view-models; the search backend (kb.backend.SearchBackend)
is the FTS5 database instead of the Whoosh index. It answers what the search page and
item pages ask; it is read-only (its writes are the reference's own build script).
Visibility (kb.access): item lookups honour the reader's role; its searches do not (the
reference database has no visibility column), so it serves benchmarks of public content only.

    KB_FTS5_DB=... KB_CONTENT=... gunicorn 'bench.web_fts5:create_app()'
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import sys
import threading
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.fts5_ref import Fts5Search, to_item  # noqa: E402
from indexer.content import load_vocabulary  # noqa: E402
from kb.access import Viewer, level_of, shown_to  # noqa: E402
from kb.backend import FacetTable  # noqa: E402
from kb.errors import ConfigError, NotFoundError  # noqa: E402
from kb.item import Item  # noqa: E402
from kb.related import Related, RelatedPanels  # noqa: E402
from kb.search import SearchRequest, SearchResult  # noqa: E402
from kb.settings import Settings  # noqa: E402
from kb.vocabulary import Vocabulary  # noqa: E402
from webui import create_app as create_kb_app  # noqa: E402


class Fts5Backend:
    """kb.backend.SearchBackend over the FTS5 reference database (reading only)."""

    def __init__(self, db: Path, vocabulary: Vocabulary):
        self.db = db
        self._vocabulary = vocabulary
        self._search = Fts5Search(db, vocabulary)
        self._conn = sqlite3.connect(db, check_same_thread=False)
        self._lock = threading.Lock()

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    def search(self, request: SearchRequest, today: dt.date | None = None,
               max_query_length: int = 2000) -> SearchResult:
        request, note = request.cut(max_query_length)
        result = self._search(request)
        return SearchResult(**{**result.__dict__, "vocabulary": self._vocabulary,
                               "messages": ((note,) if note else ()) + result.messages})

    def vocabulary(self) -> Vocabulary:
        return self._vocabulary

    def _seen(self, item: Item | None, viewer: Viewer | None) -> Item | None:
        if item is None or viewer is None:
            return item
        if level_of(item, self._vocabulary.visibility, Settings().default_visibility) not in viewer.levels:
            return None
        return shown_to(item, viewer)

    def find_item(self, item_id: str, viewer: Viewer | None = None) -> Item | None:
        rows = self._rows("SELECT data FROM items WHERE json_extract(data, '$.id') = ?", (item_id,))
        return self._seen(to_item(json.loads(rows[0][0])), viewer) if rows else None

    def get_item(self, item_id: str, viewer: Viewer | None = None) -> Item:
        item = self.find_item(item_id, viewer)
        if item is None:
            raise NotFoundError(f"no item with id {item_id!r}")
        return item

    def items_where(self, field: str, value: str, limit: int | None = None,
                    viewer: Viewer | None = None) -> list[Item]:
        rows = self._rows("SELECT data FROM items JOIN facet USING(rowid) WHERE field = ? AND value = ? "
                          "ORDER BY date DESC LIMIT ?", (field, value, limit or -1))
        found = (self._seen(to_item(json.loads(data)), viewer) for (data,) in rows)
        return [item for item in found if item is not None]

    def all_items(self, full: bool = False) -> list[Item]:
        return [to_item(json.loads(data)) for (data,) in self._rows("SELECT data FROM items")]

    def count(self) -> int:
        return self._rows("SELECT count(*) FROM items")[0][0]

    def canaries(self) -> list[str]:
        return []

    def attachments(self, activity: Item, viewer: Viewer | None = None) -> list[Item]:
        return []

    def named_activities(self, item: Item) -> list[Item]:
        return []

    def related_panels(self, item: Item, limit: int = 8, viewer: Viewer | None = None) -> RelatedPanels:
        return RelatedPanels()  # the reference has no related-items scoring

    def related_items(self, item: Item, limit: int = 8, viewer: Viewer | None = None) -> list[Related]:
        return []  # the reference has no related-items scoring

    def facet_table(self, rows: str, columns: str) -> FacetTable:
        cells = {(r, c): n for r, c, n in self._rows(
            "SELECT a.value, b.value, count(*) FROM facet a JOIN facet b USING(rowid) "
            "WHERE a.field = ? AND b.field = ? GROUP BY a.value, b.value", (rows, columns))}
        totals = dict(self._rows("SELECT value, count(*) FROM facet WHERE field = ? GROUP BY value", (rows,)))
        counts = dict(self._rows("SELECT value, count(*) FROM facet WHERE field = ? GROUP BY value", (columns,)))
        return FacetTable(cells, totals, counts)

    def key_terms(self, item: Item, count: int) -> list[str]:
        return []

    def analyser(self, lang: str) -> Callable[[str], list[str]]:
        return lambda text: text.lower().split()

    def health(self) -> dict[str, Any]:
        return {"generation": self.db.name, "built_at": None, "updated_at": None, "items": self.count(),
                "previous_generation": None, "last_run": None, "lock_holder": None}

    def close(self) -> None:
        self._conn.close()

    def _read_only(self, *args: Any, **kwargs: Any) -> Any:
        raise ConfigError("the FTS5 reference is written by bench/fts5_ref.py, not through kb")

    writer_lock = new_generation = update_generation = reader = switch = roll_back = _read_only


def create_app():
    settings = Settings.from_mapping(os.environ)
    backend = Fts5Backend(Path(os.environ["KB_FTS5_DB"]), load_vocabulary(Path(settings.content)))
    return create_kb_app(settings, backend=backend)
