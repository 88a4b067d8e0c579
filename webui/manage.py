"""Manager pages: what members search for, and (later) tagging and the content map."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flask import Blueprint, g, render_template, request

from indexer import mapping, searchlog, suggest, vocabedit
from kb.checks import staleness, tagging_queue
from kb.errors import QueryError
from webui.auth import login_required
from indexer import searching
from webui.context import limits, settings, store

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


def topic_operation_args() -> dict:
    form = request.form
    operation = form.get("operation", "")
    args: dict = {"operation": operation, "source": form.get("source", "").strip()}
    if operation in ("rename", "merge"):
        args["target"] = form.get("target", "").strip()
        if operation == "rename":
            args["label"] = form.get("label", "").strip()
    elif operation == "split":
        parts = []
        for line in form.get("parts", "").splitlines():
            part_id, sep, label = line.partition("=")
            if line.strip() and (not sep or not part_id.strip() or not label.strip()):
                raise QueryError(f"parts: {line.strip()!r} is not ID=Label")
            if line.strip():
                parts.append((part_id.strip(), label.strip()))
        args["parts"] = parts
    return args


@bp.get("/topics")
@login_required
def topics():
    return render_template("topics_manage.html", vocabulary=searching.vocabulary(store()))


@bp.post("/topics/preview")
@login_required
def topics_preview():
    args = topic_operation_args()
    plan = vocabedit.plan_operation(settings().content, **args, limits=limits())
    return render_template("topics_preview.html", plan=plan, form=request.form)


@bp.post("/topics/apply")
@login_required
def topics_apply():
    args = topic_operation_args()
    plan = vocabedit.plan_operation(settings().content, **args, limits=limits())
    previewed = dict(zip(request.form.getlist("path"), request.form.getlist("version")))
    # A file that changed since the preview (or was not in it) is left alone, never overwritten.
    stale = [e for e in plan.edits if previewed.get(e.path) != e.old_sha256]
    plan.edits = [e for e in plan.edits if e not in stale]
    plan.refused += [(e.path, "changed since the preview") for e in stale]
    skipped = vocabedit.apply_operation(settings().content, settings().index, Path(settings().data), plan, who=g.user,
                                        limits=limits())
    return render_template("topics_done.html", plan=plan, skipped=skipped)
