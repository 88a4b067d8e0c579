"""Long questions ranked with the words of their best answers too (pseudo-relevance feedback, RM3).

A member who pastes a paragraph ("what studies compare how students and faculty
use the library ...") writes few of the words the relevant items use. The items
the first pass ranks best are probably on the subject, so their most telling
words join the query with a modest weight, and the query runs again. Measured
on CISI (76 long questions): MAP and nDCG@10 rise (see the README); a short
lookup ("paper prototype mobile") is not expanded, because feedback pulls it
toward the subject's other pages and away from the one page it names.

Only the ranking changes: which items match, and the totals, stay the words'.
The first pass's best item stays first.
"""

from __future__ import annotations

import hashlib
from array import array
from collections import Counter

from whoosh import query as wq
from whoosh.searching import Searcher

from indexer.lru import LRU
from indexer.schema import index_words, text_field, unpack

# A query is long enough for feedback from this many significant words (a known-item lookup
# has rarely more than 9; a pasted question or paragraph has 15 to 100).
FEEDBACK_WORDS = 12
# The best items of the first pass that give words. RM3's published range is 3 to 10; on CISI 5 gave
# MAP 0.252 against 0.249 with 10 (by words; 0.254 either way with meaning), at half the reading of
# items (15 ms of a long question's 55 at 100,000 items).
FEEDBACK_DOCS = 5
FEEDBACK_TERMS = 10  # the words they give
ORIGINAL_WEIGHT = 0.5  # the original query's share of the expanded query (RM3's lambda)
# Only the start of a long item gives words: its subject is said early, and the cost stays bounded.
FEEDBACK_CHARS = 20_000
# Each item's word counts as feedback reads them, kept under a hash of the item's stored bytes (the same
# bytes give the same words, in any segment or generation): the items that answer long questions best
# come back in the next ones (520 distinct items in 922 read, 182 questions at 100,000 items), and
# reading one costs 2-3 ms. Kept whole, not only an item's commonest words: the ten feedback words
# changed for one question in five when each item kept its 100 commonest. About 5 KB an item (5 MB in all).
ITEMS = LRU(1_000)


def applies(units: int) -> bool:
    return units >= FEEDBACK_WORDS


def expansion(searcher: Searcher, best: list[tuple[int, float]], units: int) -> wq.Query | None:
    """The feedback words of the `best` (docnum, score) pairs, weighted, to add to the ranking query
    of a question of `units` words; or None."""
    weights = feedback_words(searcher, best[:FEEDBACK_DOCS])
    if not weights:
        return None
    total = sum(weight for _, weight in weights)
    # The original query counts as `units` words of weight 1; the feedback words share as much
    # again times (1 - lambda) / lambda, in proportion to their weight.
    share = units * (1 - ORIGINAL_WEIGHT) / ORIGINAL_WEIGHT
    terms = [wq.Term(field_name, word, boost=share * weight / total) for (field_name, word), weight in weights]
    words = wq.Or(terms)
    words.matcher_type = wq.Or.DEFAULT_MATCHER
    return words


def feedback_words(searcher: Searcher, best: list[tuple[int, float]]) -> list[tuple[tuple[str, str], float]]:
    """The FEEDBACK_TERMS words that weigh most in the best items: each item's word frequencies,
    as shares of its length, weighted by the item's share of the scores (relevance model 1)."""
    scores = [max(score, 0.0) for _, score in best]
    if len(best) < 2 or not sum(scores):
        return []
    model: Counter[tuple[str, str]] = Counter()
    for (docnum, _), score in zip(best, scores):
        field_name, words, counts, length = item_words(searcher.stored_fields(docnum)["data"])
        share = score / sum(scores)
        for word, count in zip(words.split(" ") if words else (), counts):
            model[(field_name, word)] += share * count / length
    return model.most_common(FEEDBACK_TERMS)


def item_words(data: bytes) -> tuple[str, str, array, int]:
    """An item's (stored as `data`) text field, its distinct words joined by spaces, their counts, and
    the number of words: of its title and the start of its text, as indexed, less short words and numbers."""
    key = hashlib.blake2b(data, digest_size=16).digest()
    found = ITEMS.get(key)
    if found is None:
        item = unpack(data)
        field_name = text_field(item.lang)
        words = [w for w in index_words(field_name.rpartition("_")[2], f"{item.title}\n{item.text}"[:FEEDBACK_CHARS])
                 if len(w) > 2 and not w.isdigit()]
        counts = Counter(words)
        found = (field_name, " ".join(counts), array("I", counts.values()), len(words))
        ITEMS.put(key, found)
    return found


def keep_first(first: list[tuple[int, float]], second: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """The second pass's order, with the first pass's best item first."""
    if not first or not second:
        return second or first
    top = first[0][0]
    rest = [pair for pair in second if pair[0] != top]
    return [(top, max(second[0][1], first[0][1]))] + rest
