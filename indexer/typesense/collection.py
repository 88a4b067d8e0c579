"""One generation's collection in the cluster: writing it in retried batches, reading items back.

Writes go through the leader; during an election (5-8 s measured) they fail, so a whole batch is
tried again, with a growing wait, until WRITE_PATIENCE runs out (upserts are idempotent: a batch
half written before the failure is written again whole). Followers apply writes about 0.5 s
later, so `commit` waits until every node holds what the leader holds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from indexer.schema import related_kinds
from indexer.typesense.connection import Connection, retried
from indexer.typesense.documents import collection_schema, documents, item_of, texts_of, texts_schema
from indexer.typesense.postings import PostingsWriter, postings_of
from indexer.typesense.postings import schema as postings_schema
from indexer.typesense.searches import PAGE, quoted
from kb.errors import ValidationError
from kb.item import Item
from kb.vocabulary import Vocabulary

BATCH = 500
WRITE_PATIENCE = 60.0  # seconds a batch is retried before the run gives up (the old collection keeps serving)
SYNC_PATIENCE = 30.0  # seconds followers may take to hold what the leader holds

class ClusterWriteError(ValidationError):
    """The cluster did not take a generation's writes in time: the run stops (exit 4), the old one serves."""


def jsonl(text: str) -> list[dict[str, Any]]:
    """The documents of an export: one JSON object a line, lines ended by \\n only (str.splitlines would also
    cut at the line and paragraph separators a text may hold, U+2028 and U+2029, and at \\x1c-\\x1e)."""
    return [json.loads(line) for line in text.split("\n") if line.strip()]


class CollectionWriter:
    """Adds, replaces and deletes items in one generation's collections (kb.backend.GenerationWriter)."""

    def __init__(self, connection: Connection, name: str, create: bool):
        self.connection = connection
        self.name = name
        self.texts = texts_of(name)
        self.client = connection.client()
        self.pending: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.postings = PostingsWriter(self.client, name, create, self._patiently)
        if create:
            for schema in (collection_schema(name), texts_schema(self.texts), postings_schema(postings_of(name))):
                self._patiently(lambda schema=schema: self.client.collections.create(schema))
            for collection in (name, self.texts, postings_of(name)):
                self._on_every_node(lambda client, collection=collection: client.collections[collection].retrieve())

    def put(self, items: Iterable[Item], vocabulary: Vocabulary, kind_of: Mapping[str, str]) -> int:
        count = 0
        for item in items:
            self.pending.append(documents(item, vocabulary, related_kinds(item, dict(kind_of))))
            count += 1
            if len(self.pending) >= BATCH:
                self._flush()
        return count

    def delete(self, item_ids: Iterable[str]) -> None:
        self._flush()
        from typesense import exceptions

        item_ids = list(item_ids)
        self.postings.forget(item_ids)  # first: a run stopped before the deletions takes the same bits out again
        for item_id in item_ids:
            for collection in (self.name, self.texts):  # the item first: a searchable item always has its text
                found = self.client.collections[collection].documents
                try:
                    self._patiently(lambda found=found: found[quote(item_id, safe="")].delete())
                except exceptions.ObjectNotFound:
                    pass  # already gone

    def commit(self) -> None:
        """Write what is pending, then wait until every node that answers holds the same items: the leader
        acknowledged every batch, and followers (or a leader elected meanwhile) converge on it."""
        self._flush()
        self.postings.write()
        deadline = time.monotonic() + SYNC_PATIENCE
        while True:
            counts = {url: self._count_on(url) for url in self.connection.answering()}
            if len(set(counts.values())) == 1 and None not in counts.values():
                return
            if time.monotonic() > deadline:
                raise ClusterWriteError(f"the Typesense nodes did not agree on {self.name} within "
                                        f"{SYNC_PATIENCE:g} s (items held: {counts})")
            time.sleep(0.2)

    def _count_on(self, url: str) -> tuple[int, int] | None:
        try:
            client = Connection((url,), self.connection.api_key).client(retries=0)
            return (client.collections[self.name].retrieve()["num_documents"],
                    client.collections[self.texts].retrieve()["num_documents"])
        except Exception:  # noqa: BLE001 - a lagging node answers 404 or 503 until it catches up
            return None

    def cancel(self) -> None:
        self.pending.clear()

    def drop(self) -> None:
        for collection in (self.name, self.texts, postings_of(self.name)):
            self.client.collections[collection].delete()

    def _flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        # Ordinals, and in an incremental run the postings before the items: a run stopped in between finds
        # the items as they were and moves the same bits again.
        self.postings.number([doc for doc, _ in batch])
        # The texts first: an item that searches find always has its text and item to show.
        for collection, docs in ((self.texts, [text for _, text in batch]), (self.name, [doc for doc, _ in batch])):
            def write(collection: str = collection, docs: list[dict[str, Any]] = docs) -> None:
                answers = self.client.collections[collection].documents.import_(docs, {"action": "upsert"})
                failed = [a for a in answers if not a.get("success")]
                if failed:
                    raise ClusterWriteError(f"Typesense refused {len(failed)} of {len(docs)} items: "
                                            f"{failed[0].get('error')}")
            self._patiently(write)

    def _patiently(self, call: Any) -> Any:
        """`call()`, tried again with a growing wait while the cluster cannot take writes (an election)."""
        from typesense import exceptions

        deadline, wait = time.monotonic() + WRITE_PATIENCE, 0.2
        while True:
            try:
                return call()
            except (exceptions.ServerError, exceptions.ServiceUnavailable, exceptions.HTTPStatus0Error,
                    exceptions.Timeout, exceptions.ObjectNotFound, OSError) as exc:
                if isinstance(exc, exceptions.ObjectNotFound) and "document" in str(exc).lower():
                    raise  # an answer about the document, not a node that lags
                if time.monotonic() + wait > deadline:
                    raise ClusterWriteError(f"the Typesense cluster did not take the writes to {self.name} within "
                                            f"{WRITE_PATIENCE:g} s ({exc}); the collection that served still serves"
                                            ) from exc
                time.sleep(wait)
                wait = min(wait * 2, 5.0)

    def _on_every_node(self, check: Any) -> None:
        """Wait until `check(client)` passes on each node alone (followers lag behind the leader)."""
        deadline = time.monotonic() + SYNC_PATIENCE
        for url in self.connection.answering():
            client = Connection((url,), self.connection.api_key).client(retries=0)
            last: Any = None
            while True:
                try:
                    check(client)
                    break
                except Exception as exc:  # noqa: BLE001 - a lagging node answers 404 or 503 until it catches up
                    last = exc
                if time.monotonic() > deadline:
                    raise ClusterWriteError(f"the Typesense node {url} did not catch up with {self.name} "
                                            f"within {SYNC_PATIENCE:g} s ({last})")
                time.sleep(0.2)


