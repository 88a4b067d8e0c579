"""The items of one generation as item pages and related panels read them, whichever backend holds them.

Relations (indexer.relating) need a few things of an index: an item's document number, the documents
holding a keyword value or a phrase, the items themselves, their dates, an item's most telling
words and the items sharing them. `SearcherDocs` reads them from a Whoosh searcher; the cluster's
reader (indexer.typesense.docs) from a snapshot of the collection it serves. Document numbers index
the backend's bitsets (indexer.bitsets), so visibility and counts are the same code on both.
"""

from __future__ import annotations

import re
from typing import Any

from whoosh import query as wq
from whoosh.reading import TermNotFound
from whoosh.searching import Searcher

from indexer.bitsets import BitSets, as_filter, docsets
from indexer.schema import LANGUAGES, text_analyzer, text_field, unpack
from kb.item import Item

SURFACE_CHARS = 50_000  # the part of an item's text where the words a reason shows are looked for


class Docs:
    """What relating reads of a generation; document numbers are those of `sets`."""

    sets: BitSets

    def number(self, item_id: str) -> int | None:
        raise NotImplementedError

    def number_at(self, path: str) -> int | None:
        """The document of the item read from this file (an activity's attachment)."""
        raise NotImplementedError

    def holding(self, field: str, value: str) -> list[int]:
        """The documents whose keyword field (Whoosh's name: activity, links, topics ...) holds `value`."""
        raise NotImplementedError

    def items(self, docnums: list[int]) -> list[Item]:
        raise NotImplementedError

    def phrase(self, text: str) -> int:
        """The documents whose title or text holds `text` as a phrase, in any language."""
        raise NotImplementedError

    def key_terms(self, item: Item, text: str, count: int) -> list[tuple[str, float]]:
        """The most telling words of `text` (as the index holds them for the item's language), weighted."""
        raise NotImplementedError

    def similar(self, terms: list[tuple[str, float]], lang: str, allowed: int, top: int,
                named: list[str]) -> list[tuple[int, float, list[str]]]:
        """The `top` documents of `allowed` that best match the weighted words (stems of items in `lang`), best
        first: each with its score and which of the `named` words it holds, in their order."""
        raise NotImplementedError

    def memo(self, name: str) -> dict[Any, Any]:
        """A dict kept as long as these documents are (per Whoosh searcher, per cluster snapshot)."""
        return self.sets.memo.setdefault(name, {})


def surface_words(text: str, lang: str, stems: set[str]) -> dict[str, str]:
    """For each stem, the first word of the text that has it ("virements" for "vir"), as a reason shows it."""
    analyse = text_analyzer(lang if lang in LANGUAGES else "en")
    found: dict[str, str] = {}
    for word in dict.fromkeys(re.findall(r"[^\W\d_]{3,}", text[:SURFACE_CHARS])):
        stem = next((token.text for token in analyse(word)), None)
        if stem in stems and stem not in found:
            found[stem] = word.lower()
            if len(found) == len(stems):
                break
    return found


class SearcherDocs(Docs):
    """The documents of one Whoosh searcher."""

    def __init__(self, searcher: Searcher):
        self.searcher = searcher
        self.sets = docsets(searcher)

    def number(self, item_id: str) -> int | None:
        return self.searcher.document_number(id=item_id) if item_id else None

    def number_at(self, path: str) -> int | None:
        return self.searcher.document_number(path=path) if path else None

    def holding(self, field: str, value: str) -> list[int]:
        if not value:
            return []
        try:  # deleted documents included: callers keep only those the reader sees
            return list(self.searcher.reader().postings(field, value).all_ids())
        except TermNotFound:
            return []

    def items(self, docnums: list[int]) -> list[Item]:
        return [unpack(self.searcher.stored_fields(d)["data"]) for d in docnums]

    def phrase(self, text: str) -> int:
        from indexer.matching import clause_queries, text_fields
        from kb.query import Clause

        matches = clause_queries(self.searcher, Clause("phrase", text), text_fields())[1]
        return self.sets.query(matches) if matches is not None else 0

    def key_terms(self, item: Item, text: str, count: int) -> list[tuple[str, float]]:
        """Whoosh's key terms (Bo1 weights against the whole field)."""
        return self.searcher.key_terms_from_text(text_field(item.lang), text, numterms=count)

    def similar(self, terms: list[tuple[str, float]], lang: str, allowed: int, top: int,
                named: list[str]) -> list[tuple[int, float, list[str]]]:
        field = text_field(lang)
        query = wq.Or([wq.Term(field, word, boost=weight) for word, weight in terms])
        found = self.searcher.search(query, limit=top, filter=as_filter(allowed, self.sets.size))
        holding = {word: self.sets.query(wq.Term(field, word)) for word in named}
        return [(hit.docnum, float(hit.score), [w for w in named if holding[w] >> hit.docnum & 1]) for hit in found]
