"""The content map (topics x activity kinds, types or years) and the shared-value table.

Plain functions over counts, so any index can fill them: a cell's number is the
items tagged with the topic (or a narrower one) that have the column's value.
"""

from __future__ import annotations

import csv
import io
import json
import math
from html import escape
from dataclasses import dataclass, field
from typing import Any

from kb.gaps import Decision
from kb.needs import LOW_SUPPLY, Demand
from kb.notes import Note, plural_note
from kb.vocabulary import Vocabulary

PRIORITY_WEIGHT = {"high": 3, "medium": 2, "low": 1, "": 0}
# A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """A cell value a spreadsheet shows as text: text that would start a formula gets a leading quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_csv(header: list[str], rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in [header, *rows]:
        writer.writerow([csv_safe(value) for value in row])
    return out.getvalue()
SHADES = 10  # steps of the heatmap in the web UI: 0 for an empty cell, then 1 to 9 from one item to the most


@dataclass(frozen=True)
class ContentMap:
    """Rows are topics, columns the values of one facet; `cells[(topic, column)]` is a count."""

    by: str  # "kind" | "type" | "year"
    rows: tuple[tuple[str, str, int], ...]  # (topic id, label, depth in the hierarchy)
    columns: tuple[tuple[str, str], ...]  # (value, label)
    cells: dict[tuple[str, str], int]
    totals: dict[str, int]  # items per topic, whatever the column

    @property
    def gaps(self) -> list[tuple[str, str]]:
        """Empty cells of active topics (topics with at least one item)."""
        return [(topic, column) for topic, _, _ in self.rows if self.totals.get(topic)
                for column, _ in self.columns if not self.cells.get((topic, column))]

    @property
    def largest(self) -> int:
        return max(self.cells.values(), default=0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "by": self.by,
            "columns": [{"id": c, "label": label} for c, label in self.columns],
            "rows": [{"topic": t, "label": label, "depth": depth, "total": self.totals.get(t, 0),
                      "cells": {c: self.cells.get((t, c), 0) for c, _ in self.columns}}
                     for t, label, depth in self.rows],
            "gaps": [{"topic": t, "column": c} for t, c in self.gaps],
        }

    def to_csv(self) -> str:
        return write_csv(["topic", "label", "total", *[c for c, _ in self.columns]],
                         [[topic, label, self.totals.get(topic, 0), *[self.cells.get((topic, c), 0) for c, _ in self.columns]]
                          for topic, label, _ in self.rows])

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def shade(self, count: int) -> str:
        """A background colour for a cell: darker for more items (the number is always shown too)."""
        if not count:
            return "#ffffff"
        level = count / (self.largest or 1)
        light = int(235 - 150 * level)
        return f"rgb({light}, {light + 10}, 255)"

    def shade_level(self, count: int) -> int:
        """The cell's step on a scale of SHADES (0: empty, SHADES - 1: the largest count), like shade(), for a CSS class."""
        if not count:
            return 0
        return max(1, min(SHADES - 1, math.ceil((SHADES - 1) * count / (self.largest or 1))))

    def to_html(self) -> str:
        """A self-contained HTML page: the map as a table of numbers on a heatmap, gaps marked."""
        heading = "".join(f"<th>{escape(label)}</th>" for _, label in self.columns)
        lines = []
        for topic, label, depth in self.rows:
            cells = []
            for column, _ in self.columns:
                count = self.cells.get((topic, column), 0)
                gap = " gap" if not count and self.totals.get(topic) else ""
                cells.append(f'<td class="n{gap}" style="background:{self.shade(count)}">{count}</td>')
            lines.append(f'<tr><th style="padding-left:{depth + .3}em">{escape(label)}</th>'
                         f'<td class="n">{self.totals.get(topic, 0)}</td>{"".join(cells)}</tr>')
        return ("<!doctype html><meta charset='utf-8'><title>Content map</title><style>"
                "table{border-collapse:collapse;font:14px system-ui}th,td{border:1px solid #ccd;padding:3px 6px}"
                "th{text-align:left}td.n{text-align:right}td.gap{outline:2px dashed #c33;outline-offset:-3px}"
                f"</style><h1>Content map: topics x {escape(self.by)}</h1><table><tr><th>Topic</th><th>All</th>"
                f"{heading}</tr>{''.join(lines)}</table><p>Dashed cells: gaps (an active topic with no item of that "
                "column).</p>")


