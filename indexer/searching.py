"""Run searches on the Whoosh index and return plain kb data.

This module, lookups.py and schema.py are the places that build Whoosh queries;
indexer.store.IndexStore offers them as kb.backend.SearchBackend.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import time
from typing import TYPE_CHECKING, Any, Iterable

from whoosh import query as wq
from whoosh.collectors import TimeLimit, TimeLimitCollector
from whoosh.lang.stopwords import stoplists
from whoosh.searching import Searcher

from indexer.bitsets import DocSets, as_filter, docsets
from indexer.snippets import snippet
from indexer.schema import FILTER_FIELDS, LANGUAGES, text_field, title_field, unpack
from indexer.words import correct
from kb.query import Clause, ParsedQuery, parse_query
from kb.search import FACETS, FacetCount, Hit, Relaxation, SearchRequest, SearchResult
from kb.spelling import correctable
from kb.vocabulary import Vocabulary

if TYPE_CHECKING:  # the store calls this module; this module only needs its types
    from indexer.store import Generation, IndexStore

# An item tagged with a topic named in the query outranks one that only mentions the words.
TOPIC_BOOST = 3.0
# An item of a type, activity kind or country the query names ("documents", "webinar",
# "Ghana") gets this bonus; it is a hint, not a filter.
HINT_BOOST = 5.0
# Fields in the language the query is written in weigh this much more.
LANGUAGE_HINT_BOOST = 1.5
STOPWORDS = {lang: frozenset(stoplists[lang]) for lang in LANGUAGES}
SNIPPET_CHARS = 220
# A prefix query (capit*) searches at most this many of the words it could stand for.
MAX_EXPANSION = 64
SIBLINGS_MAX = 15
# Words of one query that "did you mean" tries to correct.
MAX_CORRECTED = 8


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
        key = (generation.name, searcher.reader().generation(), request.q, tuple(sorted(request.filters.items())),
               request.sort, request.page, request.page_size, today)
        result = store.results.get(key)
        if result is None:
            result = run_search(searcher, generation, request, today, store.time_limit)
            if not any(m.startswith("The search took longer") for m in result.messages):
                store.results.put(key, result)
    notes = (cut_note,) if cut_note else ()
    return dataclasses.replace(result, messages=notes + result.messages, seconds=time.perf_counter() - started)


def run_search(searcher: Searcher, generation: Generation, request: SearchRequest, today: dt.date,
               time_limit: float = 10.0) -> SearchResult:
    """The search itself: text matches, filters, facet counts, the page of hits."""
    vocabulary = generation.vocabulary
    sets = docsets(searcher)
    parsed = parse_query(request.q, vocabulary, today=today)
    parsed, suggestion = add_corrections(searcher, generation, parsed, request.q, time_limit / 2)
    selected = merge_filters(parsed.filters, request.filters)
    text_q = text_query(searcher, parsed, vocabulary)
    # Documents the query and its exclusions allow, before facet filters.
    places = match_places(sets, text_q)
    undated = (any_place(places) if text_q is not None else sets.all) & ~excluded(sets, searcher, parsed)
    matches = undated & date_range(sets, parsed) if parsed.after or parsed.before else undated
    chosen = {name: any_of(sets, name, values) for name, values in selected.items()}
    final = matches
    for bits in chosen.values():
        final &= bits
    facets = {}
    for name in FACETS:
        # OR within a facet, AND across: a facet's counts ignore its own selection.
        base = matches
        for other, bits in chosen.items():
            if other != name:
                base &= bits
        facets[name] = facet_counts(sets, name, base, keep=selected.get(name, ()))
    sort = request.sort if text_q is not None or request.sort != "relevance" else "newest"
    # Whoosh needs our set of allowed documents only when it differs from what the text
    # query matches on its own: filters, exclusions, dates, or ranking hints that match more.
    narrowed = bool(selected or parsed.negative or parsed.exclude or parsed.after or parsed.before
                    or (not parsed.title_only and vocabulary.match_hints(parsed.free_text)))
    notes: list[str] = []
    hits = page_hits(searcher, text_q, final, sort, request, places, narrowed, time_limit, notes)
    total = final.bit_count()
    relaxations: tuple[Relaxation, ...] = ()
    nearest: tuple[str, ...] = ()
    if not total:
        relaxations = relax(parsed, selected, chosen, matches, undated)
        nearest = tuple(vocabulary.nearest_topics(parsed.free_text)) if parsed.free_text else ()
    return SearchResult(request=request, parsed=parsed, total=total, hits=hits, facets=facets,
                        messages=parsed.messages + tuple(notes), suggestion=suggestion, relaxations=relaxations,
                        nearest_topics=nearest, vocabulary=vocabulary)


def add_corrections(searcher: Searcher, generation: Generation, parsed: ParsedQuery,
                    text: str, seconds: float = 10.0) -> tuple[ParsedQuery, str]:
    """Also search for the likely spelling of words no item contains; return the corrected query too.

    At most MAX_CORRECTED words are looked at, within `seconds` (half the search's
    time limit): a long pasted question full of names must not spend its time here.
    """
    corrections: dict[str, str] = {}
    labels: list[str] | None = None
    deadline = time.perf_counter() + seconds
    looked = 0
    for clause in parsed.positive:
        if clause.kind != "word" or not correctable(clause.text) or clause.text in corrections:
            continue
        if looked >= MAX_CORRECTED or time.perf_counter() > deadline:
            break
        q = clause_query(searcher, clause, text_fields())
        if q is not None and any(searcher.doc_frequency(field, text) for field, text in q.iter_all_terms()):
            continue  # some item contains it (a term lookup, not a search)
        if labels is None:
            labels = generation.vocabulary.all_names()
        looked += 1
        better = correct(generation.folder.words, clause.text, labels)
        if better:
            corrections[clause.text] = better
    if not corrections:
        return parsed, ""
    said = ", ".join(f"“{c}”" for c in corrections.values())
    missing = ", ".join(f"“{w}”" for w in corrections)
    message = f"No item contains {missing}; also searched for {said}."
    extra = tuple(Clause("word", c) for c in corrections.values())
    corrected = re.sub(r"[^\W\d_]+", lambda m: corrections.get(m.group(), m.group()), text)
    return dataclasses.replace(parsed, clauses=parsed.clauses + extra, messages=parsed.messages + (message,)), corrected


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


def excluded(sets: DocSets, searcher: Searcher, parsed: ParsedQuery) -> int:
    """Documents left out by negated words and phrases and by excluded filter values."""
    bits = 0
    for clause in parsed.negative:
        q = clause_query(searcher, clause, text_fields())
        if q is not None:
            bits |= sets.query(q)
    for name, values in parsed.exclude.items():
        bits |= any_of(sets, name, values)
    return bits


def any_of(sets: DocSets, name: str, values: Iterable[str]) -> int:
    bits = 0
    for value in values:
        bits |= sets.value(FILTER_FIELDS[name], value)
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


def page_hits(searcher: Searcher, text_q: wq.Query | None, final: int, sort: str, request: SearchRequest,
              places: dict[str, int], narrowed: bool, time_limit: float, notes: list[str]) -> tuple[Hit, ...]:
    """The hits of the requested page: ranked by Whoosh among `final`, or in date order."""
    if not final:
        return ()
    start, limit = (request.page - 1) * request.page_size, request.page * request.page_size
    words = query_words(text_q)
    if sort != "relevance":
        docnums = docsets(searcher).page_by_date(final, start, request.page_size, oldest=sort == "oldest")
        return tuple(make_hit(d, searcher.stored_fields(d), 0.0, places, words) for d in docnums)
    allowed = as_filter(final, docsets(searcher).size) if narrowed or text_q is None else None
    collector = TimeLimitCollector(searcher.collector(limit=limit, filter=allowed), timelimit=time_limit)
    try:
        searcher.search_with_collector(text_q or wq.Every(), collector)
    except TimeLimit:
        notes.append(f"The search took longer than {time_limit:g} s; the best results found by then are shown.")
    results = collector.results()
    return tuple(make_hit(hit.docnum, hit.fields(), hit.score, places, words) for hit in results[start:limit])


def merge_filters(from_query: dict[str, tuple[str, ...]], from_request: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Combine filters typed in the query with selected facet values (OR within a field)."""
    merged: dict[str, tuple[str, ...]] = {}
    for source in (from_query, from_request):
        for name, values in source.items():
            merged[name] = tuple(dict.fromkeys(merged.get(name, ()) + tuple(values)))
    return {k: v for k, v in merged.items() if v}




