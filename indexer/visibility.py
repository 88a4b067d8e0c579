"""What a reader may see in one searcher, as bitsets (kb.access says who sees which level).

Visibility is a filter like a facet value: the documents of the levels a role
sees, OR-ed from the `visibility` field's bitsets, which the searcher builds once.
Items left to the site's default level are indexed as "default", so a change of
KB_DEFAULT_VISIBILITY takes effect at the next start, without a reindex. An
index built before visibility existed has no such field: it shows nothing to
anyone but managers until it is rebuilt (kb reindex does so by itself).
"""

from __future__ import annotations

from dataclasses import dataclass

from whoosh.searching import Searcher

from indexer.bitsets import BitSets, docsets
from indexer.schema import DEFAULT_LEVEL, WITHHELD_PEOPLE
from kb.access import Viewer, shown_to
from kb.item import Item


def visible(searcher: Searcher, viewer: Viewer, default_level: str) -> int:
    """The documents `viewer` may see."""
    return visible_in(docsets(searcher), viewer, default_level)


def visible_in(sets: BitSets, viewer: Viewer, default_level: str) -> int:
    """The documents of `sets` that `viewer` may see."""
    if viewer.sees_everything:
        return sets.all
    bits = 0
    for level in viewer.levels:
        bits |= sets.value("visibility", level)
    if default_level in viewer.levels:
        bits |= sets.value("visibility", DEFAULT_LEVEL)
    return bits


def people_shown(searcher: Searcher, viewer: Viewer) -> int:
    """The documents whose people `viewer` may see (all but non-attributable ones, for non-managers)."""
    return people_shown_in(docsets(searcher), viewer)


def people_shown_in(sets: BitSets, viewer: Viewer) -> int:
    if viewer.sees_people:
        return sets.all
    return sets.all & ~sets.value("attribution", WITHHELD_PEOPLE)


@dataclass(frozen=True)
class Sight:
    """What one reader may see in one searcher: the documents, and those whose people they may see."""

    viewer: Viewer
    docs: int
    people: int

    @classmethod
    def of(cls, searcher: Searcher, viewer: Viewer, default_level: str) -> Sight:
        return cls.over(docsets(searcher), viewer, default_level)

    @classmethod
    def over(cls, sets: BitSets, viewer: Viewer, default_level: str) -> Sight:
        return cls(viewer, visible_in(sets, viewer, default_level), people_shown_in(sets, viewer))

    def sees(self, docnum: int | None) -> bool:
        return docnum is not None and bool(self.docs >> docnum & 1)

    def show(self, item: Item) -> Item:
        return shown_to(item, self.viewer)
