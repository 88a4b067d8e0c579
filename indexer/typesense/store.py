"""The index folder kept in step with a Typesense cluster: every generation is also a collection.

The writer host keeps its index folder (the lock, the manifest, vectors, run records and a Whoosh
copy of each generation that checks the other); `kb reindex` writes each change to both. A full
rebuild fills a new collection, checks it on every node, then points the serving alias at it; a
roll back points the alias back. The alias moves before the folder's CURRENT does, so a job killed
between the two leaves the alias right (readers see the alias), and the next run repairs CURRENT.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from indexer.generation import GenerationFolder
from indexer.lookups import facet_table_of
from indexer.store import IndexStore
from indexer.typesense.collection import SYNC_PATIENCE, ClusterWriteError, CollectionReader, CollectionWriter
from indexer.typesense.connection import Connection, retried
from indexer.typesense.documents import collection_schema, texts_of
from indexer.typesense.postings import postings_of
from indexer.typesense.reading import ClusterReading
from indexer.typesense.searching import ClusterSearch
from indexer.typesense.words import WordsCopy, upload, words_of
from kb.backend import FacetTable
from kb.item import Item
from kb.search import SearchRequest, SearchResult
from kb.vocabulary import Vocabulary


def alias_target(connection: Connection, alias: str) -> str:
    """The collection `alias` points at on the cluster (or on the one node of `connection`); '' if none."""
    from typesense import exceptions

    try:
        return retried(lambda: connection.client().aliases[alias].retrieve(), len(connection.urls))["collection_name"]
    except exceptions.ObjectNotFound:
        return ""


class MirrorWriter:
    """Writes one change to the folder's generation and to its collection; both commit or neither does."""

    def __init__(self, local: Any, cluster: CollectionWriter, committed: Any = None):
        self.local = local
        self.cluster = cluster
        self.committed = committed  # called with the vocabulary written with, once both committed
        self.vocabulary: Vocabulary | None = None

    def put(self, items: Iterable[Item], vocabulary: Vocabulary, kind_of: Mapping[str, str]) -> int:
        items = list(items)
        self.vocabulary = vocabulary
        self.cluster.put(items, vocabulary, kind_of)
        return self.local.put(items, vocabulary, kind_of)

    def delete(self, item_ids: Iterable[str]) -> None:
        item_ids = list(item_ids)
        self.cluster.delete(item_ids)
        self.local.delete(item_ids)

    def commit(self) -> None:
        try:
            self.cluster.commit()
        except BaseException:
            self.local.cancel()
            raise
        self.local.commit()
        if self.committed is not None:
            self.committed(self.vocabulary)

    def cancel(self) -> None:
        self.cluster.cancel()
        self.local.cancel()


class CheckedReader:
    """A new generation as the checks see it: the folder's copy and every node of the cluster."""

    def __init__(self, local: Any, cluster: CollectionReader):
        self.local = local
        self.cluster = cluster

    def count(self) -> int:
        held, copies = self.local.count(), self.cluster.count()
        if held != copies:
            raise ClusterWriteError(f"the cluster's collection {self.cluster.name} holds {copies} items, "
                                    f"the index folder {held}")
        return held

    def canaries(self) -> list[str]:
        return self.local.canaries() + self.cluster.canaries()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.local, name)


