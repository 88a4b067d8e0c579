"""Run searches on the Whoosh index and return plain kb data.

This module and schema.py are the only places that build Whoosh queries; a
second backend implements the same functions: search, get_item, items_where,
related_items.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, Iterable

from whoosh import highlight, query as wq, sorting
from whoosh.searching import Searcher

from indexer.schema import FILTER_FIELDS, LANGUAGES, text_field, title_field, unpack
from indexer.store import IndexStore
from kb.errors import NotFoundError
from kb.item import Item
from kb.query import Clause, ParsedQuery, parse_query
from kb.related import Related, rank_related
from kb.search import FACETS, FacetCount, Hit, SearchRequest, SearchResult
from kb.vocabulary import Vocabulary

# Coordination: documents matching more of the query's words rank higher (0 < c < 1).
COORDINATION = 0.9
# An item tagged with a topic named in the query outranks one that only mentions the words.
TOPIC_BOOST = 3.0
SNIPPET_CHARS = 220
SIBLINGS_MAX = 15


def search(store: IndexStore, request: SearchRequest, today: dt.date | None = None) -> SearchResult:
    """Run one search: ranked page of hits, facet counts and messages."""
    started = time.perf_counter()
    with store.searcher() as (searcher, generation):
        vocabulary = generation.vocabulary
        parsed = parse_query(request.q, vocabulary, today=today)
        selected = merge_filters(parsed.filters, request.filters)
        text_q = text_query(searcher, parsed, vocabulary)
        q = text_q or wq.Every()
        mask = mask_query(searcher, parsed)
        sort = request.sort if text_q is not None or request.sort != "relevance" else "newest"
        sortedby = None if sort == "relevance" else sorting.FieldFacet("date", reverse=(sort == "newest"))
        limit = request.page * request.page_size
        plain = [f for f in FACETS if f not in selected]
        results = searcher.search(
            q, limit=limit, filter=filter_query(selected, parsed), mask=mask, sortedby=sortedby,
            groupedby={f: facet(f) for f in plain}, maptype=sorting.Count, terms=True,
        )
        facets = {f: facet_counts(results.groups(f)) for f in plain}
        for name in selected:
            if name in FACETS:
                others = {k: v for k, v in selected.items() if k != name}
                counted = searcher.search(q, limit=1, filter=filter_query(others, parsed), mask=mask,
                                          groupedby={name: facet(name)}, maptype=sorting.Count)
                facets[name] = facet_counts(counted.groups(name), keep=selected[name])
        results.fragmenter = _FRAGMENTER
        # A formatter numbers terms as it meets them, so each result set gets its own.
        results.formatter = highlight.HtmlFormatter(tagname="mark", between=" … ")
        start = (request.page - 1) * request.page_size
        hits = tuple(make_hit(hit, results, scored=sortedby is None) for hit in results[start:limit])
        total = len(results)
    return SearchResult(
        request=request,
        parsed=parsed,
        total=total,
        hits=hits,
        facets={f: facets[f] for f in FACETS},
        messages=parsed.messages,
        seconds=time.perf_counter() - started,
    )


def merge_filters(from_query: dict[str, tuple[str, ...]], from_request: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Combine filters typed in the query with selected facet values (OR within a field)."""
    merged: dict[str, tuple[str, ...]] = {}
    for source in (from_query, from_request):
        for name, values in source.items():
            merged[name] = tuple(dict.fromkeys(merged.get(name, ()) + tuple(values)))
    return {k: v for k, v in merged.items() if v}


def facet(name: str) -> sorting.FieldFacet:
    # allow_overlap: an item with three topics counts once under each of them.
    return sorting.FieldFacet(FILTER_FIELDS[name], allow_overlap=True)


