"""Run searches on the Whoosh index and return plain kb data.

This module, matching.py, lookups.py and schema.py are the places that build
Whoosh queries; indexer.store.IndexStore offers them as kb.backend.SearchBackend.
A search page is: the items that match the query well enough (indexer.matching),
ranked, then the partial matches, ranked; facet counts over the matches; did you
mean; help when nothing matches.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from whoosh import query as wq
from whoosh.searching import Searcher

from indexer.bitsets import BitSets, DocSets, at_least, docsets
from indexer.corrections import acronyms_of, find_corrections
from indexer.docsquery import DocsQuery
from indexer.matching import (
    Plan,
    clause_queries,
    plan,
    query_languages,
    required,
    text_fields,
)
from indexer.meaning import OTHER_LANGUAGES
from indexer.schema import FILTER_FIELDS, text_field, unpack
from indexer.ranking import ranked
from indexer.snippets import snippet
from indexer.visibility import people_shown, visible
from kb.access import Viewer, shown_to
from kb.notes import Note
from kb.query import ParsedQuery, parse_query
from kb.search import FACETS, FacetCount, Hit, Relaxation, SearchRequest, SearchResult

if TYPE_CHECKING:  # the store calls this module; this module only needs its types
    from indexer.store import Generation, IndexStore
    from kb.vocabulary import Vocabulary

SNIPPET_CHARS = 220
def search(store: IndexStore, request: SearchRequest, today: dt.date | None = None,
           max_query_length: int = 2000) -> SearchResult:
    """Run one search: ranked page of hits, facet counts and messages.

    A query longer than `max_query_length` is cut there, with a message (a long
    pasted question is still searched). Results are cached per store, keyed by
    generation, commit, request and day, so a repeated search costs nothing and
    any index change is seen at once.
    """
    started = time.perf_counter()
    today = today or dt.date.today()
    request, cut_note = request.cut(max_query_length)
    with store.searcher() as (searcher, generation):
        # The commit and the generation's vocabulary and counts are written one after the other: both are
        # in the key, so a search between the two is not served from the cache once both are written.
        key = (generation.name, searcher.reader().generation(), generation.build.get("updated_at"), request.q,
               tuple(sorted(request.filters.items())),
               request.sort, request.page, request.page_size, request.role, store.default_visibility, today)
        if not store.holding:
            store.asked.note(request, store.shared)
        result = store.results.get(key)
        if result is None:
            result = store.shared.get(key, generation.vocabulary)
            if result is not None:
                store.results.put(key, result)
        cached = complete = result is not None
        if result is None:
            with store.searching:
                result = run_search(searcher, generation, request, today, store.time_limit,
                                    store.default_visibility)
            complete = not any(m.startswith("The search took longer") for m in result.messages)
            if complete:
                store.results.put(key, result)
                store.shared.put(key, result)
    notes = (cut_note,) if cut_note else ()
    # (a search cut short by the time limit has no state: the same request may find more next time)
    return dataclasses.replace(result, messages=notes + result.messages, seconds=time.perf_counter() - started,
                               cached=cached, state=key if complete else ())


def run_search(searcher: Searcher, generation: Generation, request: SearchRequest, today: dt.date,
               time_limit: float = 10.0, default_level: str = "public") -> SearchResult:
    """The search itself: matches and partial matches, filters, facet counts, the page of hits,
    all within what the request's role may see."""
    vocabulary = generation.vocabulary
    sets = docsets(searcher)
    viewer = Viewer(request.role)
    seen = visible(searcher, viewer, default_level)
    with_people = people_shown(searcher, viewer)
    parsed = parse_query(request.q, vocabulary, today=today)
    corrections, suggestion, notes = find_corrections(searcher, generation, parsed, request.q, time_limit / 2, seen)
    query = plan(searcher, sets, parsed, vocabulary, corrections, acronyms_of(searcher, generation, parsed, seen))
    allowed = ~excluded(sets, searcher, parsed, with_people) & seen
    full, partial = split(sets, query) if parsed.positive else (sets.all, 0)
    counted = count(sets, parsed, request, full, partial, allowed, with_people)
    sort = request.sort if query.ranking is not None or request.sort != "relevance" else "newest"
    rerank = semantic_rerank(generation, parsed.free_text)
    hits = page_hits(searcher, query, (counted.final, counted.partial), sort, request, time_limit, notes, rerank,
                     viewer)
    others = (other_languages(searcher, generation, parsed, hits, allowed & counted.dated, viewer)
              if request.page == 1 else ())
    return answer(request, parsed, counted, hits, full & allowed, vocabulary,
                  notes + label_notes(query, vocabulary), suggestion, others)


