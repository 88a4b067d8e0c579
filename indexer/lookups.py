"""Look items up in a Whoosh searcher: by id, by a field's value, all of them, and related ones.

These serve item, topic and activity pages, the reindex job (which re-derives
stored items) and the checks of a new generation; searching.py serves the search
page. Both return plain kb data.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from whoosh import query as wq
from whoosh.searching import Searcher

from indexer.bitsets import BitSets, as_filter, docsets
from indexer.schema import FILTER_FIELDS, attachments_of, text_field, title_field, unpack
from indexer.visibility import Sight
from kb.backend import FacetTable
from kb.errors import NotFoundError
from kb.item import Item



def light(item: Item) -> Item:
    """An item without its body, HTML and text: what lists and reports need."""
    return dataclasses.replace(item, body="", html="", text="")


def find_item(searcher: Searcher, item_id: str, sight: Sight | None = None) -> Item | None:
    """The item with this id, as the reader may see it; None when there is none or they may not see it."""
    if sight is None:
        stored = searcher.document(id=item_id)
        return unpack(stored["data"]) if stored is not None else None
    docnum = searcher.document_number(id=item_id)
    if not sight.sees(docnum):
        return None
    return sight.show(unpack(searcher.stored_fields(docnum)["data"]))


def get_item(searcher: Searcher, item_id: str, sight: Sight | None = None) -> Item:
    item = find_item(searcher, item_id, sight)
    if item is None:  # the same answer whether it does not exist or the reader may not see it
        raise NotFoundError(f"no item with id {item_id!r}")
    return item


def items_where(searcher: Searcher, field: str, value: str, limit: int | None = None,
                sight: Sight | None = None) -> list[Item]:
    """Items whose filter field (topic, activity, type ...) has `value`, newest first."""
    allowed = None
    if sight is not None:
        allowed = sight.docs & (sight.people if field == "person" else sight.docs)
    results = searcher.search(wq.Term(FILTER_FIELDS[field], value), limit=None, filter=within(searcher, allowed))
    items = sorted((unpack(hit["data"]) for hit in results), key=newest_first)
    return [shown(sight, item) for item in items[:limit]]


def newest_first(item: Item) -> tuple:
    """The order of item lists: newest first, undated last, then by id (the same on every backend)."""
    return (item.date is None, -(item.date.toordinal() if item.date else 0), item.id)


def within(searcher: Searcher, allowed: int | None) -> Any:
    """A Whoosh filter for a bitset of documents (None: no filter)."""
    return None if allowed is None else as_filter(allowed, docsets(searcher).size)


def shown(sight: Sight | None, item: Item) -> Item:
    return item if sight is None else sight.show(item)


def all_items(searcher: Searcher, full: bool = False) -> list[Item]:
    items = (unpack(fields["data"]) for fields in searcher.all_stored_fields())
    return list(items) if full else [light(item) for item in items]


def attachments(searcher: Searcher, activity: Item, sight: Sight | None = None) -> list[Item]:
    """The items an activity lists under `attachments:`, in that order (missing files are left out)."""
    found = []
    for path in attachments_of(activity):
        docnum = searcher.document_number(path=path)
        if docnum is not None and (sight is None or sight.sees(docnum)):
            found.append(shown(sight, unpack(searcher.stored_fields(docnum)["data"])))
    return found


def facet_table(searcher: Searcher, rows: str, columns: str) -> FacetTable:
    """Items per pair of values of two facets, from the searcher's facet bitsets."""
    return facet_table_of(docsets(searcher), rows, columns)


def facet_table_of(sets: BitSets, rows: str, columns: str) -> FacetTable:
    """Items per pair of values of two facets, from any backend's facet bitsets."""
    row_sets = sets.values(FILTER_FIELDS[rows])
    column_sets = sets.values(FILTER_FIELDS[columns])
    cells = {}
    for row, row_bits in row_sets.items():
        for column, column_bits in column_sets.items():
            count = (row_bits & column_bits).bit_count()
            if count and row and column:
                cells[(row, column)] = count
    return FacetTable(cells=cells, totals={r: b.bit_count() for r, b in row_sets.items() if r},
                      columns={c: b.bit_count() for c, b in column_sets.items() if c})


def key_terms(searcher: Searcher, item: Item, count: int) -> list[str]:
    """The item's most telling words against the whole index, as indexed (stems)."""
    terms = searcher.key_terms_from_text(text_field(item.lang), f"{item.title} {item.text}", numterms=count)
    return [term for term, _ in terms]


def analyser(schema: Any, lang: str) -> Callable[[str], list[str]]:
    """Words of a text as the index holds them for items in `lang`."""
    field = schema[text_field(lang)]
    return lambda text: list(field.process_text(text, mode="query"))


def canaries(searcher: Any) -> list[str]:
    """Find a few items (spread over the index) by their id and by a word of their title."""
    count = searcher.doc_count()
    if count == 0:
        return []
    failures = []
    step = max(1, count // 3)
    positions = list(range(0, count, step))[:3]
    for docnum in positions:
        item = unpack(searcher.stored_fields(docnum)["data"])
        if searcher.document(id=item.id) is None:
            failures.append(f"item {item.id!r} is not found by its id")
            continue
        field = title_field(item.lang)
        words = list(searcher.schema[field].process_text(item.title, mode="query"))
        if words:
            found = searcher.search(wq.Term(field, max(words, key=len)), limit=None, filter={docnum})
            if not len(found):
                failures.append(f"item {item.id!r} is not found by a word of its title")
    return failures
