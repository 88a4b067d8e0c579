"""Fill the content map and the shared-value table from the index and the search log."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from indexer.searchlog import LOG_FILE
from kb.backend import SearchBackend
from kb.contentmap import ContentMap, TopicValue, rank_shared_value, topic_rows
from kb.gaps import Decision, effective
from kb.item import Item
from kb.needs import Demand, level, persona_needs, requests_of, survey_needs
from kb.notes import Note
from kb.vocabulary import Vocabulary

BY = ("kind", "type", "year")


def content_map(backend: SearchBackend, by: str = "kind") -> ContentMap:
    """Topics x activity kinds (or types, or years), counting items of each topic or its narrower topics."""
    vocabulary = backend.vocabulary()
    table = backend.facet_table("topic", by)
    columns = columns_for(by, vocabulary, table.columns)
    rows = topic_rows(vocabulary)
    known = {topic for topic, _, _ in rows}
    cells = {key: count for key, count in table.cells.items() if key[0] in known}
    totals = {topic: table.totals.get(topic, 0) for topic in known}
    return ContentMap(by, rows, columns, cells, totals)


def columns_for(by: str, vocabulary: Vocabulary, present: dict[str, int]) -> tuple[tuple[str, str], ...]:
    """The vocabulary's kinds or types in its order, then other values the items have."""
    if by == "kind":
        known = [(k, term.label) for k, term in vocabulary.kinds.items()]
    elif by == "type":
        known = [(t, term.label) for t, term in vocabulary.types.items()]
    else:
        known = []
    ids = {k for k, _ in known}
    extra = sorted(v for v in present if v and v not in ids and present[v])
    return tuple(known + [(v, v) for v in extra])


def search_demand(data: Path, vocabulary: Vocabulary, days: int = 365) -> tuple[dict[str, tuple[int, int]],
                                                                              dict[str, int]]:
    """Per topic: (searches naming it, of which found nothing), and the searches with no results that
    name no topic (query: times), from the search log's last `days`."""
    demand: dict[str, list[int]] = {}
    unnamed: dict[str, int] = {}
    if not (data / LOG_FILE).is_file():
        return {}, {}
    since = (dt.date.today() - dt.timedelta(days=days)).isoformat()
    with closing(sqlite3.connect(data / LOG_FILE)) as conn:
        rows = conn.execute("SELECT query, filters, results FROM searches WHERE hour >= ?", (since,)).fetchall()
    for query, filters, results in rows:
        named = {t for _, t in vocabulary.match_labels(query)}
        named |= set(json.loads(filters).get("topic", []))
        for topic in named:
            counts = demand.setdefault(topic, [0, 0])
            counts[0] += 1
            counts[1] += results == 0
        if not named and results == 0 and query.strip():
            key = " ".join(query.lower().split())
            unnamed[key] = unnamed.get(key, 0) + 1
    return {topic: (c[0], c[1]) for topic, c in demand.items()}, unnamed


