"""Manager pages: what members search for, and (later) tagging and the content map."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flask import Blueprint, render_template, request

from indexer import mapping, searchlog, suggest
from kb.checks import staleness, tagging_queue
from kb.errors import QueryError
from webui.auth import login_required
from indexer import searching
from webui.context import settings, store

bp = Blueprint("manage", __name__, url_prefix="/manage")


@bp.get("/")
@login_required
def index():
    return render_template("manage.html")


@bp.get("/searches")
@login_required
def searches():
    text = request.args.get("days", "30")
    if not text.isdigit() or not 1 <= int(text) <= 3660:
        raise QueryError(f"days: must be a number of days between 1 and 3660, got {text!r}")
    data = Path(settings().data)
    searchlog.prune(data, settings().search_log_days)
    report = searchlog.report(data, int(text), limit=50)
    return render_template("searches.html", report=report, days=int(text),
                           retention=settings().search_log_days)


@bp.get("/map")
@login_required
def content_map():
    by = request.args.get("by", "kind")
    if by not in mapping.BY:
        raise QueryError(f"by: {by!r} is not one of {', '.join(mapping.BY)}")
    result = mapping.content_map(store(), by)
    return render_template("map.html", map=result, by=by, choices=mapping.BY,
                           vocabulary=searching.vocabulary(store()))


@bp.get("/value")
@login_required
def shared_value():
    rows = mapping.shared_value(store(), Path(settings().data))
    return render_template("value.html", rows=rows, largest=max([max(r.demand, r.items + r.activities) for r in rows] or [1]))


@bp.get("/queue")
@login_required
def queue():
    items = searching.all_items(store())
    return render_template("attention.html", title="Tagging queue", rows=tagging_queue(items, searching.vocabulary(store())),
                           intro="Items with no topics, unknown or deprecated topics, no activity, no date, "
                                 "or links to items that do not exist. Open one to fix its tags.")


@bp.get("/stale")
@login_required
def stale():
    items = searching.all_items(store())
    return render_template("attention.html", title="Staleness report", rows=staleness(items, dt.date.today()),
                           intro="Items past their review_by date, and items much older than the newest content "
                                 "of their topics.")


@bp.get("/candidates")
@login_required
def candidates():
    return render_template("candidates.html", rows=suggest.candidate_topics(store()))