class CollectionReader:
    """One collection as a new generation's checks and exports read it (searches and pages read the snapshot:
    indexer.typesense.reading)."""

    def __init__(self, connection: Connection, name: str, default_visibility: str = "public"):
        self.connection = connection
        self.name = name
        self.client = connection.client()
        self.default_visibility = default_visibility
        self._texts: str | None = None

    def texts(self) -> str:
        """The texts collection beside this one (`name` may be the alias that points at it); asked once."""
        if self._texts is None:
            collection = self.client.collections[self.name]
            self._texts = texts_of(retried(lambda: collection.retrieve(), len(self.connection.urls))["name"])
        return self._texts

    def _search(self, params: dict[str, Any]) -> dict[str, Any]:
        collection = self.client.collections[self.name]
        return retried(lambda: collection.documents.search(params), len(self.connection.urls))

    def _where(self, filter_by: str, page: int = 1, per_page: int = PAGE) -> dict[str, Any]:
        return self._search({"q": "*", "filter_by": filter_by, "per_page": per_page, "page": page,
                             "sort_by": "date:desc"})

    def find_item(self, item_id: str) -> Item | None:
        hits = self._where(f"id:={quoted(item_id)}", per_page=1)["hits"]
        found = self.items([hit["document"]["id"] for hit in hits])
        return found[0] if found else None

    def items(self, item_ids: list[str], full: bool = True) -> list[Item]:
        """The items with these ids, in this order, from the texts collection."""
        texts = self.client.collections[self.texts()].documents
        found: dict[str, Item] = {}
        for start in range(0, len(item_ids), PAGE):
            ids = ",".join(quoted(i) for i in item_ids[start:start + PAGE])
            answer = retried(lambda ids=ids: texts.search({"q": "*", "filter_by": f"id:=[{ids}]", "per_page": PAGE,
                                                           "include_fields": "id,item"}), len(self.connection.urls))
            found.update((hit["document"]["id"], item_of(hit["document"], full)) for hit in answer["hits"])
        return [found[i] for i in item_ids if i in found]

    def all_items(self, full: bool = False) -> list[Item]:
        exported = retried(lambda: self.client.collections[self.texts()].documents.export(
            {"include_fields": "id,item"}), len(self.connection.urls))
        return [item_of(doc, full) for doc in jsonl(exported)]

    def count(self) -> int:
        return retried(lambda: self.client.collections[self.name].retrieve(),
                       len(self.connection.urls))["num_documents"]

    def canaries(self) -> list[str]:
        """On every node that answers: the count, and a few items found by their id and by a word of their title."""
        failures = []
        held = self.count()
        sample = [h["document"] for h in self._where("", per_page=3)["hits"]]
        for url in self.connection.answering():
            node = CollectionReader(Connection((url,), self.connection.api_key), self.name)
            if node.count() != held:
                failures.append(f"node {url} holds {node.count()} items, not {held}")
                continue
            texts = node.client.collections[node.texts()].retrieve()["num_documents"]
            if texts != held:
                failures.append(f"node {url} holds {texts} texts for {held} items")
                continue
            for doc in sample:
                if node.find_item(doc["id"]) is None:
                    failures.append(f"item {doc['id']!r} is not found by its id on {url}")
                word = max(doc["stems_title"].split() or [""], key=len)
                if word and not any(h["document"]["id"] == doc["id"] for h in node._search(
                        {"q": word, "query_by": "stems_title", "filter_by": f"id:={quoted(doc['id'])}",
                         "per_page": 1, "prefix": False, "num_typos": 0})["hits"]):
                    failures.append(f"item {doc['id']!r} is not found by a word of its title on {url}")
        return failures
