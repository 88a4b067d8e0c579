"""Ranking one group of a search page (the matches, or the partial matches): by BM25 in Whoosh, raised
by the names the query gives, by feedback for long questions and by meaning when it is on.

What is scored is bounded (indexer.docsquery, indexer.termscores): a group is ranked by scoring its
own documents, and the partial matches of a long question from the pool whose matched words weigh
most.
"""

from __future__ import annotations

import time
from math import log
from typing import Any

from whoosh import query as wq
from whoosh.collectors import TimeLimit, TimeLimitCollector
from whoosh.searching import Searcher

from indexer import feedback, termscores
from indexer.bitsets import DocSets, as_filter, bitset, docsets, members, reaching, tally
from indexer.docsquery import Candidates, candidates
from indexer.matching import Plan, with_hints
from indexer.meaning import RERANK_DEPTH
from indexer.schema import unpack
from indexer.titles import title_words, titled_first
from kb.notes import Note

# The partial matches of a question of POOL_UNITS units or more (tens of thousands of items at 100k)
# are ranked from the POOL whose matched units weigh the most (more for deeper pages; see
# most_matched): walking every posting of twenty words took seconds.
POOL_UNITS = 4
POOL = 2000
POOL_PER_HIT = 4
# The neighbouring-words bonus of a short query (matching.pairs) is added to this many of its best.
BONUS_DEPTH = 100


def ranked(searcher: Searcher, query: Plan, group: int, sort: str, first: int, last: int,
           time_limit: float, notes: list[str], rerank: Any = None) -> list[tuple[int, float]]:
    """Positions `first` to `last` of a group of documents, ranked by relevance or by date.

    The group's own documents are scored, word by word from the postings' blocks
    (indexer.termscores). Whoosh's walk over every posting of the query's words, skipping the blocks
    that cannot make the page, lost even for one common word once its blocks are kept between
    searches, and more so after an incremental run leaves deleted documents (median of the 91
    queries of the mix at 100,000 items: 24 ms walked, 17-19 ms scored).

    The best RERANK_DEPTH by BM25 are ordered again: raised by the names the
    query gives (matching.with_hints), then, with `rerank`, by the fusion of
    BM25 and meaning; what lies beyond keeps BM25's order.
    """
    ranking = query.ranking
    sets = docsets(searcher)
    if sort != "relevance" or ranking is None:
        oldest = sort == "oldest"
        return [(d, 0.0) for d in sets.page_by_date(group, first, last - first, oldest=oldest)]
    long_question = feedback.applies(len(query.units))
    depth = max(last, RERANK_DEPTH) if rerank or query.hints or long_question else last  # see below
    deadline = time.perf_counter() + time_limit
    size = max(POOL, POOL_PER_HIT * depth)
    pooled = len(query.units) >= POOL_UNITS and group.bit_count() > size
    weighted = unit_weights(query.units, sets.size) if pooled else []
    scored = most_matched(group, weighted, size) if pooled else group
    first_pass = max(depth, BONUS_DEPTH) if query.bonuses else depth
    first_scores = scores_of(searcher, candidates(ranking, scored), group, deadline, time_limit, notes)
    pairs = termscores.top(first_scores, first_pass)
    if query.bonuses and pairs:
        pairs = with_bonuses(searcher, ranking, query.bonuses, pairs, group, time_limit, notes)
    if long_question and pairs:
        # Feedback from the first pass (indexer.feedback); it ranks again within the time left.
        words = feedback.expansion(searcher, pairs, len(query.units))
        if words is not None and time.perf_counter() < deadline:
            again = scored
            if pooled:  # the feedback words weigh in the pool too: they bring items of their own
                again = most_matched(group, weighted + feedback_weights(sets, words), size)
            both = expanded(searcher, ranking, words, first_scores, scored & group, again & group, deadline,
                            time_limit, notes)
            pairs = feedback.keep_first(pairs, termscores.top(both, depth))
    # Only the first RERANK_DEPTH are ordered again, whatever the page size, so that a page of
    # 1,000 (make eval) and pages of 10 show the same order.
    head = with_hints(pairs[:RERANK_DEPTH], query.hints)
    top = head[0] if head else None
    if rerank and len(head) > 1:
        ids = {docnum: searcher.stored_fields(docnum)["id"] for docnum, _ in head}
        docnum_of = {item_id: docnum for docnum, item_id in ids.items()}
        fused = rerank([(ids[docnum], score) for docnum, score in head])
        head = [(docnum_of[i], score) for i, score in fused if i in docnum_of]
    pairs = titled_first(query, top, head, lambda docnums: titles(searcher, docnums)) + pairs[RERANK_DEPTH:]
    return pairs[first:last]


def titles(searcher: Searcher, docnums: list[int]) -> list[tuple[str, set[str]]]:
    """Each document's title's analysis language and words, as indexed (indexer.titles)."""
    return [title_words(unpack(searcher.stored_fields(docnum)["data"])) for docnum in docnums]


def idf(df: int, documents: int) -> float:
    return log(1 + (documents - df + 0.5) / (df + 0.5))