def answer(request: SearchRequest, parsed: ParsedQuery, counted: Counted, hits: Sequence[Hit], matched: int,
           vocabulary: Vocabulary, notes: list[str], suggestion: str | None, others: tuple = ()) -> SearchResult:
    """A search's result from its counts and page of hits, with help when nothing matched (`matched`:
    the items matching before filters): the last step of every backend's search."""
    relaxations, nearest = no_results_help(parsed, counted, matched, vocabulary)
    return SearchResult(request=request, parsed=parsed, total=counted.final.bit_count(), hits=hits,
                        facets=counted.facets, messages=parsed.messages + tuple(notes), suggestion=suggestion or None,
                        relaxations=relaxations, nearest_topics=nearest, partial_total=counted.partial.bit_count(),
                        vocabulary=vocabulary, other_languages=others)


@dataclasses.dataclass(frozen=True)
class Counted:
    """What a search page counts once it knows which items match its words (every backend's code)."""

    selected: dict[str, tuple[str, ...]]  # the filters, of the query and of the request
    chosen: dict[str, int]  # the items each filter keeps
    dated: int  # the items in the dates the query names
    matches: int  # the matches the reader may see, in those dates, before the filters
    final: int  # the matches shown
    partial: int  # the partial matches shown
    facets: dict[str, tuple[FacetCount, ...]]


def count(sets: BitSets, parsed: ParsedQuery, request: SearchRequest, full: int, partial: int, allowed: int,
          with_people: int) -> Counted:
    """The groups a page shows and its facet counts: OR within a facet, AND across, each facet's counts
    ignoring its own selection; the people of non-attributable items for managers only (`with_people`)."""
    selected = merge_filters(parsed.filters, request.filters)
    dated = date_range(sets, parsed) if parsed.after or parsed.before else sets.all
    matches = full & allowed & dated
    chosen = {name: any_of(sets, name, values, with_people) for name, values in selected.items()}
    final, final_partial = matches, partial & allowed & dated
    for bits in chosen.values():
        final &= bits
        final_partial &= bits
    facets = {}
    for name in FACETS:
        base = matches
        for other, bits in chosen.items():
            if other != name:
                base &= bits
        if name == "person":
            base &= with_people
        facets[name] = facet_counts(sets, name, base, keep=selected.get(name, ()))
    return Counted(selected, chosen, dated, matches, final, final_partial, facets)


def no_results_help(parsed: ParsedQuery, counted: Counted, reachable: int,
                    vocabulary: Vocabulary) -> tuple[tuple[Relaxation, ...], tuple[str, ...]]:
    """For a search with no results: the filters whose removal would give some, and the nearest topics."""
    if counted.final:
        return (), ()
    relaxations = relax(parsed, counted.selected, counted.chosen, counted.matches, reachable)
    return relaxations, tuple(vocabulary.nearest_topics(parsed.free_text)) if parsed.free_text else ()


def label_notes(query: Plan, vocabulary: Vocabulary) -> list[Note]:
    return [Note("“%(words)s” is a name of the topic %(topic)s: its items are included.",
                 words=unit, topic=vocabulary.label(topic), topic_id=topic) for unit, topic in query.label_only]


