"""The gap register: what managers decided about each gap, kept in the content folder (gaps.yml),
so that it is versioned with the content.

    gaps:
      - topic: health-financing-data
        status: planned            # planned | covered | declined
        activity: webinar-2021-dashboards   # the activity that will answer it (planned)
        note: "A webinar with two ministries that built dashboards"
        by: ama
        date: 2026-12-02

A planned gap whose activity now has content (items linked to it) counts as covered.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

GAP_STATUSES = ("planned", "covered", "declined")


@dataclass(frozen=True)
class Decision:
    topic: str
    status: str
    activity: str = ""
    note: str = ""
    by: str = ""
    date: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in {"topic": self.topic, "status": self.status, "activity": self.activity,
                                  "note": self.note, "by": self.by, "date": self.date}.items() if v}


def decisions_from(data: Any, source: str) -> tuple[dict[str, Decision], list[str]]:
    """The register's decisions by topic, and what is wrong with it (each naming the entry)."""
    if data is None:
        return {}, []
    entries = data.get("gaps") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return {}, [f"{source}: expected a mapping with a 'gaps' list"]
    found: dict[str, Decision] = {}
    problems = []
    for index, entry in enumerate(entries):
        where = f"{source}: gaps[{index}]"
        if not isinstance(entry, dict) or not entry.get("topic"):
            problems.append(f"{where}: expected a mapping with a topic and a status")
            continue
        status = str(entry.get("status") or "").strip().lower()
        if status not in GAP_STATUSES:
            problems.append(f"{where}: status {entry.get('status')!r} is not one of {', '.join(GAP_STATUSES)}")
            continue
        if status == "planned" and not entry.get("activity"):
            problems.append(f"{where}: a planned gap names the activity that will answer it (activity:)")
        found[str(entry["topic"])] = Decision(str(entry["topic"]), status, str(entry.get("activity") or ""),
                                              str(entry.get("note") or ""), str(entry.get("by") or ""),
                                              str(entry.get("date") or ""))
    return found, problems


def decide(decisions: dict[str, Decision], topic: str, status: str, *, activity: str = "", note: str = "",
           by: str = "", today: dt.date | None = None) -> dict[str, Decision]:
    """The register with a topic's decision set (or replaced)."""
    if status not in GAP_STATUSES:
        raise ValueError(f"status {status!r} is not one of {', '.join(GAP_STATUSES)}")
    changed = dict(decisions)
    changed[topic] = Decision(topic, status, activity, note, by, (today or dt.date.today()).isoformat())
    return changed


def effective(decision: Decision | None, activity_has_content: bool) -> str:
    """What the register says now: a planned gap whose activity has content is covered."""
    if decision is None:
        return ""
    if decision.status == "planned" and activity_has_content:
        return "covered"
    return decision.status
