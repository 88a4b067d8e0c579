"""kb's ranking of what the cluster finds: BM25 computed in kb, not Typesense's token-match order.

Typesense 0.24 ranks by how many query tokens match, typos, proximity and field order, with no term
weighting (measured on CISI: MAP 0.063 at best, against 0.219 for BM25). So the cluster only finds
which items hold each word (indexer.typesense.table); kb scores the best of them with BM25 over
their analysed text, which the cluster stores (`stems`, `length`): the same words, weights and
saturation as kb's ranking on Whoosh (indexer.typesense.searching puts it together).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping

from indexer import feedback

K1, B = 1.2, 0.75  # BM25's usual constants, as kb's Whoosh weighting uses them
# Candidates scored with BM25 (the best by the sum of their words' idf): thirty times the hits asked for, within
# bounds. Their stored words are fetched to be scored, the main cost of a query on long pages. Measured on the
# Digital.gov lookups (depth 10): at least 100 lost 0.055 of success@5; 300 ranked as 1000 did, in 322 ms, not 459.
SCORED = (300, 1000)


def idf(df: int, n: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def bm25(stems: list[str], length: int, query: Mapping[str, float], weights: Mapping[str, float],
         average: float) -> float:
    """BM25 of one document (its analysed words and length) for weighted query words with their idf."""
    counts = Counter(stems)
    norm = K1 * (1 - B + B * length / average)
    return sum(weights.get(w, 0.0) * q * counts[w] * (K1 + 1) / (counts[w] + norm) for w, q in query.items()
               if counts[w])


Phrase = tuple[tuple[str, ...], float, int]  # (words in order, weight, how far apart each may be from the last)


def phrase_score(stems: list[str], length: int, phrases: list[Phrase], weights: Mapping[str, float],
                 average: float) -> float:
    """Words of the query found together in order (a quoted phrase, a hyphenated word, two neighbouring words):
    where a phrase occurs, it adds its weight times the BM25 of its words, as Whoosh scores a phrase."""
    if not phrases:
        return 0.0
    where: dict[str, set[int]] = {}
    for position, word in enumerate(stems):
        where.setdefault(word, set()).add(position)
    total = 0.0
    for words, weight, slop in phrases:
        for start in where.get(words[0], ()):
            at = start
            for word in words[1:]:
                at = next((at + d for d in range(1, slop + 1) if at + d in where.get(word, ())), -1)
                if at < 0:
                    break
            if at >= 0:
                total += weight * bm25(stems, length, dict.fromkeys(words, 1.0), weights, average)
                break
    return total


def relevance_model(best: list[tuple[float, list[str]]]) -> list[tuple[str, float]]:
    """The FEEDBACK_TERMS words that weigh most in the best items (relevance model 1), as indexer.feedback
    computes them: each item's word frequencies as shares of its length, weighted by its share of the scores."""
    scores = [max(score, 0.0) for score, _ in best]
    if not sum(scores):
        return []
    model: Counter[str] = Counter()
    for (score, stems), weight in zip(best, scores):
        words = [w for w in stems if len(w) > 2 and not w.isdigit()]
        if words:
            for word, count in Counter(words).items():
                model[word] += weight / sum(scores) * count / len(words)
    return model.most_common(feedback.FEEDBACK_TERMS)
