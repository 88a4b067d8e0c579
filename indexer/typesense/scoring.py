"""How a search page on the cluster ranks its matches: BM25 in kb, with Whoosh's boosts.

The words, phrases and weights are those indexer.matching gives Whoosh's ranking query: each unit's
words (raised in the query's language), a hyphenated word also as a phrase, neighbouring words of a
short query as pairs, a little for the other labels of a topic the query names, more for the items
tagged with it, the type, kind and country hints; a long question is ranked again with feedback
from its first pass (indexer.feedback), its best item kept first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from indexer import feedback
from indexer.bitsets import members
from indexer.matching import (
    LANGUAGE_HINT_BOOST,
    PAIR_BONUS,
    PAIR_SLOP,
    PAIR_WORDS,
    PHRASE_BONUS,
    SYNONYM_BOOST,
    TOPIC_BOOST,
    Plan,
    query_languages,
    significant,
    with_hints,
)
from indexer.meaning import RERANK_DEPTH
from indexer.titles import title_words, titled_first
from indexer.typesense.documents import analysed
from indexer.typesense.ranking import B, K1, SCORED, Phrase, Text, bm25, idf, phrase_score, relevance_model
from indexer.typesense.table import ClusterSets, Finder, analysis_language
from kb.query import Clause, ParsedQuery


class Ranking:
    """The ranking half of indexer.typesense.searching.Page."""

    sets: ClusterSets
    finder: Finder
    parsed: ParsedQuery
    text: str
    corrections: dict[str, str]
    alternatives: list[list[str]]
    labels: list[tuple[str, str]]

    def documents(self, item_ids: list[str], fields: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    def items(self, item_ids: list[str]) -> dict[str, Any]:
        raise NotImplementedError

    def titles(self, docnums: list[int]) -> list[tuple[str, set[str]]]:
        """Each document's title's analysis language and words, as indexed (indexer.titles)."""
        items = self.items([self.sets.ids[d] for d in docnums])
        return [title_words(items[self.sets.ids[docnum]]) for docnum in docnums]

    def ranked(self, plan: Plan, group: int, last: int) -> list[tuple[int, float]]:
        """The group's documents best first, down to `last`: BM25 over their stored stems, computed in kb."""
        n = self.sets.size
        depth = max(last, RERANK_DEPTH)
        prescore: Counter[int] = Counter()
        for unit in plan.units:  # candidates: the documents matching the rarest units, most of them
            weight = idf((unit.docs & self.sets.all).bit_count(), n)
            for docnum in members(unit.docs & group):
                prescore[docnum] += weight
        scored = min(max(30 * depth, SCORED[0]), SCORED[1])
        candidates = [docnum for docnum, _ in prescore.most_common(scored)]
        languages = query_languages(self.parsed.free_text)
        queries, phrases, neighbours = self.query_words()
        # the other labels of a topic the query names: each a phrase (a word alone is a phrase of one)
        synonyms = {lang: [[tuple(words) for words in (analysed(label, lang) for label in group) if words]
                           for group in self.alternatives] for lang in queries}
        placed = {w for found in (phrases, neighbours) for group in found.values() for words, _, _ in group
                  for w in words} | {w for groups in synonyms.values() for group in groups for words in group
                                     for w in words}
        stems: dict[str, list[str]] = {}
        texts: dict[str, tuple[Text, str]] = {}
        for doc in self.documents([self.sets.ids[d] for d in candidates], "id,stems,length,lang"):
            stems[doc["id"]] = doc["stems"].split()
            texts[doc["id"]] = (Text.of(stems[doc["id"]], doc["length"], placed), analysis_language(doc["lang"]))
        empty = (Text(Counter(), 0, {}), "en")
        weights = {w: idf(df, n) for w, df in self.finder.frequencies(
            [w for words in [*queries.values(), *(c for groups in synonyms.values() for group in groups for c in group)]
             for w in words]).items()}
        averages = self.sets.averages
        bonus = self.boosts()

        def score_all(queries: dict[str, Counter[str]]) -> list[tuple[int, float]]:
            pairs = []
            for docnum in candidates:
                text, lang = texts.get(self.sets.ids[docnum], empty)
                average = averages.get(lang, 1.0)
                score = bm25(text, queries.get(lang, Counter()), weights, average)
                score += phrase_score(text, phrases.get(lang, []), weights, average)
                score *= LANGUAGE_HINT_BOOST if lang in languages else 1.0
                score += phrase_score(text, neighbours.get(lang, []), weights, average)
                # each topic named: the best of its other labels (Whoosh's DisjunctionMax)
                score += SYNONYM_BOOST * sum(max((phrase_score(text, [(words, 1.0, 1)], weights, average)
                                                  for words in group), default=0.0) for group in synonyms.get(lang, []))
                pairs.append((docnum, score + bonus(docnum)))
            pairs.sort(key=lambda pair: (-pair[1], pair[0]))
            return with_hints(pairs[:RERANK_DEPTH], plan.hints) + pairs[RERANK_DEPTH:]

        pairs = score_all(queries)
        if feedback.applies(len(plan.units)) and len(pairs) > 1:
            best = [(score, stems.get(self.sets.ids[d], [])) for d, score in pairs[:feedback.FEEDBACK_DOCS]]
            model = relevance_model(best)
            if model:
                total = sum(weight for _, weight in model)
                share = (1 - feedback.ORIGINAL_WEIGHT) / feedback.ORIGINAL_WEIGHT
                expanded = {}
                for lang, words in queries.items():
                    more = Counter({w: float(c) for w, c in words.items()})
                    for word, weight in model:
                        more[word] += len(words) * share * weight / total
                    expanded[lang] = more
                weights.update({w: idf(df, n) for w, df in self.finder.frequencies(
                    [w for w, _ in model if w not in weights]).items()})
                top = pairs[0]
                pairs = [top] + [pair for pair in score_all(expanded) if pair[0] != top[0]]
        head = titled_first(plan, pairs[0] if pairs else None, pairs[:RERANK_DEPTH], self.titles)
        pairs = head + pairs[RERANK_DEPTH:]
        rest = members(group & ~self.sets.bits(self.sets.ids[d] for d in candidates)) if len(pairs) < last else []
        return pairs + [(docnum, 0.0) for docnum in rest]

    def query_words(self) -> tuple[dict[str, Counter[str]], dict[str, list[Phrase]], dict[str, list[Phrase]]]:
        """For each language, the weighted words and the phrases that rank, as indexer.matching ranks them on
        Whoosh: each unit's words (a hyphenated word as its parts, each a share, and as a phrase with a bonus;
        a quoted phrase as a phrase), its spelling when no item has it, and neighbouring words of a short query."""
        languages = query_languages(self.parsed.free_text)
        clauses = [c for c in self.parsed.positive if significant(c, languages)] or list(self.parsed.positive)
        # neighbouring words are looked for as corrected (a misspelt word is in no item)
        words = [self.corrections.get(c.text, c.text) for c in clauses if c.kind == "word"]
        # the spelling of a unit no item has ranks too (not that of a stop word: it is no unit)
        clauses += [Clause("word", self.corrections[c.text]) for c in clauses if c.text in self.corrections]
        queries: dict[str, Counter[str]] = {}
        phrases: dict[str, list[Phrase]] = {}
        pairs: dict[str, list[Phrase]] = {}  # not raised by the query's language, as on Whoosh
        for lang in self.sets.languages():
            terms, together = queries.setdefault(lang, Counter()), phrases.setdefault(lang, [])
            for clause in clauses:
                tokens = analysed(clause.text, lang)
                if clause.kind == "phrase" and len(tokens) > 1:
                    together.append((tuple(tokens), 1.0, 1))
                elif len(tokens) > 1:
                    together.append((tuple(tokens), PHRASE_BONUS, 1))
                    for token in tokens:
                        terms[token] += 1 / len(tokens)
                else:
                    for token in tokens:
                        terms[token] += 1
            if len(words) <= PAIR_WORDS:
                for first, second in zip(words, words[1:]):
                    pair = analysed(f"{first} {second}", lang)
                    if len(pair) == 2:
                        pairs.setdefault(lang, []).append((tuple(pair), PAIR_BONUS, PAIR_SLOP))
        return queries, phrases, pairs

    def boosts(self) -> Callable[[int], float]:
        """What the topics the query names add to an item tagged with them: as Whoosh scores the term of each
        label found (weighted TOPIC_BOOST) in the item's `topics` field, whose length is its number of topics."""
        counts, average = self.sets.topic_counts
        terms = []
        for _, topic in self.labels:  # a topic named twice (two of its labels) counts twice, as on Whoosh
            docs = self.sets.value("topics", topic)
            terms.append((docs, TOPIC_BOOST * idf(docs.bit_count(), self.sets.size)))

        def bonus(docnum: int) -> float:
            norm = K1 * (1 - B + B * counts[docnum] / average)
            return sum(weight * (K1 + 1) / (1 + norm) for docs, weight in terms if docs >> docnum & 1)
        return bonus
