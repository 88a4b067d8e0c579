"""Scores of a few candidate documents, read word by word from the postings' blocks.

Ranking a set of candidates (a long question's pool, a filtered search, the best hundred for the
bonus) through Whoosh's matchers costs Python calls per posting: every word's matcher is told to
skip to each candidate, and steps through its block one posting at a time to get there (a million
calls for a thirty-word question at 100,000 items). Here each word's postings are read as two
arrays, whole (indexer.blockcache: counting the matches read them already, or an earlier pass or
search did, and they are not decoded again) or, for a word nothing counted and a few candidates,
from the blocks that hold them; the candidates are picked out of them, and the word's score worked
out for all its candidates at once with numpy (a Python loop per candidate and word was most of the
time of a two-word search matching 20,000 items at 100,000).

Scores are Whoosh's own: each word's BM25 comes from the searcher's scorer (`whoosh.scoring.bm25`
with its idf and average length), boosts multiply, an Or adds its parts, a phrase adds its words'
scores where they stand together, a constant score (a prefix's items, a type the query names) adds
itself, two words near each other (a short query's bonus) add their scores where their positions
say so, a best-of (a topic's labels) keeps its best part's score. Any other part of a query is
scored by its Whoosh matcher over the same candidates. Sums may be added in another order than
Whoosh's tree of matchers, so a score may differ from Whoosh's in its last bits, never more.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from typing import Any

import numpy as np
from whoosh import query as wq
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.util.numeric import byte_to_length
from whoosh.scoring import BM25FScorer, bm25
from whoosh.searching import Searcher

from indexer.bitsets import DocSets, docsets, members
from indexer.blockcache import block_at, block_map, joined, kept, leaf_postings, postings, segment_name, whole
from indexer.docsquery import DocsQuery, NearBonus
from indexer.phrases import adjacent


class OutOfTime(Exception):
    """The deadline passed: the scores added so far are what there is."""


BYTE_LENGTH = np.array([byte_to_length(byte) for byte in range(256)], dtype=np.float64)


class Scores:
    """The scores of a segment's candidates, by position in its list of candidates, and which of them
    any part of the query reached (those are the documents it matches)."""

    def __init__(self, count: int):
        self.values = np.zeros(count, dtype=np.float64)
        self.reached = np.zeros(count, dtype=np.bool_)

    def add(self, at: Any, score: Any) -> None:
        """Add `score` at positions `at` (each position once)."""
        self.values[at] += score
        self.reached[at] = True


def top(found: dict[int, float], depth: int) -> list[tuple[int, float]]:
    """The best `depth` (docnum, score) pairs of `found`, ties to the lower number."""
    docnums = np.fromiter(found.keys(), dtype=np.int64, count=len(found))
    scores = np.fromiter(found.values(), dtype=np.float64, count=len(found))
    order = np.lexsort((docnums, -scores))[:depth]
    return list(zip(docnums[order].tolist(), scores[order].tolist()))


def scored(searcher: Searcher, ranking: wq.Query, chosen: int, deadline: float) -> tuple[dict[int, float], bool]:
    """The score of each document of `chosen` that `ranking` matches, by docnum; and whether all was
    scored in time (if not, the segments scored by then)."""
    found: dict[int, float] = {}
    complete = True
    sets = docsets(searcher)
    for segment, offset in searcher.leaf_searchers():
        size = segment.doc_count_all()
        bits = (chosen >> offset) & ((1 << size) - 1)
        local = members(bits)
        if not local:
            continue
        scores = Scores(len(local))
        try:
            _add(scores, Segment(segment, offset, bits, local, deadline, sets), ranking, 1.0)
        except OutOfTime:
            complete = False
        at = np.flatnonzero(scores.reached)
        found.update(zip((np.asarray(local)[at] + offset).tolist(), scores.values[at].tolist()))
        if not complete:
            break
    return found, complete


class Segment:
    """One segment's searcher and its candidates (sorted local numbers)."""

    def __init__(self, searcher: Searcher, offset: int, bits: int, local: list[int], deadline: float,
                 sets: DocSets):
        self.searcher = searcher
        self.sets = sets  # the whole index's (a phrase's documents are counted there, once per searcher)
        self.reader = searcher.reader()
        self.offset = offset
        self.bits = bits  # the candidates as a bitset of local numbers
        self.local = local
        self.numbers = np.asarray(local, dtype=np.int64)
        # a document's position among the candidates, or -1, by its local number
        self.places = np.full(searcher.doc_count_all(), -1, dtype=np.int64)
        self.places[self.numbers] = np.arange(len(local))
        self.name = segment_name(getattr(getattr(getattr(searcher, "_ix", None), "storage", None), "folder", None),
                                 self.reader)
        self.deadline = deadline
        self.columns: dict[str, np.ndarray | None] = {}
        self.positions: dict = {}  # the positions read for the neighbouring-words bonus (indexer.phrases)

    def length_bytes(self, field_name: str) -> np.ndarray | None:
        """The segment's column of lengths in a field, one byte per document (Whoosh's approximation,
        decoded by BYTE_LENGTH), read whole: a read per candidate cost more than its score. None when
        the reader keeps lengths some other way."""
        if field_name not in self.columns:
            raw = None
            perdoc = getattr(self.reader, "_perdoc", None)
            try:
                column = perdoc._cached_reader(_lenfield(field_name), LENGTHS_COLUMN)
                if column is not None:
                    raw = column._dbfile.get(column._basepos, column._count)
                    raw += bytes(max(0, self.reader.doc_count_all() - len(raw)))
            except AttributeError:
                raw = None
            self.columns[field_name] = None if raw is None else np.frombuffer(raw, dtype=np.uint8)
        return self.columns[field_name]

    def scorer(self, field_name: str, text: bytes) -> Any:
        """The searcher's scorer of a word, None when this segment does not hold it. Kept for the
        searcher (its statistics are the whole index's): a long question asks for each of its sixty
        words and fields in every segment and pass, four lookups in Whoosh's tables each."""
        key = (self.name, field_name, text)
        found = self.sets.scorers.get(key) if self.name is not None else None
        if found is None:
            held = (field_name, text) in self.reader
            found = self.searcher.weighting.scorer(self.searcher, field_name, text) if held else False
            if self.name is not None:
                self.sets.scorers.put(key, found)
        return found or None

    def length(self, field_name: str, docnum: int) -> int:
        """A document's length in a field, as the searcher gives it to Whoosh's scorer (for a reader
        without whoosh3's column of lengths: see length_bytes)."""
        return self.searcher.doc_field_length(docnum, field_name, 1)


