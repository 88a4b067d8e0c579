"""The Whoosh search backend: generations opened with Whoosh, pooled searchers, cached results.

`IndexStore` satisfies kb.backend.SearchBackend for an index folder on this
machine (indexer.indexfolder manages its generations and its writer lock). Each
generation's folder holds a Whoosh index beside kb's own files.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import weakref
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from whoosh import index as whoosh_index
from whoosh.searching import Searcher

from indexer import lookups, relating
from indexer.generation import GenerationFolder
from indexer.schema import WEIGHTING
from indexer.indexfolder import IndexFolder
from indexer.itemdocs import SearcherDocs
from indexer.lru import LRU
from indexer.meaning import Reranker
from indexer.pinning import open_searcher
from indexer.sharedresults import SharedResults
from indexer.visibility import Sight
from indexer.warming import AskedNotes, held
from indexer.writing import WhooshWriter, create_generation, open_for_update
from kb.backend import FacetTable
from kb.errors import IndexMissingError
from kb.access import Viewer
from kb.item import Item
from kb.related import Related, RelatedPanels
from kb.search import SearchRequest, SearchResult
from kb.vocabulary import Vocabulary


class Reading:
    """Looking items up (kb.backend.ItemReader) through whatever searcher `searcher()` lends.

    Given a `viewer` (kb.access), a lookup finds only what that reader may see,
    as that reader may see it; without one (the jobs, the checks) it finds all.
    """

    default_visibility = "public"  # the level of items whose file and vocabulary say nothing

    def searcher(self) -> Any:
        raise NotImplementedError

    def find_item(self, item_id: str, viewer: Viewer | None = None) -> Item | None:
        with self.searcher() as (searcher, _):
            return lookups.find_item(searcher, item_id, self.sight(searcher, viewer))

    def get_item(self, item_id: str, viewer: Viewer | None = None) -> Item:
        with self.searcher() as (searcher, _):
            return lookups.get_item(searcher, item_id, self.sight(searcher, viewer))

    def items_where(self, field: str, value: str, limit: int | None = None, viewer: Viewer | None = None) -> list[Item]:
        with self.searcher() as (searcher, _):
            return lookups.items_where(searcher, field, value, limit, self.sight(searcher, viewer))

    def sight(self, searcher: Any, viewer: Viewer | None) -> Sight | None:
        return None if viewer is None else Sight.of(searcher, viewer, self.default_visibility)

    def all_items(self, full: bool = False) -> list[Item]:
        with self.searcher() as (searcher, _):
            return lookups.all_items(searcher, full)

    def count(self) -> int:
        with self.searcher() as (searcher, _):
            return searcher.doc_count()

    def canaries(self) -> list[str]:
        with self.searcher() as (searcher, _):
            return lookups.canaries(searcher)


class Generation(Reading):
    """One complete generation opened for reading: its Whoosh index, vocabulary and build record."""

    def __init__(self, folder: GenerationFolder, model: Any = None, weight: float = 0.0):
        self.folder = folder
        self.path = folder.path
        self.name = folder.name
        # meaning, when semantic search is on and this generation has vectors (indexer.meaning)
        self.reranker = Reranker(folder.vectors, model, weight) if model is not None and folder.vectors.is_file() \
            else None
        try:
            self.index = whoosh_index.open_dir(str(folder.path))
        except (OSError, whoosh_index.EmptyIndexError) as exc:
            raise IndexMissingError(f"index generation {folder.path} cannot be opened: {exc}") from None
        self.vocabulary = folder.vocabulary()
        self.build = folder.build()

    @contextmanager
    def searcher(self) -> Iterator[tuple[Searcher, Generation]]:
        """A searcher on exactly this generation (to check a build before it serves)."""
        searcher = self.index.searcher(weighting=WEIGHTING)
        try:
            yield searcher, self
        finally:
            searcher.close()

    def search(self, request: SearchRequest, today: dt.date | None = None) -> SearchResult:
        from indexer.searching import run_search

        with self.searcher() as (searcher, generation):
            return run_search(searcher, generation, request, today or dt.date.today())


def _close_all(idle: list[tuple[Searcher, str]]) -> None:
    for searcher, _ in idle:
        searcher.close()
    idle.clear()


class IndexStore(Reading):
    """The Whoosh backend of one index folder: its serving generation and a pool of open searchers."""

    # Idle searchers kept open for the next searches; more are opened when more
    # searches run at once, and closed again when they finish.
    KEEP_IDLE = 4

    def __init__(self, path: str | os.PathLike[str], cache_size: int = 0, time_limit: float = 10.0,
                 model: Any = None, semantic_weight: float = 0.0, default_visibility: str = "public",
                 shared_cache_mb: float = 0):
        self.default_visibility = default_visibility
        self.model = model  # the embedder of semantic search (indexer.meaning), or None: words only
        self.semantic_weight = semantic_weight
        self.folder = IndexFolder(path)
        self.path = self.folder.path
        self.results = LRU(cache_size)  # recent search results, keyed by the exact index state and request
        # and those of the other processes serving this folder (with a cache of its own only)
        self.shared = SharedResults(self.path, shared_cache_mb if cache_size else 0,
                                    (model is not None, semantic_weight if model is not None else 0.0, time_limit))
        # Searching is Python work: threads of one process (kb serve starts one per request) only share
        # one core, and eight of them at once made each take eight times as long. One at a time, the
        # others wait their turn, and a result the cache holds is served without waiting.
        self.searching = threading.RLock()
        self.time_limit = time_limit  # seconds a search may spend ranking before it returns what it has
        self._generation: Generation | None = None
        self._lock = threading.Lock()
        # An incremental run of this store ranks the searches readers asked lately for this many seconds
        # before they move to its commit (indexer.warming; 0: never). `holding` while it does: the run's
        # own reads follow its writes.
        self.warm_seconds = 0.0
        self.refresh_seconds = 0.0  # and readers move to such runs' commits at most this often
        self.holding = False
        self.serving: str | None = None  # a generation searched before it serves (a full rebuild's, warming)
        self.asked = AskedNotes()
        # (searcher, generation name), most recent last. A store dropped without close() closes them from a
        # finalizer that holds this list: garbage collection then never finalizes a searcher's files first.
        self._idle: list[tuple[Searcher, str]] = []
        self._closed = False
        weakref.finalize(self, _close_all, self._idle)

    def close(self) -> None:
        """Close every idle searcher (they hold the index's files open); searchers in use close when returned."""
        with self._lock:
            idle = list(self._idle)
            self._idle.clear()
            self._closed = True
        for searcher, _ in idle:
            searcher.close()

    # -- the serving generation ----------------------------------------------
    def current_name(self) -> str:
        return self.folder.current_name()

    def generation(self) -> Generation:
        """Return the serving generation, reopening it when CURRENT or its last update changed."""
        name = self.serving or self.folder.current_name()
        folder = GenerationFolder(self.path / name)
        with self._lock:
            if self._generation is not None and self._generation.name == name and self._held(self._generation):
                return self._generation
            if self._generation is None or self._generation.name != name or \
                    self._generation.build.get("updated_at") != folder.build().get("updated_at"):
                # a new generation serves, or an incremental run changed its vocabulary or counts
                self._generation = Generation(folder, self.model, self.semantic_weight)
            return self._generation

    @contextmanager
    def searcher(self) -> Iterator[tuple[Searcher, Generation]]:
        """Lend a searcher on the serving generation for the length of the block.

        Opening a searcher is costly (and its facet bitsets are built on first
        use), so searchers are pooled: one that is returned waits for the next
        search, unless its generation or commit is no longer the serving one,
        in which case it is closed, releasing the files of a retired generation.
        Searchers are not tied to threads: a server that starts a thread per
        request (kb serve) reuses the same few. Searcher.refresh() is not used:
        it can keep segments that a merge removed.
        """
        generation = self.generation()
        searcher = self._checkout(generation)
        try:
            yield searcher, generation
        finally:
            self._checkin(searcher, generation.name)

    def _checkout(self, generation: Generation) -> Searcher:
        found = None
        with self._lock:
            stale = [s for s, name in self._idle if name != generation.name]
            self._idle[:] = [(s, name) for s, name in self._idle if name == generation.name]
            if self._idle:
                found = self._idle.pop()[0]
        for old in stale:  # of a generation that no longer serves
            old.close()
        if found is not None:
            if found.up_to_date() or self._held(generation, found):
                return found
            found.close()  # an incremental run committed since
        return open_searcher(generation.index, WEIGHTING)

    def _held(self, generation: Generation, searcher: Searcher | None = None) -> bool:
        """True while a run holds readers on exactly the state `generation` (and `searcher`) have."""
        if self.holding:
            return False
        hold = held(generation.path)
        return hold is not None and hold.updated_at == generation.build.get("updated_at") and \
            (searcher is None or hold.commit == searcher.reader().generation())

    def _checkin(self, searcher: Searcher, name: str) -> None:
        with self._lock:
            keep = not self._closed and len(self._idle) < self.KEEP_IDLE and \
                (self._generation is None or self._generation.name == name)
            if keep:
                self._idle.append((searcher, name))
        if not keep:
            searcher.close()

    def open_searchers(self) -> int:
        """Idle searchers held open (for tests of descriptor use)."""
        with self._lock:
            return len(self._idle)

    # -- kb.backend.SearchBackend: reading -----------------------------------
    def search(self, request: SearchRequest, today: dt.date | None = None,
               max_query_length: int = 2000) -> SearchResult:
        from indexer.searching import search

        return search(self, request, today, max_query_length)

    def vocabulary(self) -> Vocabulary:
        return self.generation().vocabulary

    def attachments(self, activity: Item, viewer: Viewer | None = None) -> list[Item]:
        with self.searcher() as (searcher, _):
            return lookups.attachments(searcher, activity, self.sight(searcher, viewer))

    def related_items(self, item: Item, limit: int = 8, viewer: Viewer | None = None) -> list[Related]:
        with self.searcher() as (searcher, generation):
            return relating.related_items(SearcherDocs(searcher), generation.vocabulary, item, limit, self.sight(searcher, viewer))

    def named_activities(self, item: Item) -> list[Item]:
        with self.searcher() as (searcher, _):
            return relating.named_activities(SearcherDocs(searcher), item)

    def related_panels(self, item: Item, limit: int = 8, viewer: Viewer | None = None) -> RelatedPanels:
        with self.searcher() as (searcher, generation):
            return relating.related_panels(SearcherDocs(searcher), generation.vocabulary, item, limit, self.sight(searcher, viewer))

    def facet_table(self, rows: str, columns: str) -> FacetTable:
        with self.searcher() as (searcher, _):
            return lookups.facet_table(searcher, rows, columns)

    def key_terms(self, item: Item, count: int) -> list[str]:
        with self.searcher() as (searcher, _):
            return lookups.key_terms(searcher, item, count)

    def analyser(self, lang: str) -> Callable[[str], list[str]]:
        return lookups.analyser(self.generation().index.schema, lang)

    def health(self) -> dict[str, Any]:
        return self.folder.status()

    def status(self) -> dict[str, Any]:
        return self.folder.status()

    # -- kb.backend.SearchBackend: writing -----------------------------------
    def writer_lock(self, wait: float = 0.0) -> Any:
        return self.folder.write_lock(wait)

    def write_lock(self, wait: float = 0.0) -> Any:
        return self.folder.write_lock(wait)

    def new_generation(self, expected_items: int = 0) -> tuple[GenerationFolder, WhooshWriter]:
        """A new generation beside the serving one, and a writer for it (a full rebuild)."""
        folder = self.folder.new_generation()
        return folder, create_generation(folder, expected_items)

    def update_generation(self) -> WhooshWriter:
        """A writer changing the serving generation in place (an incremental run)."""
        return open_for_update(self.generation().index)

    def rebuild_reason(self) -> str:
        """Why the next run must rebuild from scratch although the folder has a current generation ('' if not)."""
        return ""

    def words_added(self, generation: str, counts: Any) -> None:
        """A run added `counts` (indexer.words.WordCounts) to the generation's words table: nothing more to do
        here, the table is in the generation's folder."""

    def reader(self, generation: str) -> Generation:
        return Generation(GenerationFolder(self.path / generation))

    def switch(self, generation: str) -> None:
        self.folder.publish(generation)

    def roll_back(self) -> str:
        return self.folder.rollback()
