"""The search page and its JSON twin."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, make_response, render_template, request

from kb.notes import Note
from kb.errors import QueryError
from kb.search import FACETS, SORTS, SearchRequest, SearchResult, result_to_dict
from webui import pagecache, viewmodels
from webui.context import is_manager, library, settings, viewer
from webui.context import vocabulary as labelled
from webui.errors import wants_json

bp = Blueprint("search", __name__)


def request_from_args() -> SearchRequest:
    """Read a SearchRequest from the query string; QueryError (400) names a bad parameter."""
    args = request.args
    page_text = args.get("page", "1")
    try:
        page = int(page_text)
    except ValueError:
        raise QueryError(Note("page: '%(page_text)s' is not a number", page_text=page_text)) from None
    sort = args.get("sort", "relevance") or "relevance"
    size_text = args.get("page_size") or args.get("limit") or str(settings().page_size)
    if not size_text.isdigit():
        raise QueryError(Note("page_size: '%(size_text)s' is not a number", size_text=size_text))
    filters = {name: tuple(dict.fromkeys(v.strip() for v in args.getlist(name) if v.strip())) for name in FACETS}
    search_request = SearchRequest(
        q=args.get("q", "").strip(),
        filters={k: v for k, v in filters.items() if v},
        sort=sort,
        page=page,
        page_size=int(size_text),
        role=viewer().role,
    )
    search_request.validate(max_page=settings().max_page, max_filter_values=settings().max_filter_values)
    return search_request


@bp.get("/")
def home():
    """The community's name and purpose (community.yml in the content folder), the search box, its
    latest activities and its topics."""
    activities = library().items_where("type", "activity", limit=6, viewer=viewer())
    vocabulary = labelled()
    roots = [t for t in vocabulary.topics.values() if not t.broader and not t.deprecated]
    return render_template("home.html", community=library().community(), activities=activities, roots=roots,
                           vocabulary=vocabulary)


@bp.get("/help/search")
def search_help():
    return render_template("help.html")


def run(search_request: SearchRequest):
    """Search, and log the search (first pages only, so paging through is one search)."""
    result = library().search(search_request)
    library().log_search(result)
    return result


def timed(response: Response, result: SearchResult) -> Response:
    """The search's own time and whether the result cache answered, for operators' tools and load tests
    (the standard Server-Timing header; a browser's developer tools show it)."""
    hit = "cache hit" if result.cached else "cache miss"
    response.headers["Server-Timing"] = f'search;dur={result.seconds * 1000:.1f};desc="{hit}"'
    return response


@bp.get("/search")
def search_page():
    search_request = request_from_args()
    result = run(search_request)
    if wants_json():
        return timed(jsonify(result_to_dict(result)), result)
    page = pagecache.kept(result)
    if page is None:
        page = search_html(search_request, result)
        pagecache.keep(result, page)
    return timed(make_response(page), result)


def search_html(search_request: SearchRequest, result: SearchResult) -> str:
    vocabulary = labelled(result.vocabulary)  # the generation the search ran on: labels match the counts
    return render_template(
        "search.html",
        result=result,
        facets=viewmodels.facets(result, vocabulary),
        pagination=viewmodels.pagination(result, settings().max_page),
        sorts=[(s, str(viewmodels.SORT_LABELS[s]), viewmodels.search_url(search_request, sort=s, page=1)) for s in SORTS],
        vocabulary=vocabulary,
        clear_url=viewmodels.search_url(search_request, filters={}, page=1),
        help=viewmodels.zero_help(result, vocabulary),
        bulk_url="/manage/bulk" + viewmodels.search_url(search_request, page=1).removeprefix("/search"),
    )


@bp.get("/search.json")
def search_json():
    search_request = request_from_args()
    result = run(search_request)
    return timed(jsonify(result_to_dict(result)), result)


@bp.get("/healthz")
def healthz():
    """Which index generation serves and whether the last run went well; managers see the details.

    The details (failed files' paths, the lock holder's pid and host) are for managers and `kb status` only.
    """
    status = library().status()
    ok = status["generation"] is not None
    if is_manager():
        return jsonify({"status": "ok" if ok else "no index", **status}), 200 if ok else 503
    last = status["last_run"]
    outcome = None if last is None else last.get("outcome") or ("partial" if last.get("failed") else "ok")
    # No count: how many items there are would tell a reader about those they may not see.
    public = {"status": "ok" if ok else "no index", "generation": status["generation"],
              "last_run_ok": None if outcome is None else outcome == "ok"}
    if "typesense" in status:  # how many nodes answer and whether one leads; their addresses are for managers
        nodes = status["typesense"]["nodes"]
        public["typesense"] = {"nodes": len(nodes), "healthy": sum(n["healthy"] for n in nodes),
                               "leader": any(n["role"] == "leader" for n in nodes)}
    return jsonify(public), 200 if ok else 503