def analyse(searcher: Searcher, field: str, text: str) -> list[str]:
    return list(searcher.schema[field].process_text(text, mode="query"))


def clause_query(searcher: Searcher, clause: Clause, fields: list[str],
                 boosts: dict[str, float] | None = None) -> wq.Query | None:
    """One word, phrase or prefix looked up in every given field."""
    parts: list[wq.Query] = []
    for field in fields:
        boost = (boosts or {}).get(field, 1.0)
        if clause.kind == "prefix":
            # Terms are stored stemmed, so look for the stem of the prefix as well.
            stems = analyse(searcher, field, clause.text) or [clause.text]
            parts.extend(wq.Term(field, t, boost=boost)
                         for prefix in dict.fromkeys([clause.text, stems[0]])
                         for t in expand(searcher, field, prefix))
            continue
        tokens = analyse(searcher, field, clause.text)
        if len(tokens) == 1:
            parts.append(wq.Term(field, tokens[0], boost=boost))
        elif tokens:
            parts.append(wq.Phrase(field, tokens, boost=boost))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else union(parts)


def expand(searcher: Searcher, field: str, prefix: str) -> list[str]:
    """The words starting with `prefix` in a field: the MAX_EXPANSION most frequent, so that a
    short prefix cannot turn one query into thousands of terms."""
    reader = searcher.reader()
    words = [w.decode("utf-8") if isinstance(w, bytes) else w for w in reader.expand_prefix(field, prefix)]
    if len(words) > MAX_EXPANSION:
        words = sorted(words, key=lambda w: -reader.doc_frequency(field, w))[:MAX_EXPANSION]
    return words


