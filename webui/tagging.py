"""Manager writes: tag one item from its page, or tag the results of a search in bulk.

A form refused because of what was sent, or of what changed since the page was
loaded, comes back as its page with the message beside the field and what was
typed kept (webui.forms).
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

from flask import Blueprint, flash, g, redirect, render_template, request
from flask_babel import gettext as _

from indexer.tagging import Change
from kb.notes import Note
from kb.errors import ConflictError, KbError, QueryError
from kb.item import Item
from kb.search import SearchRequest, item_url
from webui.auth import login_required
from webui.context import library
from webui.context import vocabulary as labelled
from webui.forms import FORM_ERRORS, form_error
from webui.items import render_page

bp = Blueprint("tagging", __name__)
BULK_LIMIT = 500
TAG_FIELDS = ("topics", "activities", "type")


def id_list(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in text.replace("\n", ",").split(",") if part.strip()))


def conflict_message(item_id: str) -> str:
    """What to tell a manager whose page was out of date: nothing was saved, and what the file says now."""
    try:
        item = library().item(item_id)
        path, values = item.path, library().current_tags(item)
    except (OSError, KbError):
        return _("%(item)s changed since it was loaded, so nothing was saved; reload the page and make the change "
                 "again.", item=item_id)
    none = _("(none)")
    return _("%(path)s changed since it was loaded, so nothing was saved. The file now has topics: %(topics)s; "
             "activities: %(activities)s; type: %(type)s. Your choices are kept below: check them against these and "
             "save again.", path=path, topics=", ".join(values["topics"]) or none,
             activities=", ".join(values["activities"]) or none, type=values["type"] or none)


@bp.post("/items/<path:item_id>/tags")
@login_required
def save_tags(item_id: str):
    form = request.form
    change = Change(set_topics=tuple(form.getlist("topics")), set_activities=id_list(form.get("activities", "")),
                    set_type=form.get("type") or None)
    try:
        result = library().tag(item_id, change, who=g.user, expected=form.get("version") or None)
    except FORM_ERRORS as exc:
        error = form_error(exc, "tags", TAG_FIELDS)
        if isinstance(exc, ConflictError):
            error = replace(error, message=conflict_message(item_id))
        state = {"topics": form.getlist("topics"), "activities": form.get("activities", ""),
                 "type": form.get("type", ""), "error": error, "open": True}
        return render_page(library().item(item_id), state), error.status
    changed = [key for key, (before, after) in result.changes.items() if before != after]
    flash(_("Saved %(fields)s in %(path)s.", fields=", ".join(changed), path=result.path) if changed
          else _("Nothing to change."))
    return redirect(item_url(library().item(item_id)))


@bp.post("/items/<path:item_id>/suggestions")
@login_required
def decide_suggestion(item_id: str):
    topic, decision = request.form.get("topic", ""), request.form.get("decision", "")
    try:
        if decision not in ("accept", "reject") or not topic:
            raise QueryError(_("choose Accept or Reject for one suggested topic"))
        if decision == "accept":
            library().tag(item_id, Change(add_topics=(topic,)), who=g.user,
                          expected=request.form.get("version") or None)
    except FORM_ERRORS as exc:
        error = form_error(exc, "suggestions")
        if isinstance(exc, ConflictError):
            path = library().item(item_id).path
            error = replace(error, message=_("%(path)s changed since it was loaded, so nothing was saved; the "
                                             "suggestions below are for the file as it is now.", path=path))
        state = {"error": error, "open": True, "suggestion": topic}
        return render_page(library().item(item_id), state), error.status
    library().decide_suggestion(item_id, topic, accepted=decision == "accept")
    flash(_("Tagged: %(topic)s.", topic=topic) if decision == "accept"
          else _("Will not suggest again: %(topic)s.", topic=topic))
    return redirect(item_url(library().item(item_id)) + "#tags")


@bp.post("/items/<path:item_id>/links")
@login_required
def decide_link(item_id: str):
    """Accept (link the item to the activity its text names) or reject a suggested link."""
    activity, decision = request.form.get("activity", ""), request.form.get("decision", "")
    try:
        if decision not in ("accept", "reject") or not activity:
            raise QueryError(_("choose Accept or Reject for one suggested link"))
        if decision == "accept":
            library().tag(item_id, Change(add_activities=(activity,)), who=g.user,
                          expected=request.form.get("version") or None)
    except FORM_ERRORS as exc:
        error = form_error(exc, "suggestions")
        state = {"error": error, "open": True, "suggestion": activity}
        return render_page(library().item(item_id), state), error.status
    library().decide_link(item_id, activity, accepted=decision == "accept")
    flash(_("Linked to: %(activity)s.", activity=activity) if decision == "accept"
          else _("Will not suggest again: %(activity)s.", activity=activity))
    return redirect(item_url(library().item(item_id)) + "#tags")


def request_from_form() -> SearchRequest:
    from webui.search import request_from_args

    return request_from_args()


@bp.get("/manage/bulk")
@login_required
def bulk_form():
    try:
        search_request = request_from_form()
    except QueryError as exc:
        error = form_error(exc, "bulk")
        return render_template("bulk.html", activities=activity_choices(), request_=None, search="", total=0, items=[], checked=set(),
                               limit=BULK_LIMIT, vocabulary=labelled(), error=error,
                               values={}), error.status
    return bulk_page(search_request)


def bulk_page(search_request: SearchRequest, error=None, status: int = 200):
    """The list of a search's matches to tag (not its partial matches), with their titles.

    All are ticked at first (?select=none unticks them; after a refused preview,
    the choices that were sent stay).
    """
    items, total = matching_items(search_request)
    sent = request.form if request.method == "POST" else {}
    if request.method == "POST":
        checked = set(request.form.getlist("item"))
    else:
        checked = set() if request.args.get("select") == "none" else {item.id for item in items}
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "select"]
    search = urlencode(args)
    return render_template("bulk.html", activities=activity_choices(), request_=search_request, search=search, total=total, items=items,
                           checked=checked, limit=BULK_LIMIT, vocabulary=labelled(),
                           select_all=f"/manage/bulk?{urlencode(args)}",
                           select_none=f"/manage/bulk?{urlencode(args + [('select', 'none')])}",
                           error=error, values=sent), status


def matching_items(search_request: SearchRequest) -> tuple[list[Item], int]:
    """The items that match the search (newest first, up to BULK_LIMIT), and how many match in all."""
    items: list[Item] = []
    page, total = 1, 0
    while len(items) < BULK_LIMIT:
        result = library().search(SearchRequest(q=search_request.q, filters=search_request.filters,
                                                sort="newest", page=page, page_size=100, role="manager"))
        total = result.total
        items += [hit.item for hit in result.hits if not hit.partial]
        if page * 100 >= result.total or page >= 100:
            break
        page += 1
    return items[:BULK_LIMIT], total


def activity_choices() -> list[Item]:
    """The activities bulk tagging can link or unlink, oldest first."""
    return sorted(library().items_where("type", "activity"), key=lambda a: (a.date is None, a.date, a.title))


def bulk_change() -> Change:
    form = {key: request.form.get(key, "").strip() for key in BULK_FIELDS}
    if not any(form.values()):
        raise QueryError(Note("choose a topic or an activity to add or to remove"), field="add")
    return Change(add_topics=tuple(filter(None, [form["add"]])), remove_topics=tuple(filter(None, [form["remove"]])),
                  add_activities=tuple(filter(None, [form["add_activity"]])),
                  remove_activities=tuple(filter(None, [form["remove_activity"]])))


# What a bulk change can do; the preview and apply forms carry them along.
BULK_FIELDS = ("add", "remove", "add_activity", "remove_activity")


def preview_rows(item_ids: list[str], change: Change, versions: dict[str, str] | None = None) -> list[dict]:
    """A row per item: the change its file would get, or why it cannot; `versions` keeps previewed versions."""
    rows = []
    for item_id, outcome in library().plan_bulk(item_ids[:BULK_LIMIT], change):
        if isinstance(outcome, str):
            rows.append({"id": item_id, "error": outcome})
        else:
            version = (versions or {}).get(item_id) or library().version(outcome.path)
            rows.append({"id": item_id, "path": outcome.path, "version": version,
                         "changes": {k: v for k, v in outcome.changes.items() if v[0] != v[1]}})
    return rows


@bp.post("/manage/bulk/preview")
@login_required
def bulk_preview():
    try:
        change = bulk_change()
        item_ids = request.form.getlist("item")
        if not item_ids:
            raise QueryError(Note("select at least one item"), field="item")
        rows = preview_rows(item_ids, change)
    except FORM_ERRORS as exc:
        error = form_error(exc, "bulk", ("add", "remove", "item"))
        try:  # the search the form came from is in its URL: list its items again, as they were ticked
            return bulk_page(request_from_form(), error, error.status)
        except QueryError:
            ticked = [library().find_item(i) or Item(id=i, title=i) for i in request.form.getlist("item")]
            return render_template("bulk.html", activities=activity_choices(), request_=None, search="", total=0, items=ticked,
                                   checked=set(request.form.getlist("item")), limit=BULK_LIMIT,
                                   vocabulary=labelled(), error=error,
                                   values=request.form), error.status
    return render_template("bulk_preview.html", rows=rows, change={k: request.form.get(k, "") for k in BULK_FIELDS},
                           error=None)


@bp.post("/manage/bulk/apply")
@login_required
def bulk_apply():
    versions = dict(zip(request.form.getlist("item"), request.form.getlist("version")))
    change = None
    try:
        change = bulk_change()
        if not versions:
            raise QueryError(Note("nothing to apply: no file would change"))
        outcome = library().bulk_tag(versions, change, who=g.user)
    except FORM_ERRORS as exc:
        error = form_error(exc, "apply")
        rows = preview_rows(list(versions), change, versions) if change else []
        return render_template("bulk_preview.html", rows=rows, change={k: request.form.get(k, "") for k in BULK_FIELDS},
                               error=error), error.status
    return render_template("bulk_done.html", outcome=outcome)
