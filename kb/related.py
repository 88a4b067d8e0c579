"""Score related items of an item and say why each one is related."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

from kb.item import Item
from kb.notes import Note
from kb.vocabulary import Vocabulary

# Weights: an explicit link outranks any amount of shared topics or similar wording.
LINKED = 10.0
LINKING = 8.0
SIBLING = 3.0
PER_SHARED_TOPIC = 2.0
SIMILAR = 3.0
MENTIONS = 6.0  # a text that names an activity by its title: less than a link, more than topics
PER_RELATED_TOPIC = 1.0  # a broader or narrower topic says less than the same topic
PER_SHARED_PERSON = 1.5
SHOWN_NAMES = 3  # people named in one reason


@dataclass(frozen=True)
class Related:
    """An item related to another, with a score and the reasons shown to users."""

    item: Item
    score: float
    reasons: tuple[str, ...]


@dataclass
class Evidence:
    """What relates one item to another, gathered from the index before either is read in full."""

    linked: str = ""  # the reason of an explicit link, if any ("linked from this item" ...)
    linking: str = ""
    mentions: str = ""  # one names the other in its text, without a link
    typed: list[str] = field(default_factory=list)  # typed links, in their own words (kb.links)
    siblings: list[str] = field(default_factory=list)  # titles of the small activities both belong to
    topics: list[str] = field(default_factory=list)  # shared topics
    related_topics: list[str] = field(default_factory=list)  # broader or narrower topics in common
    named_topics: list[str] = field(default_factory=list)  # the item's topics the other's text names, untagged
    people: list[str] = field(default_factory=list)  # names of people both involve
    similar: float = 0.0  # share of the best similar-text score, 0 to 1
    words: list[str] = field(default_factory=list)  # the telling words the texts share

    def score(self) -> float:
        return ((LINKED if self.linked else 0.0) + (LINKING if self.linking else 0.0) + (MENTIONS if self.mentions else 0.0)
                + LINKED * len(self.typed)
                + SIBLING * len(self.siblings) + PER_SHARED_TOPIC * len(self.topics)
                + PER_RELATED_TOPIC * (len(self.related_topics) + len(self.named_topics))
                + PER_SHARED_PERSON * len(self.people)
                + SIMILAR * self.similar)

    def reasons(self, label: Callable[[str], str] = str) -> tuple[str, ...]:
        """Each reason says what is shared; topics by their `label` (the page may name them in its language:
        the notes keep their ids)."""
        found = [*self.typed, *(r for r in (self.linked, self.linking, self.mentions) if r)]
        found += [Note("also part of %(activity)s", activity=title) for title in self.siblings]
        if self.topics:
            found.append(Note("shares topics: %(topics)s", topics=", ".join(map(label, self.topics)),
                              topic_ids=tuple(self.topics)))
        if self.related_topics:
            found.append(Note("related topics: %(topics)s", topics=", ".join(map(label, self.related_topics)),
                              topic_ids=tuple(self.related_topics)))
        if self.named_topics:
            found.append(Note("its text names: %(topics)s", topics=", ".join(map(label, self.named_topics)),
                              topic_ids=tuple(self.named_topics)))
        if self.people:
            more, names = len(self.people) - SHOWN_NAMES, ", ".join(self.people[:SHOWN_NAMES])
            found.append(Note("also with %(names)s and %(more)d more", names=names, more=more) if more > 0
                         else Note("also with %(names)s", names=names))
        if self.similar:
            found.append(Note("similar text: %(words)s", words=", ".join(self.words)) if self.words
                         else Note("similar text"))
        return tuple(found)


@dataclass(frozen=True)
class RelatedPanels:
    """An item's related activities and related content, each strongest first, with how many there are
    in all (a page shows the first few and links to the rest)."""

    activities: tuple[Related, ...] = ()
    content: tuple[Related, ...] = ()
    activities_total: int = 0
    content_total: int = 0

    def merged(self) -> list[Related]:
        return sorted(self.activities + self.content, key=lambda r: -r.score)