class ClusterStore(ClusterReading, IndexStore):
    """An IndexStore whose generations are also collections of a Typesense cluster, which serves every
    search and every item read (indexer.typesense.reading); the index folder is the writer's."""

    def __init__(self, path: Any, connection: Connection, **options: Any):
        super().__init__(path, **options)
        self.connection = connection
        self.alias = f"{connection.prefix}_items"
        self.copies = WordsCopy(connection)
        self.cluster_search = ClusterSearch(connection, self.results, self.default_visibility, self._words)

    def search(self, request: SearchRequest, today: dt.date | None = None,
               max_query_length: int = 2000) -> SearchResult:
        """A search page served by the cluster (indexer.typesense.searching), not by the folder's copy."""
        return self.cluster_search.search(request, today, max_query_length)

    def vocabulary(self) -> Vocabulary:
        """The vocabulary of the generation the cluster serves (its meta collection holds it)."""
        return self.cluster_search.snapshot().vocabulary

    def facet_table(self, rows: str, columns: str) -> FacetTable:
        """The content map's counts, from the facet values of the items the cluster serves."""
        return facet_table_of(self.cluster_search.snapshot().sets, rows, columns)

    def _words(self, client: Any, snap: Any) -> Path | None:
        """The words table of the serving generation (did you mean, acronyms): the writer's own, or on a host
        without it, a copy of the cluster's (indexer.typesense.words)."""
        words = GenerationFolder(self.path / snap.generation).words
        return words if words.is_file() else self.copies.path(client, snap.collection, snap.stamp)

    def words_added(self, generation: str, counts: Any) -> None:
        """Put the rows a run changed in the words table on the cluster too; after an incremental run, a new
        stamp tells read hosts to fetch them (a full build's are there before its alias moves)."""
        upload(self.connection, self.collection(generation), GenerationFolder(self.path / generation).words, counts)
        serving = self.folder.current()
        if serving is not None and serving.name == generation:
            self._meta(generation)

    def collection(self, generation: str) -> str:
        return f"{self.alias}__{generation}"

    def serving_collection(self) -> str:
        """The collection the alias points at ('' when there is none yet)."""
        return alias_target(self.connection, self.alias)

    def rebuild_reason(self) -> str:
        current = self.folder.current()
        if current is None:
            return ""
        if self.serving_collection() != self.collection(current.name):
            return "the Typesense cluster does not hold the serving generation: built from scratch"
        from typesense import exceptions

        client, name = self.connection.client(), self.collection(current.name)
        try:
            fields = {f["name"] for f in retried(lambda: client.collections[name].retrieve(),
                                                 len(self.connection.urls))["fields"]}
            for beside in (texts_of(name), words_of(name), postings_of(name)):
                retried(lambda beside=beside: client.collections[beside].retrieve(), len(self.connection.urls))
        except exceptions.ObjectNotFound:
            fields = set()
        if {f["name"] for f in collection_schema("")["fields"]} - fields:
            return "the Typesense cluster's collections lack what this version searches: built from scratch"
        return ""

    def new_generation(self, expected_items: int = 0) -> tuple[GenerationFolder, MirrorWriter]:
        folder, local = super().new_generation(expected_items)
        return folder, MirrorWriter(local, self._cluster_writer(local, folder.name, create=True))

    def update_generation(self) -> MirrorWriter:
        local = super().update_generation()
        name = self.folder.current_name()
        # Readers on other hosts see a commit by the stamp it writes in the meta collection.
        return MirrorWriter(local, self._cluster_writer(local, name, create=False),
                            lambda vocabulary: self._meta(name, vocabulary))

    def _cluster_writer(self, local: Any, generation: str, create: bool) -> CollectionWriter:
        try:
            return CollectionWriter(self.connection, self.collection(generation), create)
        except BaseException:
            local.cancel()  # the folder's writer holds files and the index's write lock
            raise

    def reader(self, generation: str) -> Any:
        return CheckedReader(super().reader(generation),
                             CollectionReader(self.connection, self.collection(generation)))

    def switch(self, generation: str) -> None:
        self._point_alias(generation)
        super().switch(generation)
        self._drop_unused()

    def roll_back(self) -> str:
        name = super().roll_back()
        self._point_alias(name)
        return name

    def cluster_status(self) -> dict[str, Any]:
        """The nodes (URL, role, version) and the collection serving; never the API key."""
        return {"nodes": self.connection.nodes(), "alias": self.alias, "serving": self.serving_collection()}

    def health(self) -> dict[str, Any]:
        return {**super().health(), "typesense": self.cluster_status()}

    def _point_alias(self, generation: str) -> None:
        target = self.collection(generation)
        client = self.connection.client()
        CollectionWriter(self.connection, target, False)._patiently(
            lambda: client.aliases.upsert(self.alias, {"collection_name": target}))
        self._meta(generation)
        deadline = time.monotonic() + SYNC_PATIENCE
        for url in self.connection.answering():
            while alias_target(Connection((url,), self.connection.api_key), self.alias) != target:
                if time.monotonic() > deadline:
                    raise ClusterWriteError(f"the Typesense node {url} did not move {self.alias} to {target} "
                                            f"within {SYNC_PATIENCE:g} s")
                time.sleep(0.2)

    def _meta(self, generation: str, vocabulary: Vocabulary | None = None) -> None:
        """What read hosts need besides the items: the generation's vocabulary and build record, and a stamp
        that changes with every commit (their caches are keyed on it)."""
        folder = GenerationFolder(self.path / generation)
        vocabulary = vocabulary or folder.vocabulary()
        name = f"{self.connection.prefix}_meta"
        client = self.connection.client()
        writer = CollectionWriter(self.connection, name, False)
        if name not in {c["name"] for c in client.collections.retrieve()}:
            writer._patiently(lambda: client.collections.create(
                {"name": name, "fields": [{"name": "generation", "type": "string"}]}))
        document = {"id": "serving", "generation": generation, "stamp": f"{time.time_ns()}",
                    "vocabulary": json.dumps(vocabulary.to_dict(), ensure_ascii=False),
                    "build": json.dumps(folder.build(), ensure_ascii=False)}
        writer._patiently(lambda: client.collections[name].documents.upsert(document))

    def _drop_unused(self) -> None:
        """Drop this community's collections that neither serve nor can be rolled back to."""
        keep = {self.collection(g.name) for g in (self.folder.current(), self.folder.previous()) if g is not None}
        keep |= {beside(name) for name in keep for beside in (texts_of, words_of, postings_of)}
        client = self.connection.client()
        for collection in client.collections.retrieve():
            name = collection["name"]
            if name.startswith(self.alias + "__") and name not in keep:
                client.collections[name].delete()