def _add(scores: Scores, segment: Segment, query: wq.Query, boost: float) -> None:
    """Add `query`'s scores (times `boost`) of the segment's candidates to `scores`."""
    if time.perf_counter() > segment.deadline:
        raise OutOfTime
    if type(query) in (wq.Or, wq.DefaultOr) and not query.scale and not query.minmatch:
        parts = query.subqueries
        # Whoosh applies an Or's boost only when it has several parts
        inner = boost * query.boost if len(parts) > 1 else boost
        for part in parts:
            _add(scores, segment, part, inner)
    elif type(query) is wq.Term:
        _add_term(scores, segment, query, boost)
    elif type(query) is wq.Phrase and not query.degrade:
        _add_phrase(scores, segment, query, boost)
    elif type(query) is NearBonus and len(query.words) == 2:
        _add_near(scores, segment, query, boost)
    elif type(query) is DocsQuery:
        _add_constant(scores, segment, query.bits, query.score * query.boost * boost)
    elif type(query) is wq.DisjunctionMax and query.subqueries:
        _add_best(scores, segment, query, boost)
    elif type(query) is wq.ConstantScoreQuery:
        # (a type or country the query names): Whoosh's matcher lists every item of the value first
        _add_constant(scores, segment, segment.sets.query(query.child), query.score * boost)
    else:
        _add_matched(scores, segment, query, boost)


def _add_best(scores: Scores, segment: Segment, query: wq.DisjunctionMax, boost: float) -> None:
    """A best-of (a topic's labels and synonyms, each a phrase in every language): each part scored
    as any query is here, the best part's score in the candidate itself kept. Whoosh's matcher keeps
    the best too (with no tiebreak, and the boost only when there are several parts), but of its parts
    wherever each stands, often on a later item (its `score` does not check that they stand on the
    same one); and through its span matchers a topic named in a two-word search cost 0.1-0.2 s per
    pass at 100,000 items."""
    parts = query.subqueries
    inner = boost * query.boost if len(parts) > 1 else boost
    best = Scores(len(scores.values))
    for part in parts:
        one = Scores(len(scores.values))
        _add(one, segment, part, inner)
        better = one.reached & (~best.reached | (one.values > best.values))
        best.values[better] = one.values[better]
        best.reached |= one.reached
    at = np.flatnonzero(best.reached)
    if len(at):
        scores.add(at, best.values[at])


def _add_constant(scores: Scores, segment: Segment, bits: int, score: float) -> None:
    """Add one score to the candidates among the documents of `bits` (numbered over the whole index)."""
    held = members((bits >> segment.offset) & segment.bits)
    if held:
        scores.add(segment.places[held], score)


def _add_term(scores: Scores, segment: Segment, term: wq.Term, boost: float) -> None:
    field_name = term.fieldname
    schema = segment.searcher.schema
    if field_name not in schema:
        return
    try:
        text = schema[field_name].to_bytes(term.text)
    except ValueError:
        return
    scorer = segment.scorer(field_name, text)
    if scorer is None:
        return
    if type(scorer) is not BM25FScorer:  # a field without lengths: Whoosh's matcher scores it
        _add_matched(scores, segment, term, boost)
        return
    boost *= term.boost
    at, tf = _postings(segment, field_name, text)
    if not len(at):
        return
    column = segment.length_bytes(field_name)
    if column is None:
        fl = np.array([segment.length(field_name, docnum) for docnum in segment.numbers[at].tolist()],
                      dtype=np.float64)
    else:
        fl = BYTE_LENGTH[column[segment.numbers[at]]]
    # whoosh.scoring.bm25, over every candidate at once, its operations in the same order
    idf, avgfl, b, k1 = scorer.idf, scorer.avgfl, scorer.B, scorer.K1
    score = idf * ((tf * (k1 + 1)) / (tf + k1 * ((1 - b) + b * fl / avgfl)))
    scores.add(at, score * boost if boost != 1.0 else score)


