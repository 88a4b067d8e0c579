"""kb's items as Typesense documents: two collections per generation.

The items collection holds what filters, facets and finding words need: the filter fields of the
Whoosh schema as arrays, the date as a number, the item's length in words and its distinct
words as kb's analyser writes them (Typesense 0.24 has no stemming: the index holds kb's stems,
folded, without stop words, so that both engines see the same words), and its title's. Beside it,
the texts collection holds the analysed text (searched for phrases and prefixes, read to rank),
the item itself as JSON and its card (what a hit shows), stored and not indexed (undeclared fields
are kept, never searched).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from indexer.schema import item_document, text_analyzer
from kb.item import Item
from kb.vocabulary import Vocabulary

ARRAYS = ("topics", "topics_all", "kind", "country", "activity", "person", "attachment", "links")
STRINGS = ("type", "year", "lang", "community", "path", "visibility", "attribution")
SYMBOLS = "_./&"  # besides letters and digits, what a word of kb's analyser may hold
FACETS = {"topics", "topics_all", "type", "kind", "country", "year", "lang", "activity", "person", "community",
          "visibility"}


def collection_schema(name: str) -> dict[str, Any]:
    fields = [{"name": f, "type": "string[]", "facet": f in FACETS} for f in ARRAYS]
    fields += [{"name": f, "type": "string", "facet": f in FACETS} for f in STRINGS]
    # n: the item's ordinal in the collection, which the postings of common words are bitsets over
    fields += [{"name": "date", "type": "int32"}, {"name": "length", "type": "int32", "facet": True},
               {"name": "n", "type": "int32"},
               {"name": "stems_title", "type": "string"},
               {"name": "words", "type": "string[]"}, {"name": "title_words", "type": "string[]"}]
    # The characters kb's words may hold (indexer.schema.WORD_PATTERN) are kept in Typesense's tokens too: else
    # an exact filter on "system_" would also match every item holding "system".
    return {"name": name, "fields": fields, "default_sorting_field": "date", "symbols_to_index": list(SYMBOLS)}


def texts_schema(name: str) -> dict[str, Any]:
    """The collection of the items' texts beside each generation's: the analysed text, searched for phrases and
    prefixes and read to rank, and the item itself (stored, not indexed)."""
    return {"name": name, "fields": [{"name": "lang", "type": "string"}, {"name": "length", "type": "int32"},
                                     {"name": "stems", "type": "string"}],
            "symbols_to_index": list(SYMBOLS)}  # a phrase of m.o.h is not one of moh


def texts_of(collection: str) -> str:
    return f"{collection}__texts"


def analysed(text: str, lang: str) -> list[str]:
    return [token.text for token in analyzer(lang)(text)]


@lru_cache(maxsize=8)
def analyzer(lang: str) -> Any:
    # One per language: building one folds every stop word again (measured 0.3 ms a call).
    return text_analyzer(lang)


def documents(item: Item, vocabulary: Vocabulary, kinds: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Typesense documents of an item, derived from the Whoosh one so both index the same values: what
    filters, counts and finds words (small, so that a search reads thousands of them quickly: measured 11
    against 65 ms per 250 with the text and item inside), and its text and the item itself."""
    whoosh = item_document(item, vocabulary, kinds)
    doc: dict[str, Any] = {"id": item.id}
    for name in ARRAYS:
        doc[name] = [v for v in whoosh[name].split(",") if v]
    for name in STRINGS:
        doc[name] = whoosh[name] or ""
    doc["date"] = int(item.date.strftime("%Y%m%d")) if item.date else 0
    title = next(value for key, value in whoosh.items() if key.startswith("title_"))
    text = next(value for key, value in whoosh.items() if key.startswith("text_"))
    stems = analysed(text, item.lang)
    doc["stems_title"] = " ".join(analysed(title, item.lang))
    # Each distinct word once, as values to filter on: finding every item with a word through the filter
    # index is cheaper than a text search, which reads every hit's positions.
    doc["words"] = sorted(set(stems))
    doc["title_words"] = sorted(set(doc["stems_title"].split()))
    doc["length"] = len(stems)
    whole = item.to_dict()
    texts = {"id": item.id, "lang": doc["lang"], "length": len(stems), "stems": " ".join(stems),
             "item": json.dumps(whole, ensure_ascii=False),
             # what a search page shows of a hit: the item without its Markdown and HTML (a third of its size)
             "card": json.dumps({**whole, "body": "", "html": ""}, ensure_ascii=False)}
    return doc, texts


def card_of(doc: dict[str, Any]) -> Item | None:
    """The item as a search page shows it (its text, not its Markdown or HTML); None in a collection written
    before cards were."""
    return Item.from_dict(json.loads(doc["card"])) if "card" in doc else None


def item_of(doc: dict[str, Any], full: bool = True) -> Item:
    item = Item.from_dict(json.loads(doc["item"]))
    if full:
        return item
    from dataclasses import replace
    return replace(item, body="", html="", text="")
