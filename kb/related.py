"""Score related items of an item and say why each one is related."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from kb.item import Item
from kb.vocabulary import Vocabulary

# Weights: an explicit link outranks any amount of shared topics or similar wording.
LINKED = 10.0
LINKING = 8.0
SIBLING = 3.0
PER_SHARED_TOPIC = 2.0
SIMILAR = 3.0


@dataclass(frozen=True)
class Related:
    """An item related to another, with a score and the reasons shown to users."""

    item: Item
    score: float
    reasons: tuple[str, ...]


def rank_related(
    item: Item,
    *,
    vocabulary: Vocabulary,
    linked: Iterable[Item] = (),
    linking: Iterable[Item] = (),
    siblings: Iterable[tuple[Item, Item]] = (),
    sharing: Iterable[Item] = (),
    similar: Iterable[tuple[Item, float]] = (),
) -> list[Related]:
    """Combine every kind of relation into one ranked list, best first.

    `siblings` pairs an item with the activity it shares with `item`;
    `similar` pairs an item with its text-similarity score.
    """
    scores: dict[str, float] = {}
    reasons: dict[str, list[str]] = {}
    found: dict[str, Item] = {}

    def add(other: Item, score: float, reason: str) -> None:
        if other.id == item.id:
            return
        found[other.id] = other
        scores[other.id] = scores.get(other.id, 0.0) + score
        if reason not in reasons.setdefault(other.id, []):
            reasons[other.id].append(reason)

    for other in linked:
        add(other, LINKED, "linked from this item" if not other.is_activity else "this item belongs to this activity")
    for other in linking:
        add(other, LINKING, "links to this item" if not item.is_activity else "belongs to this activity")
    for other, activity in siblings:
        add(other, SIBLING, f"also part of {activity.title}")
    own_topics = set(item.topics)
    for other in sharing:
        shared = [t for t in other.topics if t in own_topics]
        if shared:
            labels = ", ".join(vocabulary.label(t) for t in shared)
            add(other, PER_SHARED_TOPIC * len(shared), f"shares topics: {labels}")
    similar = [(other, score) for other, score in similar if other.id != item.id]
    best = max((score for _, score in similar), default=0.0)
    for other, score in similar:
        if best > 0:
            add(other, SIMILAR * score / best, "similar text")
    ranked = sorted(found, key=lambda key: (-scores[key], found[key].title))
    return [Related(found[key], round(scores[key], 3), tuple(reasons[key])) for key in ranked]
