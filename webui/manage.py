"""Manager pages: what members search for, the content map, shared value, the tagging queue, topics."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, flash, g, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from indexer import mapping
from kb.notes import Note
from kb.errors import KbError, QueryError
from kb.vocabulary import is_topic_id, slug
from webui.auth import login_required
from webui.context import library, settings
from webui.context import vocabulary as labelled
from webui.forms import FORM_ERRORS, form_error

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
        raise QueryError(Note("days: must be a number of days between 1 and 3660, got '%(text)s'", text=text))
    report = library().search_report(int(text), limit=50)
    return render_template("searches.html", report=report, days=int(text),
                           retention=settings().search_log_days)


@bp.get("/map")
@login_required
def content_map():
    by = request.args.get("by", "kind")
    if by not in mapping.BY:
        raise QueryError(Note("by: '%(by)s' is not one of %(choices)s", by=by, choices=', '.join(mapping.BY)))
    result = library().content_map(by)
    return render_template("map.html", map=result, by=by, choices=mapping.BY, vocabulary=labelled())


@bp.get("/value")
@login_required
def shared_value():
    rows = library().shared_value()
    activities = sorted(library().items_where("type", "activity"), key=lambda a: (a.date is None, a.date, a.title))
    return render_template("value.html", rows=rows, unmet=library().unmet_needs(), activities=activities, slug=slug,
                           vocabulary=labelled(),
                           largest=max([max(r.demand, r.items + r.activities) for r in rows] or [1]))


DECISIONS = {"planned": _l("planned"), "covered": _l("covered"), "declined": _l("declined")}  # as value.html says them


@bp.post("/gaps")
@login_required
def decide_gap():
    """Record a decision about a gap (planned with its activity, covered, declined) in gaps.yml."""
    form = request.form
    library().decide_gap(form.get("topic", ""), form.get("status", ""), activity=form.get("activity", "").strip(),
                         note=form.get("note", ""), who=g.user)
    status = form.get("status", "")
    flash(_("Recorded: %(topic)s is %(status)s.", topic=labelled().label(form.get("topic", "")),
            status=str(DECISIONS.get(status, status))))
    return redirect("/manage/value#register")


@bp.get("/health")
@login_required
def health():
    """Community health: charts drawn on the server (SVG), each with its numbers as a table."""
    figures = library().health()
    quarters = sorted({q for years in figures.topics_by_quarter.values() for q in years})
    vocabulary = labelled()
    topics = sorted(figures.topics_by_quarter, key=lambda t: -sum(figures.topics_by_quarter[t].values()))
    return render_template("health.html", health=figures, quarters=quarters, topics=topics, vocabulary=vocabulary,
                           most=max([p for _, p, _, _ in figures.quarters] or [1]))


@bp.get("/queue")
@login_required
def queue():
    return render_template("attention.html", title=_("Tagging queue"), rows=library().tagging_queue(), vocabulary=labelled(),
                           intro=_("Items with no topics, unknown or deprecated topics, no activity, no date, "
                                   "or links to items that do not exist. Open one to fix its tags."))


@bp.get("/stale")
@login_required
def stale():
    return render_template("attention.html", title=_("Staleness report"), rows=library().staleness(), vocabulary=labelled(),
                           intro=_("Items past their review_by date, and items much older than the newest content "
                                   "of their topics."))


@bp.get("/candidates")
@login_required
def candidates():
    return render_template("candidates.html", rows=library().candidate_topics())


TOPIC_FIELDS = {"rename": ("source", "target", "label"), "merge": ("source", "target"), "split": ("source", "parts"),
                "add": ("target", "label", "source"), "alias": ("source", "label")}


def topic_operation_args() -> dict:
    form = request.form
    operation = form.get("operation", "")
    args: dict = {"operation": operation, "source": form.get("source", "").strip()}
    if operation in ("rename", "merge", "add"):
        args["target"] = form.get("target", "").strip()
    if operation in ("rename", "add", "alias"):
        args["label"] = form.get("label", "").strip()
    elif operation == "split":
        parts = []
        for line in form.get("parts", "").splitlines():
            part_id, sep, label = line.partition("=")
            if line.strip() and (not sep or not part_id.strip() or not label.strip()):
                raise QueryError(_("'%(line)s' is not ID=Label (one new topic per line, such as "
                                   "budget-rules=Budget rules)", line=line.strip()), field="parts")
            if line.strip():
                parts.append((part_id.strip(), label.strip()))
        args["parts"] = parts
    return args


def topics_form_again(exc: KbError):
    """The topics page again, with what was typed and the message beside the field it concerns."""
    operation = request.form.get("operation", "")
    error = form_error(exc, operation if operation in TOPIC_FIELDS else "topics", TOPIC_FIELDS.get(operation, ()))
    target = request.form.get("target", "").strip()
    if operation == "rename" and error.field == "target" and target and not is_topic_id(target) and slug(target):
        label = request.form.get("label", "").strip() or target
        fields = (("operation", "rename"), ("source", request.form.get("source", "")), ("target", slug(target)),
                  ("label", label))
        error = replace(error, fix=(_("Preview the rename to %(topic)s, labelled “%(label)s”", topic=slug(target),
                                      label=label), fields))
    return render_template("topics_manage.html", vocabulary=labelled(), error=error,
                           values=request.form), error.status


@bp.get("/topics")
@login_required
def topics():
    """The topic operations; ?operation=add|alias&label=... fills a form in (from a need no topic covers)."""
    values = {k: v for k, v in request.args.items() if k in ("operation", "label", "target", "source")}
    return render_template("topics_manage.html", vocabulary=labelled(), error=None, values=values)


@bp.post("/topics/preview")
@login_required
def topics_preview():
    try:
        plan = library().plan_topics(**topic_operation_args())
    except FORM_ERRORS as exc:
        return topics_form_again(exc)
    return render_template("topics_preview.html", plan=plan, form=request.form, error=None)


@bp.post("/topics/apply")
@login_required
def topics_apply():
    try:  # planned again from the files as they are now: the vocabulary may have changed since the preview
        plan = library().plan_topics(**topic_operation_args())
    except FORM_ERRORS as exc:
        return topics_form_again(exc)
    previewed = dict(zip(request.form.getlist("path"), request.form.getlist("version")))
    # A file that changed since the preview (or was not in it) is left alone, never overwritten.
    stale = [e for e in plan.edits if previewed.get(e.path) != e.old_sha256]
    plan.edits = [e for e in plan.edits if e not in stale]
    plan.refused += [(e.path, "changed since the preview") for e in stale]
    try:
        skipped = library().apply_topics(plan, who=g.user)
    except FORM_ERRORS as exc:
        error = form_error(exc, "apply")
        return render_template("topics_preview.html", plan=plan, form=request.form, error=error), error.status
    return render_template("topics_done.html", plan=plan, skipped=skipped)
