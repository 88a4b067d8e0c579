"""Manager pages: what members search for, and (later) tagging and the content map."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, render_template, request

from indexer import mapping, searchlog
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
