"""View-models: everything a template shows, computed in Python; templates only loop."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote_plus

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from kb.query import remove_filter
from kb.search import FACETS, SearchRequest, SearchResult
from kb.settings import Settings
from kb.vocabulary import Vocabulary
from webui.i18n import language_label

FACET_TITLES = {"topic": _l("Topic"), "type": _l("Type"), "kind": _l("Activity kind"), "country": _l("Country"),
                "year": _l("Year"), "lang": _l("Language"), "person": _l("People")}
SORT_LABELS = {"relevance": _l("relevance"), "newest": _l("newest"), "oldest": _l("oldest")}
FACET_SHOWN = 12
DEFAULT_PAGE_SIZE = Settings().page_size


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool
    url: str


@dataclass(frozen=True)
class Facet:
    name: str
    title: str
    values: tuple[FacetValue, ...]


@dataclass(frozen=True)
class PageLink:
    number: int
    url: str
    current: bool


def search_url(request: SearchRequest, **changes: object) -> str:
    """The URL of a search state: the request with some parameters changed."""
    q = changes.get("q", request.q)
    filters = changes.get("filters", request.filters)
    sort = changes.get("sort", request.sort)
    page = changes.get("page", request.page)
    params: list[tuple[str, str]] = []
    if q:
        params.append(("q", str(q)))
    for name in FACETS:
        params.extend((name, v) for v in filters.get(name, ()))  # type: ignore[union-attr]
    if sort != "relevance":
        params.append(("sort", str(sort)))
    if page != 1:
        params.append(("page", str(page)))
    if request.page_size != DEFAULT_PAGE_SIZE:  # a size asked for stays while paging
        params.append(("page_size", str(request.page_size)))
    # urlencode, with each part quoted once per process: a page of results links 50 states or more,
    # all with the same words (a long question's quoting was most of a page's links)
    return "/search" + ("?" + "&".join(f"{quoted(k)}={quoted(v)}" for k, v in params) if params else "")


@lru_cache(maxsize=1024)
def quoted(text: str) -> str:
    return quote_plus(text)


def toggled(filters: dict[str, tuple[str, ...]], name: str, value: str) -> dict[str, tuple[str, ...]]:
    """Filters with `value` added to or removed from facet `name`."""
    current = filters.get(name, ())
    values = tuple(v for v in current if v != value) if value in current else current + (value,)
    result = {k: v for k, v in filters.items() if k != name}
    if values:
        result[name] = values
    return result


def value_label(name: str, value: str, vocabulary: Vocabulary) -> str:
    if name == "topic":
        return vocabulary.label(value)
    if name == "type":
        return vocabulary.type_label(value)
    if name == "kind":
        return vocabulary.kind_label(value)
    if name == "lang":
        return language_label(value)
    if name == "person":
        return vocabulary.person_name(value)
    if name == "country":
        return vocabulary.country_label(value)
    return value


def facets(result: SearchResult, vocabulary: Vocabulary) -> list[Facet]:
    """Facet panels: selected values first, then the largest counts."""
    request = result.request
    panels = []
    for name in FACETS:
        chosen = set(request.filters.get(name, ()))
        counts = sorted(result.facets.get(name, ()), key=lambda f: (f.value not in chosen, -f.count, f.value))
        if name == "year":
            counts = sorted(counts, key=lambda f: (f.value not in chosen, f.value), reverse=False)
        values = tuple(
            FacetValue(
                value=f.value,
                label=value_label(name, f.value, vocabulary),
                count=f.count,
                selected=f.value in chosen,
                url=search_url(request, filters=toggled(request.filters, name, f.value), page=1),
            )
            for f in counts[: max(FACET_SHOWN, len(chosen))]
        )
        if values:
            panels.append(Facet(name, str(FACET_TITLES[name]), values))
    return panels


@dataclass(frozen=True)
class Help:
    """What a page with no results offers: a corrected query, filters to drop, nearby topics."""

    suggestion: tuple[str, str] | None  # (text, url)
    relaxations: tuple[tuple[str, int, str], ...]  # (description, count, url)
    topics: tuple[tuple[str, str], ...]  # (label, url)


def zero_help(result: SearchResult, vocabulary: Vocabulary) -> Help:
    request = result.request
    suggestion = None
    if result.suggestion:
        suggestion = (result.suggestion, search_url(request, q=result.suggestion, page=1))
    relaxations = []
    for relaxation in result.relaxations:
        if relaxation.name == "date":
            label = _("the dates %(dates)s", dates=" ".join(relaxation.values))
        else:
            names = ", ".join(value_label(relaxation.name, v, vocabulary) for v in relaxation.values)
            label = f"{str(FACET_TITLES.get(relaxation.name, relaxation.name)).lower()}: {names}"
        filters = {k: v for k, v in request.filters.items() if k != relaxation.name}
        url = search_url(request, q=remove_filter(request.q, relaxation.name), filters=filters, page=1)
        relaxations.append((label, relaxation.count, url))
    topics = tuple((vocabulary.label(t), f"/topics/{t}") for t in result.nearest_topics)
    return Help(suggestion, tuple(relaxations), topics)


@dataclass(frozen=True)
class Pagination:
    """Previous, the page numbers around the current one with gaps (None) between, and Next."""

    previous: str | None
    links: tuple[PageLink | None, ...]
    next: str | None


def pagination(result: SearchResult, max_page: int) -> Pagination:
    """Links to the first and last pages and the pages near the current one: 1 … 4 5 [6] 7 8 … 20."""
    last = min(result.pages, max_page)
    current = result.request.page
    numbers = sorted({1, last, *range(max(1, current - 2), min(last, current + 2) + 1)})
    links: list[PageLink | None] = []
    for number in numbers:
        if links and links[-1] is not None and number > links[-1].number + 1:
            links.append(None)
        links.append(PageLink(number, search_url(result.request, page=number), number == current))
    previous = search_url(result.request, page=current - 1) if current > 1 else None
    following = search_url(result.request, page=current + 1) if current < last else None
    return Pagination(previous, tuple(links), following)
