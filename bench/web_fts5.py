"""The kb web app with its search served by the FTS5 reference, for the web benchmark.

Same Flask app, templates and view-models; the search backend (kb.backend.SearchBackend)
is the FTS5 database of bench/fts5_ref.py instead of the Whoosh index: its search pages are
the reference's (kb's matching, facets and snippets over FTS5), its item lookups read the
items kb's reader made, stored in the database. Visibility (kb.access) is honoured as kb
does, through kb's bitsets of the reader's levels (indexer.visibility.Sight). It is
read-only (its writes are the reference's own build script) and has no related items,
attachments or key terms.

    KB_FTS5_DB=... KB_CONTENT=... gunicorn 'bench.web_fts5:create_app()'
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.fts5_ref import Fts5Search, analysed, analysis_language  # noqa: E402
from indexer.content import load_vocabulary  # noqa: E402
from indexer.lookups import facet_table_of, light, newest_first  # noqa: E402
from indexer.schema import FILTER_FIELDS, unpack  # noqa: E402
from indexer.visibility import Sight  # noqa: E402
from kb.access import Viewer  # noqa: E402
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

    def __init__(self, db: Path, vocabulary: Vocabulary, default_visibility: str = "public"):
        self.db = db
        self._vocabulary = vocabulary
        self._search = Fts5Search(db, vocabulary, default_visibility)
        self._default_visibility = default_visibility
        self._conn = sqlite3.connect(db, check_same_thread=False)
        self._lock = threading.Lock()

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    def _sight(self, viewer: Viewer | None) -> Sight | None:
        return None if viewer is None else Sight.over(self._search.bitsets(), viewer, self._default_visibility)

    def search(self, request: SearchRequest, today: dt.date | None = None,
               max_query_length: int = 2000) -> SearchResult:
        request, note = request.cut(max_query_length)
        result = self._search(request)
        return SearchResult(**{**result.__dict__, "vocabulary": self._vocabulary,
                               "messages": ((note,) if note else ()) + result.messages})

    def vocabulary(self) -> Vocabulary:
        return self._vocabulary

    def find_item(self, item_id: str, viewer: Viewer | None = None) -> Item | None:
        rows = self._rows("SELECT rowid, data FROM items WHERE id = ?", (item_id,))
        if not rows:
            return None
        sight = self._sight(viewer)
        if sight is not None and not sight.sees(rows[0][0]):
            return None
        item = unpack(rows[0][1])
        return item if sight is None else sight.show(item)

    def get_item(self, item_id: str, viewer: Viewer | None = None) -> Item:
        item = self.find_item(item_id, viewer)
        if item is None:
            raise NotFoundError(f"no item with id {item_id!r}")
        return item

    def items_where(self, field: str, value: str, limit: int | None = None,
                    viewer: Viewer | None = None) -> list[Item]:
        """As indexer.lookups.items_where: newest first, what the reader may see."""
        sight = self._sight(viewer)
        allowed = None if sight is None else sight.docs & (sight.people if field == "person" else sight.docs)
        rows = self._rows("SELECT items.rowid, items.data FROM facet JOIN items USING(rowid) "
                          "WHERE facet.field = ? AND facet.value = ?", (FILTER_FIELDS[field], value))
        items = sorted((unpack(data) for rowid, data in rows if allowed is None or allowed >> rowid & 1),
                       key=newest_first)
        return [item if sight is None else sight.show(item) for item in items[:limit]]

    def all_items(self, full: bool = False) -> list[Item]:
        items = (unpack(data) for (data,) in self._rows("SELECT data FROM items"))
        return list(items) if full else [light(item) for item in items]

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
        return facet_table_of(self._search.bitsets(), rows, columns)

    def key_terms(self, item: Item, count: int) -> list[str]:
        return []

    def analyser(self, lang: str) -> Callable[[str], list[str]]:
        """Words of a text as the reference holds them for items in `lang` (kb's analyser)."""
        return lambda text: analysed(text, analysis_language(lang))

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
    backend = Fts5Backend(Path(os.environ["KB_FTS5_DB"]), load_vocabulary(Path(settings.content)),
                          settings.default_visibility)
    return create_kb_app(settings, backend=backend)
