"""Typed links: how an item or activity relates to another, not only that it does.

Front matter lists the ids an item relates to under one key per kind of link:

    complements: [forum-2020-session-1]    # a roundtable complements a session
    follows_up: [forum-2020-roundtable-1]  # a one-on-one follows up a roundtable
    responds_to: [survey-2020-member-needs]  # a webinar responds to a survey's needs
    produced_by: [working-group-budget-flexibility]  # a product of a working group

Each kind is shown in its own words from both sides: "Complements: Session 1" on
the roundtable's page, "Complemented by: Roundtable 1" on the session's.
"""

from __future__ import annotations

from dataclasses import dataclass

from kb.item import Item
from kb.notes import Note


@dataclass(frozen=True)
class LinkType:
    key: str
    forward: str  # on the page of the item that writes the link
    backward: str  # on the page of the item it names
    forward_reason: str  # a related item's reason, seen from the item that writes the link
    backward_reason: str


LINK_TYPES = {t.key: t for t in (
    LinkType("complements", Note("Complements"), Note("Complemented by"), Note("complemented by this item"),
             Note("complements this item")),
    LinkType("follows_up", Note("Follows up"), Note("Followed up by"), Note("followed up by this item"),
             Note("follows up this item")),
    LinkType("responds_to", Note("Responds to"), Note("Responded to by"), Note("responded to by this item"),
             Note("responds to this item")),
    LinkType("produced_by", Note("Produced by"), Note("Produced"), Note("produced this item"),
             Note("produced by this item")),
)}


def typed_links(item: Item) -> list[tuple[str, str]]:
    """(link key, target id) for each typed link the item's metadata writes, in key order."""
    found: list[tuple[str, str]] = []
    for key in LINK_TYPES:
        value = item.extra.get(key)
        values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        for target in values:
            if isinstance(target, (str, int)) and str(target).strip():
                found.append((key, str(target).strip()))
    return list(dict.fromkeys(found))


def link_value(key: str, target: str) -> str:
    """How the index keeps one typed link (searchable from the target's side)."""
    return f"{key}:{target}"
