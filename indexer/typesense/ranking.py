"""kb's ranking over candidates the cluster finds: BM25 computed in kb, not Typesense's token-match order.

Typesense 0.24 ranks by how many query tokens match, typos, proximity and field order, with no term
weighting (measured on CISI: MAP 0.063 at best, against 0.219 for BM25). So the cluster only finds
candidates, one search per query word (each word's document frequency is its `found`); kb then
scores the best of them with BM25 over their analysed text, which the cluster stores (`stems`,
`length`): the same words, weights and saturation as kb's Whoosh ranking by words.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from indexer import feedback
from indexer.typesense.collection import PAGE, quoted
from indexer.typesense.documents import analysed

K1, B = 1.2, 0.75  # BM25's usual constants, as kb's Whoosh weighting uses them
CANDIDATES = 250  # per query word: the documents the cluster returns for it
# Candidates scored with BM25 (the best by the sum of their words' idf): thirty times the hits asked for, within
# bounds. Their stored words are fetched to be scored, the main cost of a query on long pages. Measured on the
# Digital.gov lookups (depth 10): at least 100 lost 0.055 of success@5; 300 ranked as 1000 did, in 322 ms, not 459.
SCORED = (300, 1000)
MULTI = 50  # searches per multi_search request


@dataclass(frozen=True)
class Ranked:
    item_id: str
    score: float


def idf(df: int, n: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


class ClusterRanker:
    """Rank a query's candidates from one collection (or alias) of the cluster with BM25 in kb."""

    def __init__(self, client: Any, collection: str, lang: str = "en"):
        self.client, self.collection = client, collection
        self.documents = client.collections[collection].documents
        self.lang = lang
        stats = self.documents.search({"q": "*", "per_page": 0, "facet_by": "length"})
        self.n = stats["found"]
        lengths = next((f["stats"] for f in stats.get("facet_counts", []) if f["field_name"] == "length"), {})
        self.average = float(lengths.get("avg") or 1.0)

    def rank(self, text: str, depth: int, filter_by: str = "") -> list[Ranked]:
        """The `depth` best candidates for `text`, best first; a long question also ranks with the words of
        its first pass's best items (RM3, as indexer.feedback does for Whoosh), its best item kept first."""
        words = Counter(analysed(text, self.lang))
        if not words:
            return []
        scored = min(max(30 * depth, SCORED[0]), SCORED[1])
        first, texts = self._scored({w: float(c) for w, c in words.items()}, filter_by, scored)
        if not feedback.applies(len(words)) or len(first) < 2:
            return first[:depth]
        model = relevance_model([(r.score, texts[r.item_id][0]) for r in first[:feedback.FEEDBACK_DOCS]])
        if not model:
            return first[:depth]
        total = sum(weight for _, weight in model)
        share = len(words) * (1 - feedback.ORIGINAL_WEIGHT) / feedback.ORIGINAL_WEIGHT
        expanded: Counter[str] = Counter({w: float(c) for w, c in words.items()})
        for word, weight in model:
            expanded[word] += share * weight / total
        second, _ = self._scored(dict(expanded), filter_by, scored)
        top = first[0].item_id
        return ([first[0]] + [r for r in second if r.item_id != top])[:depth]

    def _scored(self, query: dict[str, float], filter_by: str,
                scored: int) -> tuple[list[Ranked], dict[str, tuple[list[str], int]]]:
        """Candidates for the weighted query words, scored with BM25; and the texts they were scored on."""
        words = list(query)
        searches = [{"collection": self.collection, "q": word, "query_by": "stems", "per_page": CANDIDATES,
                     "include_fields": "id", "prefix": False, "num_typos": 0, "drop_tokens_threshold": 0,
                     "typo_tokens_threshold": 0, **({"filter_by": filter_by} if filter_by else {})} for word in words]
        answers = self._multi(searches)
        weights = {word: idf(answer.get("found", 0), self.n) for word, answer in zip(words, answers)}
        prescore: Counter[str] = Counter()
        for word, answer in zip(words, answers):
            for hit in answer.get("hits", []):
                prescore[hit["document"]["id"]] += weights[word] * query[word]
        chosen = [item_id for item_id, _ in prescore.most_common(scored)]
        texts = self._texts(chosen)
        scored = []
        for item_id in chosen:
            stems, length = texts.get(item_id, ([], 0))
            scored.append(Ranked(item_id, bm25(stems, length, query, weights, self.average)))
        scored.sort(key=lambda r: -r.score)
        return scored, texts

    def _multi(self, searches: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Searches sent MULTI at a time (the server's limit_multi_searches is 50 by default)."""
        answers: list[dict[str, Any]] = []
        for start in range(0, len(searches), MULTI):
            answers += self.client.multi_search.perform({"searches": searches[start:start + MULTI]}, {})["results"]
        return answers

    def _texts(self, item_ids: list[str]) -> dict[str, tuple[list[str], int]]:
        found: dict[str, tuple[list[str], int]] = {}
        searches = [{"collection": self.collection, "q": "*", "per_page": PAGE, "include_fields": "id,stems,length",
                     "filter_by": f"id:=[{','.join(quoted(i) for i in item_ids[start:start + PAGE])}]"}
                    for start in range(0, len(item_ids), PAGE)]  # in the request's body: ids make long filters
        if not searches:
            return found
        for answer in self._multi(searches):
            for hit in answer.get("hits", []):
                doc = hit["document"]
                found[doc["id"]] = (doc["stems"].split(), doc["length"])
        return found


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