def with_bonuses(searcher: Searcher, ranking: wq.Query, bonuses: list[wq.Query], pairs: list[tuple[int, float]],
                 group: int, time_limit: float, notes: list[str]) -> list[tuple[int, float]]:
    """The first BONUS_DEPTH (docnum, score) pairs scored again with the bonuses, the rest as they were.

    A bonus only adds to a score, so what lies beyond still ranks below them. Finding word pairs
    near each other reads positions: done for every item holding both words, it was most of the
    time of a two- or three-word search at 100,000 items.
    """
    head, rest = pairs[:BONUS_DEPTH], pairs[BONUS_DEPTH:]
    if not head:
        return pairs
    both = wq.Or([ranking, *bonuses])
    both.matcher_type = wq.Or.DEFAULT_MATCHER
    chosen = bitset((docnum for docnum, _ in head), docsets(searcher).size)
    again = top_scores(searcher, candidates(both, chosen), group, len(head), time_limit, notes)
    return again + rest if len(again) == len(head) else pairs


def most_matched(group: int, weighted: list[tuple[int, float]], size: int) -> int:
    """The documents of a group whose matched words weigh the most, at least `size` of them (the
    whole group when it is smaller): the pool a long question's pages are ranked from.

    `weighted` holds each word's (or unit's) documents and its idf times its boost. BM25 scores an
    item roughly by the idf of the words it holds (their repetitions add at most about as much
    again), so the items it ranks first are among those whose words weigh most, and a rare word
    counts for several common ones. Weights are counted in halves.
    """
    digits = tally([(bits, max(1, round(2 * weight))) for bits, weight in weighted if bits])
    low, high = 1, sum(max(1, round(2 * weight)) for bits, weight in weighted if bits)
    best = group
    while low <= high:  # the highest threshold that leaves `size` documents
        middle = (low + high) // 2
        pool = group & reaching(digits, middle)
        if pool.bit_count() >= size:
            best, low = pool, middle + 1
        else:
            high = middle - 1
    return best


def unit_weights(units: list, documents: int) -> list[tuple[int, float]]:
    return [(unit.docs, idf(unit.docs.bit_count(), documents)) for unit in units]


def feedback_weights(sets: DocSets, again: wq.Query) -> list[tuple[int, float]]:
    """The words feedback added to a ranking query (indexer.feedback), weighted as units are."""
    weighted = []
    for term in again.leaves():
        if isinstance(term, wq.Term) and term.boost != 1.0:
            bits = sets.query(term)
            weighted.append((bits, idf(bits.bit_count(), sets.size) * term.boost))
    return weighted


def expanded(searcher: Searcher, ranking: wq.Query, words: wq.Query, first: dict[int, float], scored: int,
             again: int, deadline: float, time_limit: float, notes: list[str]) -> dict[int, float]:
    """The scores of the documents of `again` for the ranking query and the feedback words, as if
    ranked by both at once, when `first` holds the ranking query's scores of the documents of `scored`:
    only the words, and the query over the documents it did not score, remain to read (scoring the
    question's words a second time was a tenth of a long question's time at 100,000 items)."""
    both = {docnum: first[docnum] for docnum in members(again & scored) if docnum in first}
    fresh = again & ~scored
    if fresh:
        both.update(scores_of(searcher, candidates(ranking, fresh), fresh, deadline, time_limit, notes))
    for docnum, score in scores_of(searcher, candidates(words, again), again, deadline, time_limit, notes).items():
        both[docnum] = both.get(docnum, 0.0) + score
    return both


def top_scores(searcher: Searcher, ranking: wq.Query, group: int, depth: int, time_limit: float,
               notes: list[str]) -> list[tuple[int, float]]:
    """The best `depth` (docnum, score) pairs of a group for a ranking query, within the time limit."""
    found = scores_of(searcher, ranking, group, time.perf_counter() + time_limit, time_limit, notes)
    return termscores.top(found, depth)


def scores_of(searcher: Searcher, ranking: wq.Query, group: int, deadline: float, time_limit: float,
              notes: list[str]) -> dict[int, float]:
    """The scores of the documents of a group that a ranking query matches, by docnum, as many as
    were scored by the deadline.

    A query bounded to candidates (indexer.docsquery.candidates) is scored word by word from the
    postings' blocks (indexer.termscores); any other walks Whoosh's matchers."""
    if isinstance(ranking, Candidates):
        found, complete = termscores.scored(searcher, ranking.a, ranking.b.bits & group, deadline)
        if not complete:
            out_of_time(time_limit, notes)
        return found
    collector = TimeLimitCollector(searcher.collector(limit=None, filter=as_filter(group, docsets(searcher).size)),
                                   timelimit=max(0.0, deadline - time.perf_counter()))
    try:
        searcher.search_with_collector(ranking, collector)
    except TimeLimit:
        out_of_time(time_limit, notes)
    return {hit.docnum: hit.score for hit in collector.results()}


def out_of_time(time_limit: float, notes: list[str]) -> None:
    note = Note("The search took longer than %(seconds)s s; the best results found by then are shown.",
                seconds=f"{time_limit:g}")
    if note not in notes:
        notes.append(note)