def _add_phrase(scores: Scores, segment: Segment, phrase: wq.Phrase, boost: float) -> None:
    """A phrase scores as Whoosh's phrase matcher does, the sum of its words' scores times its boost,
    in the documents where its words stand together. Counting a quoted phrase found those already
    (indexer.bitsets): stepping Whoosh's matcher through their positions again to score them cost 0.2 s
    for two common words at 100,000 items. A phrase not counted (the bonus of a hyphenated word's
    parts) is scored by its matcher over the candidates alone, cheaper than finding all its documents."""
    counted = segment.sets.counted_phrase(phrase.fieldname, phrase.words, phrase.slop)
    if counted is None:
        _add_matched(scores, segment, phrase, boost)
        return
    _add_where(scores, segment, (counted >> segment.offset) & segment.bits, phrase.fieldname, phrase.words,
               boost * phrase.boost)


def _add_near(scores: Scores, segment: Segment, near: NearBonus, boost: float) -> None:
    """Two words near each other in order (a short query's bonus, indexer.matching.pairs) score as Whoosh's
    phrase matcher with a slop does: the sum of the words' scores times the bonus's boost, where the second
    stands 1 to `slop` positions after the first. Where they do is read from the candidates' positions
    (indexer.phrases), without Whoosh's span matchers and their objects per position: 5-9 ms less of a
    two- or three-word search of 60-100 ms at 100,000 items."""
    held = adjacent(segment.sets, near.fieldname, list(near.words), segment.bits << segment.offset, near.slop,
                    segment.positions)
    if held is None:
        _add_matched(scores, segment, near, boost)
        return
    _add_where(scores, segment, (held >> segment.offset) & segment.bits, near.fieldname, near.words,
               boost * near.boost)


def _add_where(scores: Scores, segment: Segment, held: int, field_name: str, words: list[str], boost: float) -> None:
    """Add the words' scores times `boost` to the candidates of `held` (local numbers)."""
    if not held:
        return
    found = Scores(len(segment.local))
    for word in words:
        _add_term(found, segment, wq.Term(field_name, word), 1.0)
    at = segment.places[members(held)]
    scores.add(at, found.values[at] * boost)


def _postings(segment: Segment, field_name: str, text: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The positions among the candidates of those holding a word, and the word's weight in each.

    A word kept whole (indexer.blockcache) is read from there. Else, when its candidates lie in
    fewer than half of its blocks (a long question's feedback words over a small pool), only those
    blocks are read; when in more, the word is read whole and kept."""
    # (candidates are live documents: a segment's deletions filter would step one posting at a time)
    found = kept(segment.name, field_name, text)
    if found is None:
        matcher = leaf_postings(segment.reader, field_name, text)
        if not hasattr(matcher, "_read_data"):  # a short list kept in the term's own record
            return _listed(segment, matcher)
        where = block_map(segment.name, field_name, text, matcher) if segment.name is not None else None
        if where is None:
            found = whole(matcher)  # a segment without a name: nothing is kept
        else:
            lasts = np.frombuffer(where[0], dtype=np.uint32)
            wanted = np.unique(np.searchsorted(lasts, segment.numbers))
            wanted = wanted[wanted < len(lasts)].tolist()
            if 2 * len(wanted) < len(lasts):
                found = joined([block_at(segment.name, field_name, text, matcher, where, n) for n in wanted])
            else:
                found = postings(segment.reader, segment.name, field_name, text)
    ids, weights = found
    at = segment.places[ids]
    held = at >= 0
    return at[held], weights[held].astype(np.float64)


def _listed(segment: Segment, matcher: Any) -> tuple[np.ndarray, np.ndarray]:
    """_postings of a word whose postings are listed in its own record."""
    local = segment.local
    ids, weights = [], []
    while matcher.is_active():
        at = bisect_left(local, matcher.id())
        if at < len(local) and local[at] == matcher.id():
            ids.append(matcher.id())
            weights.append(matcher.weight())
        matcher.next()
    return segment.places[np.asarray(ids, dtype=np.int64)], np.asarray(weights, dtype=np.float64)


def _add_matched(scores: Scores, segment: Segment, query: wq.Query, boost: float) -> None:
    """Scores from the query's own Whoosh matcher, moved from candidate to candidate."""
    matcher = query.matcher(segment.searcher, segment.searcher.context())
    for at, docnum in enumerate(segment.local):
        if not matcher.is_active():
            break
        if matcher.id() < docnum:
            matcher.skip_to(docnum)
            if not matcher.is_active():
                break
        if matcher.id() == docnum:
            scores.add(at, matcher.score() * boost)
