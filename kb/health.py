"""Community health, computed from the content itself: who takes part, who writes, in which
languages, how soon notes follow an activity, and what the community talks about over time.

- Participants per quarter: the people listed on the activities of the quarter; new ones were on
  no earlier activity, returning ones were.
- Written by members: of the content items that name people (not activities, surveys or
  personas), the share whose author is a member in the registry (kb.people); the author is the
  first person listed (`people:`, or `authors:` when there is no `people:`), as a discussion lists
  who started it and notes list who wrote them.
- Language balance: the share of content items in each language, against the membership's
  languages from the survey results (`respondents_by_language: {en: 122, fr: 41}`).
- Days to notes: for each dated activity with dated session notes linked to it, the days from the
  activity to its first notes; the median over activities.
- Items per topic per quarter: content items tagged with each topic (a deprecated one counted as
  its replacement), by quarter.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any, Callable

NOT_CONTENT = ("activity", "survey", "persona")  # what members say they need, or events, not written content
NOTES_TYPE = "session-note"


@dataclass
class Health:
    quarters: list[tuple[str, int, int, int]] = field(default_factory=list)  # (quarter, participants, new, returning)
    by_members: tuple[int, int] = (0, 0)  # (content items written by a member, content items naming people)
    languages: list[tuple[str, int, float, float]] = field(default_factory=list)  # (lang, items, share, members' share)
    days_to_notes: list[tuple[str, int]] = field(default_factory=list)  # (activity id, days to its first notes)
    topics_by_quarter: dict[str, dict[str, int]] = field(default_factory=dict)  # topic -> quarter -> items

    @property
    def member_share(self) -> float:
        return self.by_members[0] / self.by_members[1] if self.by_members[1] else 0.0

    @property
    def median_days_to_notes(self) -> float | None:
        return statistics.median(days for _, days in self.days_to_notes) if self.days_to_notes else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "participants_per_quarter": [{"quarter": q, "participants": p, "new": n, "returning": r}
                                         for q, p, n, r in self.quarters],
            "written_by_members": {"items": self.by_members[0], "of": self.by_members[1],
                                   "share": round(self.member_share, 3)},
            "languages": [{"lang": lang, "items": n, "share": round(share, 3), "members_share": round(members, 3)}
                          for lang, n, share, members in self.languages],
            "days_to_notes": {"median": self.median_days_to_notes,
                              "activities": [{"activity": a, "days": d} for a, d in self.days_to_notes]},
            "items_per_topic_per_quarter": self.topics_by_quarter,
        }


def quarter_of(date: Any) -> str:
    return f"{date.year}-Q{(date.month - 1) // 3 + 1}"


def community_health(items: list[Any], roles: dict[str, str], current: Callable[[Any], list[str]]) -> Health:
    """The health figures of a community's items; `roles` maps person ids to registry roles and
    `current` maps an item's topics to the current ones (kb.vocabulary.Vocabulary.current)."""
    health = Health()
    activities = [i for i in items if i.is_activity and i.date]
    seen: set[str] = set()
    by_quarter: dict[str, set[str]] = {}
    for activity in sorted(activities, key=lambda a: a.date):
        by_quarter.setdefault(quarter_of(activity.date), set()).update(activity.people)
    for quarter in sorted(by_quarter):
        people = by_quarter[quarter]
        new = people - seen
        health.quarters.append((quarter, len(people), len(new), len(people) - len(new)))
        seen |= people
    content = [i for i in items if i.type not in NOT_CONTENT]
    with_people = [i for i in content if i.people]
    health.by_members = (sum(roles.get(i.people[0]) == "member" for i in with_people), len(with_people))
    members = {}
    for item in items:
        languages = item.extra.get("respondents_by_language")
        if isinstance(languages, dict):
            for lang, count in languages.items():
                if isinstance(count, int):
                    members[str(lang)] = members.get(str(lang), 0) + count
    counts: dict[str, int] = {}
    for item in content:
        counts[item.lang] = counts.get(item.lang, 0) + 1
    total, answered = sum(counts.values()), sum(members.values())
    for lang in sorted(set(counts) | set(members), key=lambda l: (-counts.get(l, 0), l)):
        health.languages.append((lang, counts.get(lang, 0), counts.get(lang, 0) / total if total else 0.0,
                                 members.get(lang, 0) / answered if answered else 0.0))
    by_id = {a.id: a for a in activities}
    first: dict[str, int] = {}
    for note in (i for i in items if i.type == NOTES_TYPE and i.date):
        for activity_id in note.activities:
            activity = by_id.get(activity_id)
            if activity is not None and note.date >= activity.date:
                days = (note.date - activity.date).days
                first[activity_id] = min(first.get(activity_id, days), days)
    health.days_to_notes = sorted(first.items(), key=lambda kv: (by_id[kv[0]].date, kv[0]))
    for item in content:
        if item.date:
            for topic in current(item.topics):
                quarters = health.topics_by_quarter.setdefault(topic, {})
                quarters[quarter_of(item.date)] = quarters.get(quarter_of(item.date), 0) + 1
    return health
