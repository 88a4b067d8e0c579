"""Manager writes: tag one item from its page, or tag the results of a search in bulk."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, flash, g, redirect, render_template, request

from indexer import searching, suggest
from indexer.content import content_root, hash_file
from indexer.readers import SIDECAR
from indexer.tagging import Change, bulk_plan, bulk_tag, tag
from kb.errors import QueryError
from kb.search import SearchRequest, item_url
from webui.auth import login_required
from webui.context import limits, settings, store

bp = Blueprint("tagging", __name__)
BULK_LIMIT = 500


def id_list(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in text.replace("\n", ",").split(",") if part.strip()))


@bp.post("/items/<path:item_id>/tags")
@login_required
def save_tags(item_id: str):
    form = request.form
    change = Change(set_topics=tuple(form.getlist("topics")), set_activities=id_list(form.get("activities", "")),
                    set_type=form.get("type") or None)
    result = tag(settings().content, settings().index, Path(settings().data), item_id, change,
                 who=g.user, expected=form.get("version") or None, limits=limits())
    changed = [key for key, (before, after) in result.changes.items() if before != after]
    flash(f"Saved {', '.join(changed)} in {result.path}." if changed else "Nothing to change.")
    return redirect(item_url(searching.get_item(store(), item_id)))


@bp.post("/items/<path:item_id>/suggestions")
@login_required
def decide_suggestion(item_id: str):
    topic, decision = request.form.get("topic", ""), request.form.get("decision", "")
    if decision not in ("accept", "reject") or not topic:
        raise QueryError("decision: must be accept or reject, with a topic")
    if decision == "accept":
        tag(settings().content, settings().index, Path(settings().data), item_id, Change(add_topics=(topic,)),
            who=g.user, expected=request.form.get("version") or None, limits=limits())
    suggest.decide(Path(settings().data), item_id, topic, "accepted" if decision == "accept" else "rejected")
    flash(f"{'Tagged' if decision == 'accept' else 'Will not suggest again'}: {topic}.")
    return redirect(item_url(searching.get_item(store(), item_id)) + "#tags")


def request_from_form() -> SearchRequest:
    from webui.search import request_from_args

    return request_from_args()


@bp.get("/manage/bulk")
@login_required
def bulk_form():
    search_request = request_from_form()
    result = searching.search(store(), SearchRequest(q=search_request.q, filters=search_request.filters,
                                                     page_size=100))
    items = matching_ids(search_request)
    return render_template("bulk.html", request_=search_request, total=result.total, items=items,
                           limit=BULK_LIMIT, vocabulary=searching.vocabulary(store()))


def matching_ids(search_request: SearchRequest) -> list[str]:
    """Every item the search finds, up to BULK_LIMIT."""
    ids: list[str] = []
    page = 1
    while len(ids) < BULK_LIMIT:
        result = searching.search(store(), SearchRequest(q=search_request.q, filters=search_request.filters,
                                                         sort="newest", page=page, page_size=100))
        ids += [hit.item.id for hit in result.hits]
        if page * 100 >= result.total or page >= 100:
            break
        page += 1
    return ids[:BULK_LIMIT]


def item_version(edited_path: str) -> str:
    """The version token of the item whose file (or sidecar) an edit changes."""
    document = edited_path[: -len(SIDECAR)] if edited_path.endswith(SIDECAR) else edited_path
    return hash_file(content_root(settings().content), document)


def bulk_change() -> Change:
    add, remove = request.form.get("add", "").strip(), request.form.get("remove", "").strip()
    if not add and not remove:
        raise QueryError("choose a topic to add or to remove")
    return Change(add_topics=(add,) if add else (), remove_topics=(remove,) if remove else ())


@bp.post("/manage/bulk/preview")
@login_required
def bulk_preview():
    change = bulk_change()
    item_ids = request.form.getlist("item")
    if not item_ids:
        raise QueryError("select at least one item")
    planned = bulk_plan(settings().content, settings().index, item_ids[:BULK_LIMIT], change)
    rows = []
    for item_id, outcome in planned:
        if isinstance(outcome, str):
            rows.append({"id": item_id, "error": outcome})
        else:
            rows.append({"id": item_id, "path": outcome.path, "version": item_version(outcome.path),
                         "changes": {k: v for k, v in outcome.changes.items() if v[0] != v[1]}})
    return render_template("bulk_preview.html", rows=rows, add=request.form.get("add", ""),
                           remove=request.form.get("remove", ""))


@bp.post("/manage/bulk/apply")
@login_required
def bulk_apply():
    change = bulk_change()
    versions = dict(zip(request.form.getlist("item"), request.form.getlist("version")))
    if not versions:
        raise QueryError("nothing to apply")
    outcome = bulk_tag(settings().content, settings().index, Path(settings().data), versions, change, who=g.user,
                       limits=limits())
    return render_template("bulk_done.html", outcome=outcome)