def other_languages(searcher: Searcher, generation: Generation, parsed: ParsedQuery, hits: tuple[Hit, ...],
                    allowed: int, viewer: Viewer) -> tuple[Hit, ...]:
    """Items nearest the query in meaning but written in another language than the page (its query's
    language, else its hits'): a French member finds the English notes on the same subject."""
    reranker = getattr(generation, "reranker", None)
    if reranker is None or not parsed.free_text.strip():
        return ()
    languages = query_languages(parsed.free_text) or {max((h.item.lang for h in hits[:5]), default="en",
                                                          key=[h.item.lang for h in hits[:5]].count)}
    shown = {hit.item.id for hit in hits}
    found: list[Hit] = []
    for item_id, cosine in reranker.nearest(parsed.free_text, 30):
        docnum = searcher.document_number(id=item_id)
        if docnum is None or item_id in shown or not allowed >> docnum & 1:
            continue
        hit = make_hit(docnum, searcher.stored_fields(docnum), cosine, {}, {}, viewer=viewer)
        if hit.item.lang not in languages:
            found.append(hit)
        if len(found) == OTHER_LANGUAGES:
            break
    return tuple(found)


def split(sets: DocSets, query: Plan) -> tuple[int, int]:
    """(items that match enough of the query's units, items that match some but not enough)."""
    units = [unit.docs for unit in query.units]
    if not units:  # only stop words: whatever the ranking query finds matches
        found = sets.query(query.ranking) if query.ranking is not None else 0
        return found, 0
    full = at_least(units, required(len(units)))
    anywhere = at_least(units, 1)
    return full, anywhere & ~full


def relax(parsed: ParsedQuery, selected: dict[str, tuple[str, ...]], chosen: dict[str, int], matches: int,
          undated: int) -> tuple[Relaxation, ...]:
    """For a search with no results: each filter that excludes results, with the count without it."""
    found = []
    for name, values in selected.items():
        base = matches
        for other, bits in chosen.items():
            if other != name:
                base &= bits
        if base:
            found.append(Relaxation(name, values, base.bit_count()))
    if parsed.after or parsed.before:
        base = undated
        for bits in chosen.values():
            base &= bits
        if base:
            bounds = tuple(f"{k}:{v.isoformat()}" for k, v in (("after", parsed.after), ("before", parsed.before)) if v)
            found.append(Relaxation("date", bounds, base.bit_count()))
    return tuple(found)


def excluded(sets: DocSets, searcher: Searcher, parsed: ParsedQuery, with_people: int | None = None) -> int:
    """Documents left out by negated words and phrases and by excluded filter values."""
    bits = 0
    for clause in parsed.negative:
        q = clause_queries(searcher, clause, text_fields())[1]
        if q is not None:
            bits |= sets.query(q)
    for name, values in parsed.exclude.items():
        bits |= any_of(sets, name, values, with_people)
    return bits


def any_of(sets: DocSets, name: str, values: Iterable[str], with_people: int | None = None) -> int:
    """Documents with any of the values of a filter; a person only where the reader may see people."""
    bits = 0
    for value in values:
        bits |= sets.value(FILTER_FIELDS[name], value)
    if name == "person" and with_people is not None:
        bits &= with_people
    return bits


def date_range(sets: DocSets, parsed: ParsedQuery) -> int:
    start = parsed.after.isoformat() if parsed.after else ""
    end = parsed.before.isoformat() if parsed.before else "9999"
    return sets.where(lambda day: bool(day) and start <= day < end, "date")


