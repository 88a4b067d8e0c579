"""What kb needs from a search engine, as protocols any engine can satisfy.

The embedded Whoosh index (indexer/whoosh_backend.py) is one implementation; the
FTS5 reference of the benchmarks is another, and a clustered engine serves the
large deployment behind the same two protocols. Everything above them (the
reindex job's checks, the CLI, the web UI) speaks only in kb's own types.

An index is a series of generations. A full rebuild writes a new generation
aside and then switches to it (the previous one is kept for a roll back); an
incremental run changes the serving generation in place. Nothing a writer does
is visible to searches before its commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Protocol

from kb.access import Viewer
from kb.item import Item
from kb.related import Related, RelatedPanels
from kb.search import SearchRequest, SearchResult
from kb.vocabulary import Vocabulary


@dataclass(frozen=True)
class FacetTable:
    """How many items carry each pair of values of two facets (topics x activity kinds, say).

    A topic counts the items tagged with it or with a narrower topic.
    """

    cells: dict[tuple[str, str], int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)  # items per row value, whatever the column
    columns: dict[str, int] = field(default_factory=dict)  # items per column value


class GenerationWriter(Protocol):
    """Changes to one generation; nothing is visible before `commit`, and `cancel` leaves it as it was."""

    def put(self, items: Iterable[Item], vocabulary: Vocabulary, kind_of: Mapping[str, str]) -> int:
        """Add items, replacing any with the same id; `kind_of` maps activity ids to their kinds
        (an item is found under the kinds of the activities it belongs to). Returns how many."""

    def delete(self, item_ids: Iterable[str]) -> None: ...

    def commit(self) -> None: ...

    def cancel(self) -> None: ...


class ItemReader(Protocol):
    """Reading the items of one generation (the serving one, or one being checked before it serves)."""

    def get_item(self, item_id: str, viewer: Viewer | None = None) -> Item:
        """The item with this id; NotFoundError if there is none, or if `viewer` may not see it (the same
        answer). Given a viewer, every lookup finds only what that reader may see, as kb.access.shown_to
        shows it; without one, everything."""

    def find_item(self, item_id: str, viewer: Viewer | None = None) -> Item | None: ...

    def items_where(self, field: str, value: str, limit: int | None = None,
                    viewer: Viewer | None = None) -> list[Item]:
        """Items whose filter field (topic, activity, type, kind ...) has `value`, newest first."""

    def all_items(self, full: bool = False) -> list[Item]:
        """Every item; without `full`, their body, HTML and text are left out."""

    def count(self) -> int: ...

    def canaries(self) -> list[str]:
        """Look a few items up by their id and by a word of their title; say which could not be found
        (a generation that cannot answer is not switched in)."""


class SearchBackend(ItemReader, Protocol):
    """A search engine holding kb's items: search, look up, relate, count, and write generations."""

    def search(self, request: SearchRequest, today: dt.date | None = None,
               max_query_length: int = 2000) -> SearchResult:
        """One page of ranked hits with facet counts, of what the request's role may see; the result
        carries the vocabulary it ran with."""

    def vocabulary(self) -> Vocabulary: ...

    def attachments(self, activity: Item, viewer: Viewer | None = None) -> list[Item]:
        """The items an activity lists under `attachments:`, in that order."""

    def named_activities(self, item: Item) -> list[Item]:
        """Activities the item's text names by their title without linking them (suggested links)."""

    def related_panels(self, item: Item, limit: int, viewer: Viewer | None = None) -> RelatedPanels:
        """Related activities and related content, each complete and strongest first before the first
        `limit` of each are kept, with the total of each list."""

    def related_items(self, item: Item, limit: int, viewer: Viewer | None = None) -> list[Related]:
        """Items related to `item`, strongest first, each with its reasons."""

    def facet_table(self, rows: str, columns: str) -> FacetTable:
        """Counts of items for each pair of values of two facets (for the content map)."""

    def key_terms(self, item: Item, count: int) -> list[str]:
        """The words that characterise an item against the whole index, most telling first, as indexed."""

    def analyser(self, lang: str) -> Callable[[str], list[str]]:
        """A function giving the words of a text as the index holds them for items in `lang` (stemmed, folded)."""

    def health(self) -> dict[str, Any]:
        """What serves (generation, when built, how many items), the last run and any writer."""

    def writer_lock(self, wait: float = 0.0) -> Any:
        """A context manager holding the one writer's lock; yields a description of a dead holder it replaced."""

    def new_generation(self) -> tuple[str, GenerationWriter]:
        """Start a generation aside from the serving one (a full rebuild); return its name and writer."""

    def update_generation(self) -> GenerationWriter:
        """Change the serving generation in place (an incremental run)."""

    def reader(self, generation: str) -> ItemReader:
        """Read a generation that does not serve yet, to check it before switching to it."""

    def switch(self, generation: str) -> None:
        """Serve `generation`; keep the one it replaces for `roll_back`."""

    def roll_back(self) -> str:
        """Serve the previous generation again; return its name."""
