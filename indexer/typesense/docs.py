"""Item pages and related items from the cluster: the documents of the snapshot that serves searches.

The same kb code relates items on both backends (indexer.relating, over indexer.itemdocs.Docs);
here its questions are answered from the snapshot's bitsets (keyword values, visibility, dates) and
from the cluster (the items themselves, the documents holding a phrase or a word, how many items
use a word). Similar text differs from Whoosh's in one way: the cluster keeps no collection
frequencies, so an item's telling words are weighted (Bo1, as Whoosh does) with the number of items
holding each word instead of its number of occurrences.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from indexer.bitsets import members
from indexer.itemdocs import Docs
from indexer.typesense.searches import by_ids
from indexer.typesense.documents import analysed, item_of, texts_of
from indexer.typesense.ranking import Text, bm25, idf
from indexer.typesense.table import Finder, analysis_language
from kb.item import Item
from kb.query import Clause

KEY_CANDIDATES = 60  # an item's most frequent words whose document frequency is asked, to choose its telling ones
SIMILAR_SCORED = 50  # documents holding the telling words that are scored with BM25 (the best by their idf)


def texts_by_id(finder: Finder, collection: str, item_ids: list[str], fields: str) -> list[dict[str, Any]]:
    """`fields` of the texts documents of these items (in no particular order), a page of ids per search."""
    return [hit["document"] for answer in finder.multi(by_ids(texts_of(collection), item_ids, fields))
            for hit in answer.get("hits", [])]


class ClusterDocs(Docs):
    """The documents of one snapshot (indexer.typesense.searching.Snapshot) of the serving collections."""

    def __init__(self, client: Any, snap: Any):
        self.client, self.snap, self.sets = client, snap, snap.sets
        self.finder = Finder(client, snap.collection, snap.sets)

    def number(self, item_id: str) -> int | None:
        return self.sets.number.get(item_id)

    def number_at(self, path: str) -> int | None:
        paths = self.memo("paths")
        if not paths:
            paths.update((value, members(bits)[0]) for value, bits in self.sets.values("path").items() if bits)
        return paths.get(path)

    def holding(self, field: str, value: str) -> list[int]:
        return members(self.sets.value(field, value)) if value else []

    def items(self, docnums: list[int]) -> list[Item]:
        ids = [self.sets.ids[d] for d in docnums]
        found = {doc["id"]: item_of(doc) for doc in self.documents(ids, "id,item")}
        return [found[i] for i in ids]

    def documents(self, item_ids: list[str], fields: str) -> list[dict[str, Any]]:
        return texts_by_id(self.finder, self.snap.collection, item_ids, fields)

    def phrase(self, text: str) -> int:
        clause = Clause("phrase", text)
        in_text, in_title = self.finder.docs([clause], "stems")[0], self.finder.docs([clause], "stems_title")[0]
        return in_text | in_title

    def key_terms(self, item: Item, text: str, count: int) -> list[tuple[str, float]]:
        """Bo1 weights (Whoosh's key terms), each word's number of items standing for its occurrences."""
        counts = Counter(analysed(text, item.lang))
        candidates = [word for word, _ in counts.most_common(KEY_CANDIDATES)]
        n = max(self.sets.size, 1)
        scores = []
        for word, df in self.finder.frequencies(candidates, analysis_language(item.lang)).items():
            if df:
                f = df / n
                scores.append((counts[word] * math.log2((1 + f) / f) + math.log2(1 + f), word))
        if not scores:
            return []
        best = max(score for score, _ in scores)
        scores.sort(key=lambda pair: (-pair[0], pair[1]))
        return [(word, score / best) for score, word in scores[:count]]

    def similar(self, terms: list[tuple[str, float]], lang: str, allowed: int, top: int,
                named: list[str]) -> list[tuple[int, float, list[str]]]:
        """BM25 of the weighted words over the stored text of the documents holding the most of them."""
        lang = analysis_language(lang)
        words = list(dict.fromkeys([*(word for word, _ in terms), *named]))
        holding = dict(zip(words, self.finder.stems(words, lang)))
        n = self.sets.size
        weights = {word: idf((holding[word] & self.sets.all).bit_count(), n) for word, _ in terms}
        prescore: Counter[int] = Counter()
        for word, boost in terms:
            for docnum in members(holding[word] & allowed):
                prescore[docnum] += boost * weights[word]
        candidates = [docnum for docnum, _ in prescore.most_common(SIMILAR_SCORED)]
        query = dict(terms)
        average = self.sets.averages.get(lang, 1.0)
        scored = []
        for doc in self.documents([self.sets.ids[d] for d in candidates], "id,stems,length"):
            text = Text.of(doc["stems"].split(), doc["length"], set())
            scored.append((bm25(text, query, weights, average), self.sets.number[doc["id"]]))
        scored.sort(key=lambda pair: (-pair[0], pair[1]))
        return [(docnum, score, [w for w in named if holding[w] >> docnum & 1]) for score, docnum in scored[:top]]
