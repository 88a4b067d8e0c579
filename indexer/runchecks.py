"""The problems a reindex run reports: each item's own as it is read, its links once every id is known.

A run keeps no copy of the items it wrote for this: only each item's id and type
and the links its file writes. So a full build's memory does not grow with what
the items hold, and an incremental run checks the links of the files it read
against the whole index, not only against each other. Near-duplicates need every
item's text together: `kb check` reports them.
"""

from __future__ import annotations

import sys
from typing import Callable

from indexer.content import Failure
from kb.checks import Link, Problem, item_problems, link_problems, links_of
from kb.item import Item
from kb.vocabulary import Vocabulary


class RunChecks:
    def __init__(self, vocabulary: Vocabulary):
        self.vocabulary = vocabulary
        self.problems: list[Problem] = []
        self.links: list[Link] = []
        self.types: dict[str, str] = {}  # id -> type, of the items the run read

    def add(self, item: Item, links_only: bool = False) -> None:
        """Check an item; `links_only` for one that was not read again but whose links may have broken."""
        if not links_only:
            self.problems.extend(item_problems(item, self.vocabulary))
        self.links.extend(links_of(item))
        self.types[item.id] = sys.intern(item.type)

    def warnings(self, elsewhere: Callable[[str], str | None] = lambda item_id: None) -> list[Failure]:
        """Every problem found, as the run's warnings; `elsewhere` gives the type of an item the run did
        not read (None when no item has that id)."""
        looked_up: dict[str, str | None] = {}  # many items link to the same activity

        def type_of(item_id: str) -> str | None:
            if item_id in self.types:
                return self.types[item_id]
            if item_id not in looked_up:
                looked_up[item_id] = elsewhere(item_id)
            return looked_up[item_id]

        found = self.problems + link_problems(self.links, type_of)
        return [Failure(p.path, f"{p.severity}: {p.message}")
                for p in sorted(found, key=lambda p: (p.path, p.severity, p.message))]
