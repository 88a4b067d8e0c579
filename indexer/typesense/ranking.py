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
from dataclasses import dataclass

from indexer import feedback

K1, B = 1.2, 0.75  # BM25's usual constants, as kb's Whoosh weighting uses them
# Candidates scored with BM25 (the best by the sum of their words' idf): thirty times the hits asked for, within
# bounds. Their stored words are fetched to be scored, the main cost of a query on long pages. Measured on the
# Digital.gov lookups (depth 10): at least 100 lost 0.055 of success@5; 300 ranked as 1000 did, in 322 ms, not 459.
SCORED = (300, 1000)


def idf(df: int, n: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


@dataclass
class Text:
    """One document as ranking reads it: its words counted, where the query's phrases' words stand, its length."""

    counts: Counter[str]
    length: int
    where: dict[str, list[int]]

    @classmethod
    def of(cls, stems: list[str], length: int, placed: set[str]) -> Text:
        where: dict[str, list[int]] = {}
        for position, word in enumerate(stems):
            if word in placed:
                where.setdefault(word, []).append(position)
        return cls(Counter(stems), length, where)


def bm25(text: Text, query: Mapping[str, float], weights: Mapping[str, float], average: float) -> float:
    """BM25 of one document for weighted query words with their idf."""
    counts = text.counts
    norm = K1 * (1 - B + B * text.length / average)
    return sum(weights.get(w, 0.0) * q * counts[w] * (K1 + 1) / (counts[w] + norm) for w, q in query.items()
               if counts[w])


Phrase = tuple[tuple[str, ...], float, int]  # (words in order, weight, how far apart each may be from the last)


def phrase_score(text: Text, phrases: list[Phrase], weights: Mapping[str, float], average: float) -> float:
    """Words of the query found together in order (a quoted phrase, a hyphenated word, two neighbouring words):
    where a phrase occurs, it adds its weight times the BM25 of its words, as Whoosh scores a phrase."""
    total = 0.0
    for words, weight, slop in phrases:
        if any(w not in text.where for w in words):
            continue
        later = [set(text.where[w]) for w in words[1:]]
        for start in text.where[words[0]]:
            at = start
            for positions in later:
                at = next((at + d for d in range(1, slop + 1) if at + d in positions), -1)
                if at < 0:
                    break
            if at >= 0:
                total += weight * bm25(text, dict.fromkeys(words, 1.0), weights, average)
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
