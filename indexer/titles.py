"""The last order of a search's best hits: the items whose title holds every unit of the query first.

A member who types most of a title is after that page, however close in meaning or in words others
are. Among those items, the titles the query says most of come first: "paperwork reduction act fast
track" is the page of that title, not the memo whose long title also holds the five words.
"""

from __future__ import annotations

from typing import Callable

from indexer.matching import Plan
from indexer.schema import LANGUAGES, index_words
from kb.item import Item

# How many of the items whose title holds every unit are looked at for the share of their title the query
# says (each title is read from the item's stored copy), and the share that is most of a title.
TITLE_DEPTH = 20
MOST = 0.5

# The analysis language of each of some documents' titles, and the title's words as indexed.
Titles = Callable[[list[int]], list[tuple[str, set[str]]]]


def titled_first(query: Plan, top: tuple[int, float] | None, head: list[tuple[int, float]],
                 titles: Titles | None = None) -> list[tuple[int, float]]:
    """The items of `head` whose title holds every unit of a query of several first: with `titles`, those
    of the best TITLE_DEPTH whose title the query says most of (more than half its words), then the first
    pass's best (`top`), then the others, each in order."""
    if len(query.units) < 2 or not head:
        return head
    titled = query.units[0].title_docs
    for unit in query.units[1:]:
        titled &= unit.title_docs
    if not titled:
        return head
    first = [pair for pair in head if top and pair[0] == top[0] and titled >> pair[0] & 1]
    ahead = [pair for pair in head if titled >> pair[0] & 1 and pair not in first]
    if titles is not None and len(first + ahead) > 1:
        taken = TITLE_DEPTH - len(first)
        best, rest = first + ahead[:taken], ahead[taken:]
        share = title_shares(query, titles([docnum for docnum, _ in best]))
        most = [pair for pair, part in zip(best, share) if part > MOST]
        first, ahead = most + [pair for pair in best if pair not in most], rest
    return first + ahead + [pair for pair in head if not titled >> pair[0] & 1]


def title_shares(query: Plan, titles: list[tuple[str, set[str]]]) -> list[float]:
    """For each title (its analysis language and words as indexed: stems, without stop words), the share
    of its words the query's units hold, as written or as corrected."""
    said: dict[str, set[str]] = {}
    shares = []
    for lang, words in titles:
        if lang not in said:
            said[lang] = set(index_words(lang, " ".join(unit.spoken or unit.text for unit in query.units)))
        shares.append(len(words & said[lang]) / len(words) if words else 0.0)
    return shares


def title_words(item: Item) -> tuple[str, set[str]]:
    """An item's title's analysis language (its own, English for others, as indexer.schema.text_field chooses)
    and words as indexed: what each backend's `titles` gives for its documents."""
    lang = item.lang if item.lang in LANGUAGES else "en"
    return lang, set(index_words(lang, item.title))
