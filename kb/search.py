"""Search requests and results as plain data, shared by every backend and front end."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from kb.access import ROLES
from kb.errors import QueryError
from kb.item import Item
from kb.notes import Note
from kb.query import ParsedQuery
from kb.vocabulary import Vocabulary

# Facets shown beside results, in display order; each is a multi-valued field.
FACETS = ("topic", "type", "kind", "country", "year", "lang", "person")
SORTS = ("relevance", "newest", "oldest")


@dataclass(frozen=True)
class SearchRequest:
    """One search: query text, selected facet values, sort and page."""

    q: str = ""
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sort: str = "relevance"
    page: int = 1
    page_size: int = 10
    role: str = "anonymous"  # who searches (kb.access): what they may see is all a search shows them

    def validate(self, max_page: int = 100, max_page_size: int = 100, max_filter_values: int = 50) -> None:
        """Raise QueryError naming the parameter that cannot be used.

        A long query is not an error: `cut` shortens it, and the search says so.
        """
        if self.role not in ROLES:
            raise QueryError(Note("role: '%(role)s' is not one of %(choices)s", role=self.role, choices=', '.join(ROLES)))
        if self.sort not in SORTS:
            raise QueryError(Note("sort: '%(sort)s' is not one of %(choices)s", sort=self.sort, choices=', '.join(SORTS)))
        if not 1 <= self.page <= max_page:
            raise QueryError(Note("page: must be between 1 and %(max_page)s, got %(page)s",
                                  max_page=max_page, page=self.page))
        if not 1 <= self.page_size <= max_page_size:
            raise QueryError(Note("page_size: must be between 1 and %(max_page_size)s, got %(page_size)s",
                                  max_page_size=max_page_size, page_size=self.page_size))
        for name in self.filters:
            if name not in FACETS:
                raise QueryError(Note("%(name)s: is not a filter; use one of %(choices)s",
                                      name=name, choices=', '.join(FACETS)))
        selected = sum(len(values) for values in self.filters.values())
        if selected > max_filter_values:
            raise QueryError(Note("filters: %(selected)s values are selected; the limit is %(max_filter_values)s. "
                                  "Remove some filters and search again",
                                  selected=selected, max_filter_values=max_filter_values))

    def cut(self, max_query_length: int) -> tuple[SearchRequest, str]:
        """The request with its query cut to `max_query_length` characters (at a space where it can),
        and a note saying so ('' when the query is short enough)."""
        if len(self.q) <= max_query_length:
            return self, ""
        head = self.q[:max_query_length]
        if " " in head[max_query_length // 2:] and not self.q[max_query_length].isspace():
            head = head.rsplit(" ", 1)[0]
        if head.count('"') % 2:  # do not leave a phrase open at the cut
            head = head[:head.rindex('"')]
        note = Note("The query is %(length)s characters long; only its first %(searched)s characters "
                    "were searched (the limit is %(limit)s).",
                    length=f"{len(self.q):,}", searched=f"{len(head):,}", limit=f"{max_query_length:,}")
        return dataclasses.replace(self, q=head.rstrip()), note


@dataclass(frozen=True)
class Hit:
    """One result: the item, its score, a highlighted snippet (safe HTML) and where it matched.

    A partial hit matches some of the query's words but not enough to count as a
    result: it comes after every full match and is counted apart.
    """

    item: Item
    score: float
    snippet: str
    matched_in: tuple[str, ...] = ()
    partial: bool = False


@dataclass(frozen=True)
class FacetCount:
    value: str
    count: int


@dataclass(frozen=True)
class Relaxation:
    """A filter that excludes results, and how many there would be without it."""

    name: str  # a facet name, or "date"
    values: tuple[str, ...]
    count: int


@dataclass(frozen=True)
class SearchResult:
    """Everything a results page or the JSON API shows."""

    request: SearchRequest
    parsed: ParsedQuery
    total: int  # items that match the query (the count a member reads)
    hits: tuple[Hit, ...]  # the page: matches first, then partial matches
    facets: dict[str, tuple[FacetCount, ...]]
    messages: tuple[str, ...] = ()
    seconds: float = 0.0
    suggestion: str = ""  # the query with misspelt words corrected ("did you mean")
    relaxations: tuple[Relaxation, ...] = ()  # with no results: filters to remove, and what each would give
    nearest_topics: tuple[str, ...] = ()  # with no results: topics close to what was asked
    partial_total: int = 0  # items that match some of the query's words, not enough of them
    other_languages: tuple[Hit, ...] = ()  # close in meaning, written in another language than the page
    cached: bool = False  # served from the process's result cache (said in the page's Server-Timing header)
    # The index state and request it answers (equal states give equal results): what a page made of it
    # may be kept under (webui.pagecache). Empty when the backend does not say.
    state: tuple = field(default=(), compare=False, repr=False)
    # The vocabulary of the generation the search ran on: labels on the page come from it, so they
    # always match the counts, even when a new generation serves meanwhile.
    vocabulary: Vocabulary | None = field(default=None, compare=False, repr=False)

    @property
    def pages(self) -> int:
        """Pages of hits: the matches, then the partial matches."""
        return max(1, -(-(self.total + self.partial_total) // self.request.page_size))


def item_url(item: Item) -> str:
    """The web path of an item's page; activities have their own pages."""
    return f"/activities/{item.id}" if item.is_activity else f"/items/{item.id}"


def hit_to_dict(hit: Hit) -> dict[str, Any]:
    """The JSON shape of one hit."""
    item = hit.item
    return {
        "id": item.id,
        "title": item.title,
        "type": item.type,
        "date": item.date.isoformat() if item.date else None,
        "score": round(hit.score, 4),
        "snippet": hit.snippet,
        "matched_in": list(hit.matched_in),
        "match": "partial" if hit.partial else "full",
        "topics": list(item.topics),
        "activities": list(item.activities),
        "countries": list(item.countries),
        "lang": item.lang,
        "url": item_url(item),
    }


def result_to_dict(result: SearchResult) -> dict[str, Any]:
    """The JSON shape of a search result."""
    return {
        "query": result.request.q,
        "filters": {k: list(v) for k, v in result.request.filters.items()},
        "sort": result.request.sort,
        "page": result.request.page,
        "page_size": result.request.page_size,
        "total": result.total,
        "partial_total": result.partial_total,
        "hits": [hit_to_dict(h) for h in result.hits],
        "facets": {name: {f.value: f.count for f in counts} for name, counts in result.facets.items()},
        "messages": list(result.messages),
        "suggestion": result.suggestion or None,
        "relaxations": [{"filter": r.name, "values": list(r.values), "count": r.count} for r in result.relaxations],
        "other_languages": [hit_to_dict(h) for h in result.other_languages],
        "nearest_topics": list(result.nearest_topics),
        "seconds": round(result.seconds, 4),
    }
