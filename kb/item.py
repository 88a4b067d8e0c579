"""The item: one piece of community content, as every layer sees it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

# Front matter keys that map to Item fields; every other key goes to `extra`.
CORE_KEYS = (
    "id", "title", "type", "date", "summary", "community", "topics",
    "activities", "people", "countries", "lang", "kind",
)
DEFAULT_TYPE = "document"
ACTIVITY_TYPE = "activity"


@dataclass(frozen=True)
class Item:
    """One content item: a session note, discussion, document, activity ..."""

    id: str
    title: str
    type: str = DEFAULT_TYPE
    date: dt.date | None = None
    body: str = ""
    html: str = ""
    text: str = ""
    summary: str = ""
    community: str = ""
    topics: tuple[str, ...] = ()
    activities: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    lang: str = "en"
    kind: str = ""
    path: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def is_activity(self) -> bool:
        return self.type == ACTIVITY_TYPE

    @property
    def year(self) -> str:
        return str(self.date.year) if self.date else ""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict of every field."""
        data = dataclasses.asdict(self)
        data["date"] = self.date.isoformat() if self.date else None
        for name in ("topics", "activities", "people", "countries"):
            data[name] = list(data[name])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Item:
        """Rebuild an item from `to_dict()` output."""
        values = dict(data)
        if values.get("date"):
            values["date"] = dt.date.fromisoformat(values["date"])
        for name in ("topics", "activities", "people", "countries"):
            values[name] = tuple(values.get(name) or ())
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


def id_from_path(relative_path: str) -> str:
    """Derive an item id from its path relative to the content folder."""
    path = relative_path.replace("\\", "/")
    stem, dot, ext = path.rpartition(".")
    if dot and "/" not in ext:
        path = stem
    return path
