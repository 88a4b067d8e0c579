"""Who may see what: visibility levels of items, readers' roles, and people withheld from view.

Every item has a visibility level. Its own front matter (or sidecar) may say
`visibility: public | members | managers`; else the vocabulary's rules give one
by path or by type (`visibility:` in vocabulary.yml); else the site's default
(KB_DEFAULT_VISIBILITY) applies. A level kb does not know fails closed: the
item is for managers, and `kb check` names the file and the value.

Readers have roles: anonymous readers see public items, members see public and
members' items, managers see everything (the CLI is the operator's and runs as a
manager). An item marked `chatham_house: true` is non-attributable: its people
are shown to managers only, and the names of its listed people are kept out of
what the index holds of its text, so that no search by a name leads to it.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from kb.item import Item

LEVELS = ("public", "members", "managers")
ROLES = ("anonymous", "member", "manager")
# What each role sees.
SEES = {"anonymous": ("public",), "member": ("public", "members"), "manager": LEVELS}
NON_ATTRIBUTABLE = "chatham_house"  # the front matter key that marks an item non-attributable
WITHHELD = "[name withheld]"


@dataclass(frozen=True)
class Viewer:
    """The reader a page or a search is for."""

    role: str = "anonymous"

    def __post_init__(self) -> None:
        if self.role not in SEES:
            raise ValueError(f"role {self.role!r} is not one of {', '.join(ROLES)}")

    @property
    def levels(self) -> tuple[str, ...]:
        return SEES[self.role]

    @property
    def sees_everything(self) -> bool:
        return self.role == "manager"

    @property
    def sees_people(self) -> bool:
        """People of non-attributable items are for managers only."""
        return self.role == "manager"


ANONYMOUS, MEMBER, MANAGER = Viewer("anonymous"), Viewer("member"), Viewer("manager")


@dataclass(frozen=True)
class VisibilityRules:
    """Default levels from the vocabulary: by path (glob patterns, a folder ending in '/') then by type."""

    paths: tuple[tuple[str, str], ...] = ()
    types: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: Any) -> tuple[VisibilityRules, list[str]]:
        """Rules from the vocabulary's `visibility:` mapping, and the problems found (an unknown level is one)."""
        problems: list[str] = []
        if data is None:
            return cls(), problems
        if not isinstance(data, dict):
            return cls(), ["visibility: expected a mapping with 'paths' and 'types'"]
        rules: dict[str, list[tuple[str, str]]] = {"paths": [], "types": []}
        for key in ("paths", "types"):
            value = data.get(key) or {}
            if not isinstance(value, dict):
                problems.append(f"visibility.{key}: expected a mapping of {key[:-1]} to level")
                continue
            for name, level in value.items():
                checked = checked_level(level)
                if checked != level:
                    problems.append(f"visibility.{key}.{name}: {level!r} is not one of {', '.join(LEVELS)}")
                rules[key].append((str(name), checked))
        unknown = set(data) - {"paths", "types"}
        if unknown:
            problems.append(f"visibility: unknown keys {', '.join(sorted(map(str, unknown)))}")
        return cls(paths=tuple(rules["paths"]), types=dict(rules["types"])), problems

    def to_data(self) -> dict[str, Any]:
        return {"paths": dict(self.paths), "types": dict(self.types)}

    def level_for(self, path: str, item_type: str) -> str:
        """The level the rules give an item at `path` of `item_type`, or '' when none applies."""
        for pattern, level in self.paths:
            if matches_path(pattern, path):
                return level
        return self.types.get(item_type, "")


def matches_path(pattern: str, path: str) -> bool:
    if pattern.endswith("/"):
        return path.startswith(pattern) or fnmatch.fnmatchcase(path, pattern + "*")
    return fnmatch.fnmatchcase(path, pattern)


def checked_level(value: Any) -> str:
    """A level as written, or 'managers' for anything kb does not know (fail closed)."""
    text = str(value).strip().lower() if value is not None else ""
    return text if text in LEVELS else "managers"


def own_level(item: Item) -> str:
    """The level the item's own metadata gives ('' when it gives none)."""
    value = item.extra.get("visibility")
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""
    return checked_level(value)


def level_problem(item: Item) -> str | None:
    """What `kb check` says about an item's visibility value, if it is not a level."""
    value = item.extra.get("visibility")
    if value is None or own_level(item) == str(value).strip().lower():
        return None
    return f"visibility: {value!r} is not one of {', '.join(LEVELS)}; the item is shown to managers only"


def indexed_level(item: Item, rules: VisibilityRules) -> str:
    """The level the index keeps for an item: its own, else the rules' ('' leaves it to the site default)."""
    return own_level(item) or rules.level_for(item.path, item.type)


def level_of(item: Item, rules: VisibilityRules, default: str) -> str:
    return indexed_level(item, rules) or checked_level(default)


def non_attributable(item: Item) -> bool:
    value = item.extra.get(NON_ATTRIBUTABLE)
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "yes", "1"))


def name_patterns(people: Iterable[str]) -> re.Pattern[str] | None:
    """A pattern for the names of people given by id ('facilitator-ama-owusu': 'Ama Owusu', 'Owusu',
    and the id itself): every tail of the id's words, the last word only when it is 3 letters or more."""
    forms: set[str] = set()
    for person in people:
        words = [w for w in re.split(r"[-_.\s]+", person) if w]
        if not words:
            continue
        forms.add(re.escape(person))
        for start in range(len(words)):
            tail = words[start:]
            if len(tail) > 1 or len(tail[0]) >= 3:
                forms.add(r"\s+".join(re.escape(w) for w in tail))
    if not forms:
        return None
    ordered = sorted(forms, key=len, reverse=True)  # the longest name first: "Ama Owusu" before "Owusu"
    return re.compile(r"(?<!\w)(?:" + "|".join(ordered) + r")(?!\w)", re.IGNORECASE)


def withhold_names(text: str, people: Iterable[str], replacement: str = WITHHELD) -> str:
    pattern = name_patterns(people)
    return pattern.sub(replacement, text) if pattern and text else text


def shown_to(item: Item, viewer: Viewer) -> Item:
    """The item as `viewer` may see it: a non-attributable item without its people for all but managers."""
    if viewer.sees_people or not non_attributable(item) or not item.people:
        return item
    import dataclasses

    hide = item.people
    return dataclasses.replace(
        item, people=(), title=withhold_names(item.title, hide), summary=withhold_names(item.summary, hide),
        body=withhold_names(item.body, hide), html=withhold_names(item.html, hide),
        text=withhold_names(item.text, hide))
