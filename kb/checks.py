"""Validate items against the vocabulary and each other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from kb.item import Item
from kb.vocabulary import Vocabulary


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file; errors fail `kb check`, warnings do not."""

    path: str
    message: str
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        return f"{self.path}: {self.severity}: {self.message}"


def check_items(items: Iterable[Item], vocabulary: Vocabulary) -> list[Problem]:
    """Report unknown and deprecated topics, broken activity links and untyped activities."""
    items = list(items)
    by_id = {item.id: item for item in items}
    problems: list[Problem] = []
    for item in items:
        problems.extend(_check_topics(item, vocabulary))
        for target in item.activities:
            linked = by_id.get(target)
            if linked is None:
                problems.append(Problem(item.path, f"activities: {target!r} is not the id of any item"))
            elif not linked.is_activity:
                problems.append(Problem(item.path, f"activities: {target!r} is a {linked.type}, not an activity", "warning"))
        if item.is_activity and vocabulary.kinds:
            if not item.kind:
                problems.append(Problem(item.path, "kind: an activity needs a kind", "warning"))
            elif item.kind not in vocabulary.kinds:
                known = ", ".join(vocabulary.kinds)
                problems.append(Problem(item.path, f"kind: {item.kind!r} is not an activity kind ({known})", "warning"))
        if vocabulary.types and item.type not in vocabulary.types:
            problems.append(Problem(item.path, f"type: {item.type!r} is not a type in the vocabulary", "warning"))
    return sorted(problems, key=lambda p: (p.path, p.severity, p.message))


def _check_topics(item: Item, vocabulary: Vocabulary) -> list[Problem]:
    if not vocabulary.topics:
        return []
    if not item.topics:
        return [Problem(item.path, "topics: no topics; the item is missing from topic pages and the content map", "warning")]
    problems = []
    for topic_id in item.topics:
        topic = vocabulary.topics.get(topic_id)
        if topic is None:
            problems.append(Problem(item.path, f"topics: {topic_id!r} is not in the vocabulary"))
        elif topic.deprecated:
            instead = f"; use {topic.replaced_by!r}" if topic.replaced_by else ""
            problems.append(Problem(item.path, f"topics: {topic_id!r} is deprecated{instead}", "warning"))
    return problems