def topic_rows(vocabulary: Vocabulary) -> tuple[tuple[str, str, int], ...]:
    """Current topics in hierarchy order (each under its broader topic), with their depth."""
    rows: list[tuple[str, str, int]] = []

    def visit(topic_id: str, depth: int) -> None:
        topic = vocabulary.topics[topic_id]
        rows.append((topic_id, topic.label, depth))
        for child in vocabulary.children(topic_id):
            if not vocabulary.topics[child].deprecated:
                visit(child, depth + 1)

    for topic in vocabulary.topics.values():
        if not topic.broader and not topic.deprecated:
            visit(topic.id, 0)
    return tuple(rows)


@dataclass(frozen=True)
class TopicValue:
    """One row of the shared-value table: what members need (kb.needs), what the organisation wants,
    what exists. A gap: demand high and supply low. Shared value: demand and priority both high."""

    topic: str
    label: str
    priority: str
    need: Demand
    level: str  # of demand: high, medium, low or none (kb.needs.level)
    items: int
    activities: int
    searches: int = 0  # logged searches naming the topic, found or not (shown, not counted as demand)
    missing: tuple[str, ...] = field(default=())  # activity kinds with nothing on the topic
    register: str = ""  # what managers decided (kb.gaps): planned, covered or declined
    decision: Decision | None = None

    @property
    def demand(self) -> float:
        return round(self.need.total, 1)

    @property
    def supply(self) -> int:
        return self.items + self.activities

    @property
    def gap(self) -> bool:
        return self.level == "high" and self.supply <= LOW_SUPPLY

    @property
    def meets(self) -> bool:
        """Shared value: member demand and organisational priority are both high."""
        return self.level == "high" and self.priority == "high"

    @property
    def status(self) -> str:
        return "gap" if self.gap else "shared value" if self.meets else ""

    def reasons(self) -> list[str]:
        found = self.need.reasons()
        if self.gap:
            found.append(Note("only %(items)s and %(activities)s on it",
                              items=plural_note("%(num)d item", "%(num)d items", self.items),
                              activities=plural_note("%(num)d activity", "%(num)d activities", self.activities)))
        return found

    def to_dict(self) -> dict[str, Any]:
        return {"topic": self.topic, "label": self.label, "priority": self.priority or None,
                "status": self.status or None, "demand": self.demand, "demand_level": self.level,
                "demand_parts": self.need.parts(), "reasons": self.reasons(), "searches": self.searches,
                "items": self.items, "activities": self.activities, "missing_activity_kinds": list(self.missing),
                "register": ({**self.decision.to_dict(), "status": self.register} if self.decision else None)}


def shared_value_csv(rows: list[TopicValue]) -> str:
    """The shared-value table as CSV, one row per topic, each source of demand in its own column."""
    header = ["topic", "label", "priority", "status", "demand", "demand_level", "respondents", "personas",
              "requests", "searches_with_no_results", "searches", "items", "activities", "missing_activity_kinds",
              "reasons", "register", "register_activity", "register_note"]
    lines = [[r.topic, r.label, r.priority, r.status, r.demand, r.level, *r.need.parts().values(), r.searches,
              r.items, r.activities, "; ".join(r.missing), "; ".join(r.reasons()), r.register,
              r.decision.activity if r.decision else "", r.decision.note if r.decision else ""] for r in rows]
    return write_csv(header, lines)


def rank_shared_value(rows: list[TopicValue]) -> list[TopicValue]:
    """What to produce next first: gaps, then shared value, each by demand; then the rest by demand."""
    return sorted(rows, key=lambda r: (not r.gap, not r.meets, -r.demand, -PRIORITY_WEIGHT[r.priority],
                                       r.supply, r.label))
