"""Which items hold each common word, kept beside each generation's collection: counting without reading ids.

A search page needs every item that holds each word of the query (indexer.typesense.table). Asked of the
cluster as a search, that is read 250 ids a page, about 60 µs an item: seconds for a word that half of
100,000 items hold. So each generation keeps `<collection>__postings`: for each word (of the texts or of
the titles, in one analysis language) that at least COMMON items held when it was written, the items
that hold it as a bitset over their ordinals, zlib-compressed and base64-encoded, one document read at
once. Rarer words are still searched: one page of ids.

An item's ordinal (`n` in the items collection) is given when the item is first written to the
collection and kept while it stays there. A deleted item's ordinal is not given again (the next free one
is kept in the postings collection), so a reader whose snapshot is older than a run never takes a new
item's bit for an old item's.

A full build writes the postings of every common word at its commit. An incremental run changes the
postings of the words an item held or now holds before it writes the item itself: a run that stops
between the two finds the item as it was and makes the same change again, where the other order would
have lost the words the item dropped. A word that only becomes common through incremental runs is
searched (a page of ids at a time) until the next full build.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from array import array
from collections import Counter
from collections.abc import Iterable
from typing import Any, Callable

from indexer.bitsets import bitset, members
from indexer.schema import LANGUAGES
from indexer.typesense.searches import by_ids, multi

COMMON = 250  # Typesense's largest page: a rarer word's items are one page of ids
BATCH = 250  # postings read or written at once
NEXT = "next"  # the document holding the next free ordinal
FIELDS = ("words", "title_words")  # the items' distinct words of their text and of their title

Key = tuple[str, str, str]  # (field, analysis language, word)


def postings_of(collection: str) -> str:
    return f"{collection}__postings"


def schema(name: str) -> dict[str, Any]:
    return {"name": name, "fields": [{"name": "count", "type": "int32"}]}


def key_id(key: Key) -> str:
    return hashlib.sha1("\x00".join(key).encode("utf-8")).hexdigest()


def keys_of(doc: dict[str, Any]) -> set[Key]:
    """The postings an item document is in: each distinct word of its text and of its title, in its language."""
    lang = str(doc.get("lang") or "")
    lang = lang if lang in LANGUAGES else "en"  # as indexer.typesense.table.analysis_language
    return {(field, lang, word) for field in FIELDS for word in doc.get(field) or ()}


def lexicon_id(field: str, lang: str) -> str:
    """The document listing every word of a field and language with how many items hold it (prefixes expand
    over it, as indexer.matching.expand does over Whoosh's terms)."""
    return f"lexicon:{field}:{lang}"


def encode_lexicon(counts: dict[str, int]) -> str:
    text = "\n".join(f"{word}\t{count}" for word, count in sorted(counts.items()) if count > 0)
    return base64.b64encode(zlib.compress(text.encode("utf-8"), 6)).decode("ascii")


def decode_lexicon(text: str) -> tuple[list[str], list[int]]:
    """The words in order, and how many items hold each."""
    lines = zlib.decompress(base64.b64decode(text)).decode("utf-8").split("\n") if text else []
    pairs = [line.split("\t") for line in lines if line]
    return [word for word, _ in pairs], [int(count) for _, count in pairs]


def encode(bits: int) -> str:
    return base64.b64encode(zlib.compress(bits.to_bytes((bits.bit_length() + 7) // 8, "little"), 6)).decode("ascii")


def decode(text: str) -> int:
    return int.from_bytes(zlib.decompress(base64.b64decode(text)), "little")


class PostingsWriter:
    """The postings of one generation's collection as a run changes its items (indexer.typesense.collection)."""

    def __init__(self, client: Any, collection: str, create: bool, patiently: Callable[[Callable[[], Any]], Any]):
        self.client = client
        self.collection = collection
        self.name = postings_of(collection)
        self.full = create
        self.patiently = patiently
        self.held: dict[Key, array] = {}  # a full build: the ordinals of every item holding each word
        self.next: int | None = 0 if create else None

    def number(self, docs: list[dict[str, Any]]) -> None:
        """Give each document its ordinal (the one it has in the collection, else the next free one); in an
        incremental run, first move its bits from the words it held to those it holds now."""
        if self.full:
            for doc in docs:
                if "n" not in doc:  # numbered once: only a batch's writes are tried again, not this
                    doc["n"], self.next = self.next, self.next + 1
                for key in keys_of(doc):
                    self.held.setdefault(key, array("I")).append(doc["n"])
            return
        old = self._current([doc["id"] for doc in docs])
        changes: list[tuple[int, set[Key], set[Key]]] = []
        taken = self._next()
        for doc in docs:
            before = old.get(doc["id"])
            if before is not None:
                doc["n"] = before["n"]
            elif "n" not in doc:
                doc["n"], taken = taken, taken + 1
            changes.append((doc["n"], keys_of(before) if before else set(), keys_of(doc)))
        self._apply(changes, taken)

    def forget(self, item_ids: list[str]) -> None:
        """Before items are deleted: take their bits out of the postings of the words they held."""
        if self.full or not item_ids:
            return
        old = self._current(item_ids)
        self._apply([(doc["n"], keys_of(doc), set()) for doc in old.values()], self._next())

    def write(self) -> None:
        """A full build's postings, at its commit: those of the words at least COMMON items hold."""
        if not self.full:
            return
        docs = [{"id": key_id(key), "count": len(held), "bits": encode(bitset(held, self.next or 0))}
                for key, held in self.held.items() if len(held) >= COMMON]
        lexicons: dict[tuple[str, str], dict[str, int]] = {}
        for (field, lang, word), held in self.held.items():
            lexicons.setdefault((field, lang), {})[word] = len(held)
        docs += [{"id": lexicon_id(*pair), "count": len(counts), "words": encode_lexicon(counts)}
                 for pair, counts in lexicons.items()]
        docs.append({"id": NEXT, "count": 0, "next": self.next})
        self.held.clear()
        self._upsert(docs)

    def _apply(self, changes: list[tuple[int, set[Key], set[Key]]], taken: int) -> None:
        touched = {key for _, before, after in changes for key in before ^ after}
        stored = self._postings(touched)
        for n, before, after in changes:
            for key in before - after:
                if key in stored:
                    stored[key] &= ~(1 << n)
            for key in after - before:
                if key in stored:
                    stored[key] |= 1 << n
        docs = [{"id": key_id(key), "count": bits.bit_count(), "bits": encode(bits)} for key, bits in stored.items()]
        docs += self._lexicons(changes)
        if taken != self.next:
            docs.append({"id": NEXT, "count": 0, "next": taken})
        self._upsert(docs)
        self.next = taken

    def _lexicons(self, changes: list[tuple[int, set[Key], set[Key]]]) -> list[dict[str, Any]]:
        """The lexicons of the fields and languages whose words' counts the changes move, moved."""
        moved: Counter[Key] = Counter()
        for _, before, after in changes:
            moved.update(after - before)
            moved.subtract(before - after)
        pairs = {(field, lang) for field, lang, _ in moved}
        stored = self._fetch(self.name, [lexicon_id(*pair) for pair in pairs], "id,words")
        docs = []
        for pair in pairs:
            found = stored.get(lexicon_id(*pair))
            counts = dict(zip(*decode_lexicon(found["words"]))) if found else {}
            for (field, lang, word), by in moved.items():
                if (field, lang) == pair and by:
                    counts[word] = counts.get(word, 0) + by
            docs.append({"id": lexicon_id(*pair), "count": len(counts), "words": encode_lexicon(counts)})
        return docs

    def _next(self) -> int:
        if self.next is None:
            found = self._fetch(self.name, [NEXT], "id,next")
            self.next = int(found[NEXT]["next"]) if NEXT in found else self._after_last()
        return self.next

    def _after_last(self) -> int:
        """One past the highest ordinal in the collection (a collection whose postings lost their counter)."""
        hits = self.patiently(lambda: self.client.collections[self.collection].documents.search(
            {"q": "*", "sort_by": "n:desc", "per_page": 1, "include_fields": "n"}))["hits"]
        return int(hits[0]["document"]["n"]) + 1 if hits else 0

    def _current(self, item_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The documents these items have in the collection now: their ordinal, language and words."""
        return self._fetch(self.collection, item_ids, "id,n,lang," + ",".join(FIELDS))

    def _postings(self, keys: Iterable[Key]) -> dict[Key, int]:
        """The stored postings of these words (a word without is not common: it has none to change)."""
        keys = list(keys)
        by_id = {key_id(key): key for key in keys}
        return {by_id[found]: decode(doc["bits"]) for found, doc in self._fetch(self.name, list(by_id), "id,bits").items()
                if found in by_id}

    def _fetch(self, collection: str, ids: list[str], fields: str) -> dict[str, dict[str, Any]]:
        """The documents with these ids (those there are)."""
        answers = self.patiently(lambda: multi(self.client, by_ids(collection, ids, fields)))
        return {hit["document"]["id"]: hit["document"] for answer in answers for hit in answer.get("hits", [])}

    def _upsert(self, docs: list[dict[str, Any]]) -> None:
        from indexer.typesense.collection import ClusterWriteError

        documents = self.client.collections[self.name].documents
        for start in range(0, len(docs), BATCH):
            batch = docs[start:start + BATCH]
            answers = self.patiently(lambda batch=batch: documents.import_(batch, {"action": "upsert"}))
            failed = [a for a in answers if not a.get("success")]
            if failed:
                raise ClusterWriteError(f"Typesense refused {len(failed)} postings of {self.name}: "
                                        f"{failed[0].get('error')}")


def positions(bits: int, place: dict[int, int] | None, size: int) -> int:
    """A posting (bits over ordinals) as bits over a snapshot's documents: `place` gives the document of each
    ordinal (None when each document's number is its ordinal)."""
    if place is None:
        return bits & ((1 << size) - 1)  # a later run's new items are not in this snapshot
    return bitset((place[n] for n in members(bits) if n in place), size)
