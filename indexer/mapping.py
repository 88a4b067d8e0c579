"""Fill the content map and the shared-value table from the index and the search log."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from contextlib import closing
from pathlib import Path

from indexer.searchlog import LOG_FILE
from kb.backend import SearchBackend
from kb.contentmap import ContentMap, TopicValue, rank_shared_value, topic_rows
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


def search_demand(data: Path, vocabulary: Vocabulary, days: int = 365) -> dict[str, tuple[int, int]]:
    """Per topic: (searches naming it, of which found nothing), from the search log's last `days`."""
    demand: dict[str, list[int]] = {}
    if not (data / LOG_FILE).is_file():
        return {}
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
    return {topic: (c[0], c[1]) for topic, c in demand.items()}


def shared_value(backend: SearchBackend, data: Path) -> list[TopicValue]:
    """Each topic's member demand, organisational priority and supply, sorted by what to produce next."""
    kinds_map = content_map(backend, "kind")
    vocabulary = backend.vocabulary()
    types = backend.facet_table("topic", "type").cells
    searches = search_demand(data, vocabulary)
    rows = []
    for topic_id, label, _ in topic_rows(vocabulary):
        asked = types.get((topic_id, "survey"), 0) + types.get((topic_id, "persona"), 0)
        activities = types.get((topic_id, "activity"), 0)
        total = kinds_map.totals.get(topic_id, 0)
        missing = tuple(label for kind, label in kinds_map.columns if not kinds_map.cells.get((topic_id, kind)))
        rows.append(TopicValue(
            topic=topic_id, label=label, priority=vocabulary.topics[topic_id].priority,
            asked_in_surveys=asked,
            searches=searches.get(topic_id, (0, 0))[0], zero_result_searches=searches.get(topic_id, (0, 0))[1],
            items=total - asked - activities, activities=activities,
            missing=missing if total else ()))
    return rank_shared_value(rows)
