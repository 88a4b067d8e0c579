"""Validate items against the vocabulary and each other."""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from typing import Callable, Iterable, NamedTuple

from kb.access import level_problem
from kb.links import typed_links
from kb.needs import problems as need_problems
from kb.duplicates import near_duplicates
from kb.item import ACTIVITY_TYPE, Item
from kb.metadata import parse_date
from kb.notes import Note
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
    """Report unknown and deprecated topics, broken activity links, untyped activities and visibility
    values that are not levels (such an item is shown to managers only)."""
    items = list(items)
    types = {item.id: item.type for item in items}
    problems = [problem for item in items for problem in item_problems(item, vocabulary)]
    problems += link_problems([link for item in items for link in links_of(item)], types.get)
    for first, second, _ in near_duplicates(items):
        same = "the same text as" if " ".join(first.text.split()) == " ".join(second.text.split()) \
            else "nearly the same text as"
        problems.append(Problem(second.path, f"{same} {first.path} (a duplicate?)", "warning"))
    return sorted(problems, key=lambda p: (p.path, p.severity, p.message))


def item_problems(item: Item, vocabulary: Vocabulary) -> list[Problem]:
    """What is wrong with one item on its own; its links are checked against the others by `link_problems`."""
    problems = _check_topics(item, vocabulary)
    if item.is_activity and vocabulary.kinds:
        if not item.kind:
            problems.append(Problem(item.path, "kind: an activity needs a kind", "warning"))
        elif item.kind not in vocabulary.kinds:
            known = ", ".join(vocabulary.kinds)
            problems.append(Problem(item.path, f"kind: {item.kind!r} is not an activity kind ({known})", "warning"))
    if vocabulary.people:
        for person in item.people:
            if person not in vocabulary.people:
                problems.append(Problem(item.path, f"people: {person!r} is not in the people registry", "warning"))
    problems.extend(Problem(item.path, message) for message in need_problems(item.extra, set(vocabulary.topics)))
    visibility = level_problem(item)
    if visibility:
        problems.append(Problem(item.path, visibility))
    if vocabulary.types and item.type not in vocabulary.types:
        problems.append(Problem(item.path, f"type: {item.type!r} is not a type in the vocabulary", "warning"))
    return problems


class Link(NamedTuple):
    """One link an item's file writes: to an activity, or a typed link (complements, follows_up...)."""

    path: str
    key: str  # "activities" or the typed link's key
    target: str


def links_of(item: Item) -> list[Link]:
    # interned: a reindex run keeps every item's links until it knows every id, and many link to one activity
    return [Link(item.path, "activities", sys.intern(target)) for target in item.activities] + \
        [Link(item.path, key, sys.intern(target)) for key, target in typed_links(item)]


def link_problems(links: Iterable[Link], type_of: Callable[[str], str | None]) -> list[Problem]:
    """Links to ids that no item has, and activity links to items that are not activities.

    `type_of` gives the type of the item with an id, None when there is none: the items checked
    together, or what an index holds besides the items a run read again.
    """
    problems = []
    for link in links:
        target_type = type_of(link.target)
        if target_type is None:
            problems.append(Problem(link.path, f"{link.key}: {link.target!r} is not the id of any item"))
        elif link.key == "activities" and target_type != ACTIVITY_TYPE:
            problems.append(Problem(link.path, f"activities: {link.target!r} is a {target_type}, not an activity",
                                    "warning"))
    return problems


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


@dataclass(frozen=True)
class Attention:
    """An item in the tagging queue, with everything that needs a manager's attention."""

    item: Item
    reasons: tuple[str, ...]


def tagging_queue(items: Iterable[Item], vocabulary: Vocabulary) -> list[Attention]:
    """Items with no topics, unknown or deprecated topics, no activity, no date, or links to missing items."""
    items = list(items)
    known = {item.id for item in items}
    queue = []
    for item in items:
        reasons = []
        if not item.topics:
            reasons.append(Note("no topics"))
        for topic_id in item.topics:
            topic = vocabulary.topics.get(topic_id)
            if vocabulary.topics and topic is None:
                reasons.append(Note("unknown topic %(topic)s", topic=topic_id))
            elif topic is not None and topic.deprecated:
                reasons.append(Note("deprecated topic %(topic)s (use %(replacement)s)", topic=topic_id,
                                    replacement=topic.replaced_by) if topic.replaced_by
                               else Note("deprecated topic %(topic)s", topic=topic_id))
        if not item.activities and not item.is_activity:
            reasons.append(Note("no activity"))
        if item.date is None:
            reasons.append(Note("no date"))
        missing = [a for a in item.activities if a not in known]
        if missing:
            reasons.append(Note("links to missing %(ids)s", ids=", ".join(missing)))
        if reasons:
            queue.append(Attention(item, tuple(reasons)))
    return sorted(queue, key=lambda a: (-len(a.reasons), a.item.title))


def staleness(items: Iterable[Item], today: dt.date, age_months: int = 18) -> list[Attention]:
    """Items past their review_by date, and old items in topics that have much newer content.

    "Old" is measured against the newest item of the collection, not the calendar,
    so an archive that stopped in 2020 is not all stale at once.
    """
    items = list(items)
    dated = [i.date for i in items if i.date]
    newest = max(dated, default=today)
    newest_by_topic: dict[str, dt.date] = {}
    for item in items:
        for topic in item.topics:
            if item.date and item.date > newest_by_topic.get(topic, dt.date.min):
                newest_by_topic[topic] = item.date
    cutoff = _months_before(newest, age_months)
    found = []
    for item in items:
        reasons = []
        review = parse_date(item.extra.get("review_by"))
        if review and review < today:
            reasons.append(Note("review was due %(date)s", date=review.isoformat()))
        if item.date and item.date < cutoff and not item.is_activity:
            fresher = [t for t in item.topics if newest_by_topic.get(t, dt.date.min) >= _months_before(newest, 6)]
            if fresher:
                reasons.append(Note("from %(date)s; %(topics)s have content from the last 6 months",
                                    date=item.date.isoformat(), topics=", ".join(fresher)))
        if reasons:
            found.append(Attention(item, tuple(reasons)))
    return sorted(found, key=lambda a: (a.item.date or dt.date.min, a.item.title))


def _months_before(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return dt.date(year, month + 1, min(day.day, 28))