def facet_counts(sets: DocSets, name: str, base: int, keep: Iterable[str] = ()) -> tuple[FacetCount, ...]:
    """Count each value of a facet among `base`; selected values stay listed even at zero."""
    counts = {}
    for value, bits in sets.values(FILTER_FIELDS[name]).items():
        count = (base & bits).bit_count()
        if count and value:
            counts[value] = count
    for value in keep:
        counts.setdefault(value, 0)
    return tuple(FacetCount(v, c) for v, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def semantic_rerank(generation: Generation, text: str) -> Callable[[list[tuple[str, float]]], list[tuple[str, float]]] | None:
    """Ranking by meaning too (indexer.meaning), when this generation has vectors and the query has words."""
    reranker = getattr(generation, "reranker", None)
    if reranker is None or not text.strip():
        return None
    return lambda hits: reranker.rerank(text, hits)


def page_hits(searcher: Searcher, query: Plan, groups: tuple[int, int], sort: str, request: SearchRequest,
              time_limit: float, notes: list[str], rerank: Any = None, viewer: Viewer | None = None) -> tuple[Hit, ...]:
    """The hits of the requested page: the matches, then the partial matches, each ranked by
    Whoosh (or in date order); the page may hold the end of one and the start of the other."""
    words = query_words(query.ranking)
    places = match_places(query)
    hits: list[Hit] = []
    for group, partial, first, last in page_slices(request, groups):
        for docnum, score in ranked(searcher, query, group, sort, first, last, time_limit, notes, rerank):
            hits.append(make_hit(docnum, searcher.stored_fields(docnum), score, places, words, partial, viewer))
    return tuple(hits)


def page_slices(request: SearchRequest, groups: tuple[int, int]) -> Iterator[tuple[int, bool, int, int]]:
    """The parts of the matches and of the partial matches (in that order) the requested page shows: each
    group, whether it is the partial matches, and the first and last place on the page of its ranking."""
    start, end = (request.page - 1) * request.page_size, request.page * request.page_size
    offset = 0  # where this group starts in the whole list
    for group, partial in zip(groups, (False, True)):
        size = group.bit_count()
        if start < offset + size and end > offset and group:
            yield group, partial, max(0, start - offset), min(size, end - offset)
        offset += size


def merge_filters(from_query: dict[str, tuple[str, ...]], from_request: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Combine filters typed in the query with selected facet values (OR within a field)."""
    merged: dict[str, tuple[str, ...]] = {}
    for source in (from_query, from_request):
        for name, values in source.items():
            merged[name] = tuple(dict.fromkeys(merged.get(name, ()) + tuple(values)))
    return {k: v for k, v in merged.items() if v}


def make_hit(docnum: int, stored: dict[str, Any], score: float | None, places: dict[str, int],
             words: dict[str, tuple[set[str], set[str]]], partial: bool = False, viewer: Viewer | None = None) -> Hit:
    item = shown_to(unpack(stored["data"]), viewer or Viewer())
    stems, prefixes = words.get(text_field(item.lang), (set(), set()))
    matched = tuple(place for place, bits in places.items() if bits >> docnum & 1)
    text = snippet(item.text, item.lang, stems, prefixes, chars=SNIPPET_CHARS)
    # Result lists show metadata and the snippet; dropping the full text keeps cached results small.
    light = dataclasses.replace(item, body="", html="", text="")
    return Hit(item=light, score=float(score or 0.0), snippet=text, matched_in=matched, partial=partial)


def query_words(ranking: wq.Query | None) -> dict[str, tuple[set[str], set[str]]]:
    """For each language's text field, the query's terms and prefixes as indexed."""
    words: dict[str, tuple[set[str], set[str]]] = {}
    if ranking is None:
        return words
    for leaf in ranking.leaves() if not ranking.is_leaf() else [ranking]:
        field = getattr(leaf, "fieldname", "") or ""
        if not field.startswith(("text_", "title_")):
            continue
        stems, prefixes = words.setdefault("text_" + field.split("_", 1)[1], (set(), set()))
        if isinstance(leaf, (wq.Prefix, DocsQuery)):
            prefixes.add(leaf.text)
        elif isinstance(leaf, wq.Phrase):
            stems.update(leaf.words)
        elif isinstance(leaf, wq.Term):
            stems.add(leaf.text.decode() if isinstance(leaf.text, bytes) else leaf.text)
    return words


def match_places(query: Plan) -> dict[str, int]:
    """For each place a query can match (title, topic, body), the documents it matches there."""
    title = topic = body = 0
    for unit in query.units:
        title |= unit.title_docs
        body |= unit.text_docs
        topic |= unit.docs & ~unit.text_docs
    topic |= query.topic_docs
    return {place: bits for place, bits in (("title", title), ("topic", topic), ("body", body)) if bits}