def facet_counts(groups: dict[Any, int], keep: Iterable[str] = ()) -> tuple[FacetCount, ...]:
    """Sort counts by size; selected values stay listed even when nothing matches them."""
    counts = {(k.decode() if isinstance(k, bytes) else str(k)): v for k, v in groups.items() if k not in (None, "", b"")}
    for value in keep:
        counts.setdefault(value, 0)
    return tuple(FacetCount(v, c) for v, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def analyse(searcher: Searcher, field: str, text: str) -> list[str]:
    return list(searcher.schema[field].process_text(text, mode="query"))


def clause_query(searcher: Searcher, clause: Clause, fields: list[str]) -> wq.Query | None:
    """One word, phrase or prefix looked up in every given field."""
    parts: list[wq.Query] = []
    for field in fields:
        if clause.kind == "prefix":
            # Terms are stored stemmed, so look for the stem of the prefix as well.
            stems = analyse(searcher, field, clause.text) or [clause.text]
            parts.extend(wq.Prefix(field, p) for p in dict.fromkeys([clause.text, stems[0]]))
            continue
        tokens = analyse(searcher, field, clause.text)
        if len(tokens) == 1:
            parts.append(wq.Term(field, tokens[0]))
        elif tokens:
            parts.append(wq.Phrase(field, tokens))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else wq.Or(parts)


def text_fields(title_only: bool = False) -> list[str]:
    fields = [title_field(lang) for lang in LANGUAGES]
    if not title_only:
        fields += [text_field(lang) for lang in LANGUAGES]
    return fields


def text_query(searcher: Searcher, parsed: ParsedQuery, vocabulary: Vocabulary) -> wq.Query | None:
    """OR the query's words and phrases (ranked, never AND-ed into nothing), plus topic matches."""
    fields = text_fields(parsed.title_only)
    parts = [q for q in (clause_query(searcher, c, fields) for c in parsed.positive) if q is not None]
    if not parsed.title_only:
        for topic_id in dict.fromkeys(t for _, t in vocabulary.match_labels(parsed.free_text)):
            parts.append(wq.Term("topics", topic_id, boost=TOPIC_BOOST))
    if not parts:
        return None
    return wq.Or(parts, scale=COORDINATION) if len(parts) > 1 else parts[0]


def mask_query(searcher: Searcher, parsed: ParsedQuery) -> wq.Query | None:
    """Documents to leave out: negated words and phrases, and excluded filter values."""
    parts = [q for q in (clause_query(searcher, c, text_fields()) for c in parsed.negative) if q is not None]
    for name, values in parsed.exclude.items():
        parts.extend(wq.Term(FILTER_FIELDS[name], v) for v in values)
    return wq.Or(parts) if parts else None


def filter_query(selected: dict[str, tuple[str, ...]], parsed: ParsedQuery) -> wq.Query | None:
    """AND across filter fields, OR within one; plus the date range."""
    parts: list[wq.Query] = []
    for name, values in selected.items():
        field = FILTER_FIELDS[name]
        terms = [wq.Term(field, v) for v in values]
        parts.append(terms[0] if len(terms) == 1 else wq.Or(terms))
    if parsed.after or parsed.before:
        start = parsed.after.isoformat() if parsed.after else "0000"
        end = parsed.before.isoformat() if parsed.before else "9999"
        parts.append(wq.TermRange("date", start, end, endexcl=bool(parsed.before)))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else wq.And(parts)


_FRAGMENTER = highlight.ContextFragmenter(maxchars=SNIPPET_CHARS, surround=60)
_MATCH_PLACES = {"title": "title", "text": "body", "topics": "topic"}


def make_hit(hit: Any, results: Any, scored: bool = True) -> Hit:
    item = unpack(hit["data"])
    snippet = ""
    if item.text and results.has_matched_terms():
        snippet = hit.highlights(text_field(item.lang), text=item.text, top=2)
    places = []
    if results.has_matched_terms():
        for field, _ in hit.matched_terms():
            place = _MATCH_PLACES.get(field.split("_")[0])
            if place and place not in places:
                places.append(place)
    return Hit(item=item, score=float(hit.score or 0.0) if scored else 0.0, snippet=snippet, matched_in=tuple(places))


# -- lookups used by item, topic and activity pages ---------------------------

def get_item(store: IndexStore, item_id: str) -> Item:
    """Return one item by id, or raise NotFoundError."""
    with store.searcher() as (searcher, _):
        stored = searcher.document(id=item_id)
    if stored is None:
        raise NotFoundError(f"no item with id {item_id!r}")
    return unpack(stored["data"])


def items_where(store: IndexStore, field: str, value: str, limit: int | None = None) -> list[Item]:
    """Items whose filter field (topic, activity, type ...) has `value`, newest first."""
    with store.searcher() as (searcher, _):
        results = searcher.search(wq.Term(FILTER_FIELDS[field], value), limit=limit,
                                  sortedby=sorting.FieldFacet("date", reverse=True))
        return [unpack(hit["data"]) for hit in results]


def vocabulary(store: IndexStore) -> Vocabulary:
    return store.generation().vocabulary


def related_items(store: IndexStore, item: Item, limit: int = 8) -> list[Related]:
    """Items related to `item` by explicit links both ways, shared activities, topics and text."""
    with store.searcher() as (searcher, generation):
        def fetch(q: wq.Query, n: int) -> list[Item]:
            return [unpack(h["data"]) for h in searcher.search(q, limit=n)]

        linked = [unpack(d["data"]) for d in (searcher.document(id=a) for a in item.activities) if d]
        linking = fetch(wq.Term("activity", item.id), 50)
        siblings = []
        for activity in linked:
            members = searcher.search(wq.Term("activity", activity.id), limit=SIBLINGS_MAX)
            # An activity with many items (a whole forum) says little about any two of them.
            if len(members) <= SIBLINGS_MAX:
                siblings.extend((unpack(h["data"]), activity) for h in members if h["id"] != activity.id)
        sharing = fetch(wq.Or([wq.Term("topics", t) for t in item.topics]), 30) if item.topics else []
        similar: list[tuple[Item, float]] = []
        docnum = searcher.document_number(id=item.id)
        if docnum is not None and item.text:
            for hit in searcher.more_like(docnum, text_field(item.lang), text=item.text, top=10):
                similar.append((unpack(hit["data"]), float(hit.score)))
        ranked = rank_related(item, vocabulary=generation.vocabulary, linked=linked, linking=linking,
                              siblings=siblings, sharing=sharing, similar=similar)
    return ranked[:limit]
