"""Topic suggestions for an item, never applied without a manager: label mentions and key terms.

Two sources: a topic's label or alternative label written in the item's text, and
the item's key terms (Whoosh's key-terms support, over the item's own text) that
are distinctive words of a topic's labels. Key terms that match no topic are
offered as candidate new topics. A manager accepts (the topic is tagged) or
rejects each suggestion; the decision is kept in the data folder and the
suggestion is not offered again.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from indexer.files import write_atomic
from kb.backend import SearchBackend
from kb.item import Item
from kb.notes import Note
from kb.vocabulary import Vocabulary

DECISIONS = "suggestions.json"
KEY_TERMS = 12


@dataclass(frozen=True)
class Suggestion:
    topic: str
    label: str
    reason: str


def load_decisions(data: Path) -> dict[str, dict[str, str]]:
    try:
        return json.loads((data / DECISIONS).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def decide(data: Path, item_id: str, topic: str, decision: str) -> None:
    """Remember that a suggestion was accepted or rejected."""
    decisions = load_decisions(data)
    decisions.setdefault(item_id, {})[topic] = decision
    data.mkdir(parents=True, exist_ok=True)
    write_atomic(data / DECISIONS, json.dumps(decisions, indent=2, sort_keys=True))


def label_stems(analyse: Callable[[str], list[str]], vocabulary: Vocabulary) -> dict[str, set[str]]:
    """For each stem, the topics whose labels contain it, keeping only stems distinctive of a few topics."""
    owners: dict[str, set[str]] = {}
    for topic in vocabulary.topics.values():
        if topic.deprecated:
            continue
        for label in topic.all_labels():
            for stem in analyse(label):
                owners.setdefault(stem, set()).add(topic.id)
    return {stem: topics for stem, topics in owners.items() if len(topics) <= 2}


def key_terms(backend: SearchBackend, item: Item) -> list[str]:
    return [term for term in backend.key_terms(item, KEY_TERMS) if term.isalpha() and len(term) > 3]


def surface(analyse: Callable[[str], list[str]], item: Item, terms: list[str]) -> list[str]:
    """The word of the item's text behind each stemmed key term (treasuri -> treasury)."""
    wanted = set(terms)
    seen: dict[str, str] = {}
    for word in dict.fromkeys(re.findall(r"[^\W\d_]+", f"{item.title} {item.text}")):
        stems = analyse(word)
        if stems and stems[0] in wanted and stems[0] not in seen:
            seen[stems[0]] = word.lower()
    return [seen.get(term, term) for term in terms]


def suggestions(backend: SearchBackend, data: Path, item: Item) -> tuple[list[Suggestion], list[str]]:
    """Topics to suggest for an item, and key terms of it that match no topic (candidate topics)."""
    decided = load_decisions(data).get(item.id, {})
    vocabulary = backend.vocabulary()
    analyse = backend.analyser(item.lang)
    tagged = set(vocabulary.with_ancestors(vocabulary.resolve(item.topics)))
    found: dict[str, str] = {}
    for words, topic in vocabulary.match_labels(f"{item.title} {item.text}"):
        found.setdefault(topic, Note("the text says “%(words)s”", words=words))
    stems = label_stems(analyse, vocabulary)
    unmatched = []
    for term in key_terms(backend, item):
        topics = stems.get(term)
        if topics:
            for topic in topics:
                found.setdefault(topic, Note("key term “%(term)s”", term=term))
        else:
            unmatched.append(term)
    offered = [Suggestion(t, vocabulary.label(t), reason) for t, reason in found.items()
               if t not in tagged and t in vocabulary.topics and not vocabulary.topics[t].deprecated and t not in decided]
    return offered, surface(analyse, item, unmatched)


def candidate_topics(backend: SearchBackend, limit: int = 30, sample: int = 400) -> list[tuple[str, int]]:
    """Key terms that match no topic, with how many items (of the newest `sample`) have them."""
    counts: Counter[str] = Counter()
    vocabulary = backend.vocabulary()
    analysers = {lang: backend.analyser(lang) for lang in ("en", "fr", "es", "pt")}
    stems = {s for analyse in analysers.values() for s in label_stems(analyse, vocabulary)}
    items = sorted(backend.all_items(full=True), key=lambda i: i.date or i.id, reverse=True)[:sample]
    for item in items:
        analyse = analysers.get(item.lang, analysers["en"])
        counts.update(surface(analyse, item, [t for t in key_terms(backend, item) if t not in stems]))
    return [(term, n) for term, n in counts.most_common(limit) if n > 1]
