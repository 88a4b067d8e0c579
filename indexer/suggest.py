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
from typing import Any

from indexer.schema import text_field
from indexer.store import IndexStore, write_atomic
from kb.item import Item
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


def label_stems(searcher: Any, vocabulary: Vocabulary, lang: str) -> dict[str, set[str]]:
    """For each stem, the topics whose labels contain it, keeping only stems distinctive of a few topics."""
    field = text_field(lang)
    owners: dict[str, set[str]] = {}
    for topic in vocabulary.topics.values():
        if topic.deprecated:
            continue
        for label in topic.all_labels():
            for stem in searcher.schema[field].process_text(label, mode="query"):
                owners.setdefault(stem, set()).add(topic.id)
    return {stem: topics for stem, topics in owners.items() if len(topics) <= 2}


def key_terms(searcher: Any, item: Item) -> list[str]:
    field = text_field(item.lang)
    terms = searcher.key_terms_from_text(field, f"{item.title} {item.text}", numterms=KEY_TERMS)
    return [term for term, _ in terms if term.isalpha() and len(term) > 3]


def surface(searcher: Any, item: Item, terms: list[str]) -> list[str]:
    """The word of the item's text behind each stemmed key term (treasuri -> treasury)."""
    field = text_field(item.lang)
    wanted = set(terms)
    seen: dict[str, str] = {}
    for word in re.findall(r"[^\W\d_]+", f"{item.title} {item.text}"):
        stems = list(searcher.schema[field].process_text(word, mode="query"))
        if stems and stems[0] in wanted and stems[0] not in seen:
            seen[stems[0]] = word.lower()
    return [seen.get(term, term) for term in terms]


def suggestions(store: IndexStore, data: Path, item: Item) -> tuple[list[Suggestion], list[str]]:
    """Topics to suggest for an item, and key terms of it that match no topic (candidate topics)."""
    decided = load_decisions(data).get(item.id, {})
    with store.searcher() as (searcher, generation):
        vocabulary = generation.vocabulary
        tagged = set(vocabulary.with_ancestors(vocabulary.resolve(item.topics)))
        found: dict[str, str] = {}
        for words, topic in vocabulary.match_labels(f"{item.title} {item.text}"):
            found.setdefault(topic, f"the text says “{words}”")
        stems = label_stems(searcher, vocabulary, item.lang)
        unmatched = []
        for term in key_terms(searcher, item):
            topics = stems.get(term)
            if topics:
                for topic in topics:
                    found.setdefault(topic, f"key term “{term}”")
            else:
                unmatched.append(term)
        unmatched = surface(searcher, item, unmatched)
    offered = [Suggestion(t, vocabulary.label(t), reason) for t, reason in found.items()
               if t not in tagged and t in vocabulary.topics and not vocabulary.topics[t].deprecated and t not in decided]
    return offered, unmatched


def candidate_topics(store: IndexStore, limit: int = 30, sample: int = 400) -> list[tuple[str, int]]:
    """Key terms that match no topic, with how many items (of the newest `sample`) have them."""
    counts: Counter[str] = Counter()
    with store.searcher() as (searcher, generation):
        stems = {s for lang in ("en", "fr", "es", "pt") for s in label_stems(searcher, generation.vocabulary, lang)}
        items = sorted((item for item in _items(searcher)), key=lambda i: i.date or i.id, reverse=True)[:sample]
        for item in items:
            counts.update(surface(searcher, item, [t for t in key_terms(searcher, item) if t not in stems]))
    return [(term, n) for term, n in counts.most_common(limit) if n > 1]


def _items(searcher: Any) -> list[Item]:
    from indexer.schema import unpack

    return [unpack(fields["data"]) for fields in searcher.all_stored_fields()]