def union(parts: list[wq.Query]) -> wq.Query:
    """OR queries with a tree of union matchers, which skip blocks that cannot make the top
    hits (Whoosh would otherwise pre-score every match of small segments: measured 1.5x slower)."""
    q = wq.Or(parts)
    q.matcher_type = wq.Or.DEFAULT_MATCHER
    return q


def text_fields(title_only: bool = False) -> list[str]:
    fields = [title_field(lang) for lang in LANGUAGES]
    if not title_only:
        fields += [text_field(lang) for lang in LANGUAGES]
    return fields


def query_languages(text: str) -> set[str]:
    """The language(s) whose stop words the query uses most ('des', 'the', 'los' ...), if any stands out.

    A French word stemmed by English rules can match unrelated English words
    (formations -> format), so the query's own language gets a higher weight.
    """
    words = {w.casefold() for w in text.split()}
    counts = {lang: len(words & STOPWORDS[lang]) for lang in LANGUAGES}
    best = max(counts.values(), default=0)
    leaders = {lang for lang, count in counts.items() if count == best}
    return leaders if best and len(leaders) < len(LANGUAGES) else set()


def text_query(searcher: Searcher, parsed: ParsedQuery, vocabulary: Vocabulary) -> wq.Query | None:
    """OR the query's words and phrases (ranked, never AND-ed into nothing), plus topic matches."""
    fields = text_fields(parsed.title_only)
    boosts = {f: LANGUAGE_HINT_BOOST for f in fields if f.rsplit("_", 1)[1] in query_languages(parsed.free_text)}
    parts = [q for q in (clause_query(searcher, c, fields, boosts) for c in parsed.positive) if q is not None]
    if not parsed.title_only:
        for topic_id in dict.fromkeys(t for _, t in vocabulary.match_labels(parsed.free_text)):
            parts.append(wq.Term("topics", topic_id, boost=TOPIC_BOOST))
        for facet, value in dict.fromkeys(vocabulary.match_hints(parsed.free_text)):
            parts.append(wq.Term(FILTER_FIELDS[facet], value, boost=HINT_BOOST))
    if not parts:
        return None
    # A plain OR sums BM25 scores, so items with more of the words rank higher. (Whoosh's
    # coordination `scale` is not used: its scores change with the collector's optimisations.)
    return union(parts) if len(parts) > 1 else parts[0]


_MATCH_PLACES = {"title": "title", "text": "body", "topics": "topic"}


def make_hit(docnum: int, stored: dict[str, Any], score: float | None, places: dict[str, int],
             words: dict[str, tuple[set[str], set[str]]]) -> Hit:
    item = unpack(stored["data"])
    stems, prefixes = words.get(text_field(item.lang), (set(), set()))
    matched = tuple(place for place, bits in places.items() if bits >> docnum & 1)
    text = snippet(item.text, item.lang, stems, prefixes, chars=SNIPPET_CHARS)
    # Result lists show metadata and the snippet; dropping the full text keeps cached results small.
    light = dataclasses.replace(item, body="", html="", text="")
    return Hit(item=light, score=float(score or 0.0), snippet=text, matched_in=matched)


def query_words(text_q: wq.Query | None) -> dict[str, tuple[set[str], set[str]]]:
    """For each language's text field, the query's terms and prefixes as indexed (title terms included)."""
    words: dict[str, tuple[set[str], set[str]]] = {}
    if text_q is None:
        return words
    for leaf in text_q.leaves() if text_q.is_leaf() is False else [text_q]:
        field = getattr(leaf, "fieldname", "") or ""
        if not field.startswith(("text_", "title_")):
            continue
        stems, prefixes = words.setdefault("text_" + field.split("_", 1)[1], (set(), set()))
        if isinstance(leaf, wq.Prefix):
            prefixes.add(leaf.text)
        elif isinstance(leaf, wq.Phrase):
            stems.update(leaf.words)
        elif isinstance(leaf, wq.Term):
            stems.add(leaf.text.decode() if isinstance(leaf.text, bytes) else leaf.text)
    return words


def match_places(sets: DocSets, text_q: wq.Query | None) -> dict[str, int]:
    """For each place a query can match (title, topic, body), the documents it matches there.

    Built from each word's documents, cached per searcher, so words that come
    back in later queries cost nothing.
    """
    places: dict[str, int] = {}
    if text_q is None:
        return places
    for leaf in text_q.leaves() if not text_q.is_leaf() else [text_q]:
        place = _MATCH_PLACES.get((getattr(leaf, "fieldname", "") or "").split("_")[0])
        if place:
            places[place] = places.get(place, 0) | sets.query(leaf)
    return {place: places[place] for place in ("title", "topic", "body") if place in places}


def any_place(places: dict[str, int]) -> int:
    bits = 0
    for place_bits in places.values():
        bits |= place_bits
    return bits
