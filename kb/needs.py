"""Member needs as data, and the demand model of the shared-value page.

Where needs come from, in the items' own front matter:

    respondents: 163                  # survey results: how many answered
    needs:                            # ... and what they asked for
      - {topic: budget-execution, share: 0.58}             # a share of the respondents
      - {label: Gender-responsive budgeting, count: 11}    # a need no topic covers yet
      - {topic: budget-execution, share: 0.71, segment: ministries of finance}  # detail, not added
    needs: [budget-execution, health-financing-data]       # a persona: the topics it needs
    requests:                                              # a one-on-one summary
      - {topic: provider-payment, asked: "...", status: open}   # open | answered | declined

Demand per topic is counted in member-equivalents, each source shown apart so that a
manager can explain it: every respondent who asked (share x respondents, or the count)
counts 1; a persona's need counts PERSONA (a persona stands for many members); a
one-on-one request counts REQUEST; a search that found nothing and names the topic
counts SEARCH. A need is the topic's own: it is never credited to a broader topic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kb.notes import plural_note

PERSONA = 10.0
REQUEST = 5.0
SEARCH = 1.0
STATUSES = ("open", "answered", "declined")
# Demand is high from this share of the largest demand, medium from MEDIUM_SHARE; supply is low at
# LOW_SUPPLY items and activities or fewer.
HIGH_SHARE = 0.4
MEDIUM_SHARE = 0.15
LOW_SUPPLY = 2


@dataclass(frozen=True)
class Need:
    topic: str = ""
    label: str = ""
    share: float | None = None
    count: int | None = None
    segment: str = ""

    def respondents(self, total: int) -> int:
        """How many respondents asked: the count, else the share of `total`."""
        if self.count is not None:
            return self.count
        return round((self.share or 0.0) * total)


@dataclass(frozen=True)
class Request:
    topic: str = ""
    asked: str = ""
    status: str = "open"


def survey_needs(extra: dict[str, Any]) -> tuple[int, list[Need]]:
    """(respondents, needs) of survey results; needs without `respondents` are a persona's."""
    respondents = extra.get("respondents")
    if not isinstance(respondents, int) or isinstance(respondents, bool):
        return 0, []
    return respondents, [n for n in (need_of(entry) for entry in listed(extra.get("needs"))) if n]


def persona_needs(extra: dict[str, Any]) -> list[str]:
    """The topics a persona needs (an item with `needs:` and no `respondents:`)."""
    if "respondents" in extra:
        return []
    found = []
    for entry in listed(extra.get("needs")):
        topic = entry.get("topic") if isinstance(entry, dict) else entry
        if isinstance(topic, str) and topic.strip():
            found.append(topic.strip())
    return list(dict.fromkeys(found))


def requests_of(extra: dict[str, Any]) -> list[Request]:
    found = []
    for entry in listed(extra.get("requests")):
        if isinstance(entry, dict):
            found.append(Request(str(entry.get("topic") or "").strip(), str(entry.get("asked") or "").strip(),
                                 str(entry.get("status") or "open").strip().lower()))
    return found


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def need_of(entry: Any) -> Need | None:
    if isinstance(entry, str):
        return Need(topic=entry.strip())
    if not isinstance(entry, dict):
        return None
    share, count = entry.get("share"), entry.get("count")
    # A share outside 0..1 (58 for 58%) or a negative count counts for nothing: kb check names it.
    usable_share = isinstance(share, (int, float)) and not isinstance(share, bool) and 0 <= share <= 1
    usable_count = isinstance(count, int) and not isinstance(count, bool) and count >= 0
    return Need(topic=str(entry.get("topic") or "").strip(), label=str(entry.get("label") or "").strip(),
                share=float(share) if usable_share else None, count=count if usable_count else None,
                segment=str(entry.get("segment") or "").strip())


def problems(extra: dict[str, Any], topics: set[str]) -> list[str]:
    """What `kb check` says about an item's needs and requests (each names the field)."""
    found: list[str] = []
    if "respondents" in extra and (not isinstance(extra["respondents"], int) or extra["respondents"] < 1):
        found.append(f"respondents: {extra['respondents']!r} is not a number of people")
    if "needs" in extra and not isinstance(extra["needs"], list):
        found.append("needs: expected a list")
    for index, entry in enumerate(listed(extra.get("needs"))):
        where = f"needs[{index}]"
        need = need_of(entry)
        if need is None or not (need.topic or need.label):
            found.append(f"{where}: expected a topic or a label")
            continue
        if need.topic and need.topic not in topics:
            found.append(f"{where}: topic {need.topic!r} is not in the vocabulary")
        if isinstance(entry, dict):
            share, count = entry.get("share"), entry.get("count")
            if share is not None and need.share is None:
                found.append(f"{where}: share {share!r} is not between 0 and 1 (0.58 for 58%)")
            if count is not None and need.count is None:
                found.append(f"{where}: count {count!r} is not a number of people")
            if "respondents" in extra and share is None and count is None:
                found.append(f"{where}: a survey's need needs a share or a count")
    if "requests" in extra and not isinstance(extra["requests"], list):
        found.append("requests: expected a list")
    for index, entry in enumerate(listed(extra.get("requests"))):
        if not isinstance(entry, dict) or not entry.get("asked"):
            found.append(f"requests[{index}]: expected a mapping with what was asked (asked:)")
            continue
        request = requests_of({"requests": [entry]})[0]
        if request.topic and request.topic not in topics:
            found.append(f"requests[{index}]: topic {request.topic!r} is not in the vocabulary")
        if request.status not in STATUSES:
            found.append(f"requests[{index}]: status {request.status!r} is not one of {', '.join(STATUSES)}")
    return found


@dataclass
class Demand:
    """One topic's demand, by source, with where each part came from."""

    respondents: int = 0
    surveys: list[str] = field(default_factory=list)  # "51 of 163 in Member needs survey 2020: results"
    personas: list[str] = field(default_factory=list)  # their titles
    requests: list[str] = field(default_factory=list)  # what was asked, with its status
    searches: int = 0  # searches naming the topic that found nothing

    @property
    def total(self) -> float:
        return self.respondents + PERSONA * len(self.personas) + REQUEST * len(self.requests) + SEARCH * self.searches

    def parts(self) -> dict[str, float]:
        return {"respondents": float(self.respondents), "personas": PERSONA * len(self.personas),
                "requests": REQUEST * len(self.requests), "searches_with_no_results": SEARCH * self.searches}

    def reasons(self) -> list[str]:
        found = list(self.surveys)
        if self.personas:
            found.append(plural_note("%(num)d persona: %(names)s", "%(num)d personas: %(names)s", len(self.personas),
                                     names="; ".join(self.personas)))
        if self.requests:
            found.append(plural_note("%(num)d one-on-one request", "%(num)d one-on-one requests", len(self.requests)))
        if self.searches:
            found.append(plural_note("%(num)d search that found nothing", "%(num)d searches that found nothing",
                                     self.searches))
        return found


def level(demand: float, largest: float) -> str:
    if demand <= 0 or largest <= 0:
        return "none"
    share = demand / largest
    return "high" if share >= HIGH_SHARE else "medium" if share >= MEDIUM_SHARE else "low"