def needs_by_topic(items: list[Item], vocabulary: Vocabulary) -> tuple[dict[str, Demand], list[UnmetNeed]]:
    """Each topic's demand from the needs the items carry (kb.needs), and the needs no topic covers."""
    demand: dict[str, Demand] = {}
    unmet: dict[str, UnmetNeed] = {}
    for item in items:
        respondents, needs = survey_needs(item.extra)
        # A need names a topic as it was then: a renamed or merged topic's need counts for its replacement.
        needs = [replace(n, topic=vocabulary.current([n.topic])[0]) if n.topic else n for n in needs]
        segments: dict[str, list[str]] = {}
        for need in needs:
            if need.segment and need.topic and need.share is not None:
                segments.setdefault(need.topic, []).append(f"{need.segment}: {need.share:.0%}")
        for need in needs:
            if need.segment:
                continue  # a segment's share is detail of the whole, not more demand
            asked = need.respondents(respondents)
            if need.topic in vocabulary.topics:
                entry = demand.setdefault(need.topic, Demand())
                entry.respondents += asked
                detail = f" ({'; '.join(segments[need.topic])})" if need.topic in segments else ""
                entry.surveys.append(Note("%(asked)s of %(respondents)s respondents (%(share)s) in %(survey)s%(detail)s",
                                          asked=asked, respondents=respondents, share=f"{asked / respondents:.0%}",
                                          survey=item.title, detail=detail))
            elif need.label:
                unmet.setdefault(need.label.lower(), UnmetNeed(need.label)).sources.append(
                    Note("%(asked)s respondents in %(survey)s", asked=asked, survey=item.title))
        for topic in vocabulary.current(persona_needs(item.extra)):
            if topic in vocabulary.topics:
                demand.setdefault(topic, Demand()).personas.append(item.title)
        for request in (replace(r, topic=vocabulary.current([r.topic])[0]) if r.topic else r
                        for r in requests_of(item.extra)):
            if request.topic in vocabulary.topics:
                demand.setdefault(request.topic, Demand()).requests.append(f"{request.asked} ({request.status})")
            elif request.asked:
                unmet.setdefault(request.asked.lower(), UnmetNeed(request.asked)).sources.append(
                    f"asked in {item.title} ({request.status})")
    return demand, list(unmet.values())


def shared_value(backend: SearchBackend, data: Path, decisions: dict[str, Decision] | None = None) -> list[TopicValue]:
    """Each topic's member demand (by source), organisational priority and supply, gaps first."""
    return shared_value_and_unmet(backend, data, decisions)[0]


def shared_value_and_unmet(backend: SearchBackend, data: Path, decisions: dict[str, Decision] | None = None
                           ) -> tuple[list[TopicValue], list[UnmetNeed]]:
    """The shared-value rows (with the gap register's decisions, kb.gaps) and the needs no topic covers."""
    decisions = decisions or {}
    kinds_map = content_map(backend, "kind")
    vocabulary = backend.vocabulary()
    types = backend.facet_table("topic", "type").cells
    searches, unnamed = search_demand(data, vocabulary)
    demand, unmet = needs_by_topic(backend.all_items(), vocabulary)
    for topic, (_, none_found) in searches.items():
        if topic in vocabulary.topics and none_found:
            demand.setdefault(topic, Demand()).searches += none_found
    unmet += [UnmetNeed(query, [f"searched {times} time{'s' if times > 1 else ''} with no results"])
              for query, times in sorted(unnamed.items(), key=lambda kv: -kv[1])]
    largest = max((d.total for d in demand.values()), default=0.0)
    rows = []
    for topic_id, label, _ in topic_rows(vocabulary):
        need = demand.get(topic_id, Demand())
        sources = sum(types.get((topic_id, t), 0) for t in NEED_TYPES)
        activities = types.get((topic_id, "activity"), 0)
        total = kinds_map.totals.get(topic_id, 0)
        missing = tuple(label for kind, label in kinds_map.columns if not kinds_map.cells.get((topic_id, kind)))
        decision = decisions.get(topic_id)
        answered = bool(decision and decision.activity and
                        [i for i in backend.items_where("activity", decision.activity) if i.id != decision.activity])
        rows.append(TopicValue(
            topic=topic_id, label=label, priority=vocabulary.topics[topic_id].priority, need=need,
            level=level(need.total, largest), items=max(0, total - sources - activities), activities=activities,
            searches=searches.get(topic_id, (0, 0))[0], missing=missing if total else (),
            register=effective(decision, answered), decision=decision))
    return rank_shared_value(rows), unmet


@dataclass
class UnmetNeed:
    """A need no topic covers yet, and where it was expressed."""

    label: str
    sources: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"need": self.label, "sources": self.sources}


# Items that express needs rather than answer them: not counted as supply.
NEED_TYPES = ("survey", "persona", "one-on-one-summary")
