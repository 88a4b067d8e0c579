"""Item, topic and activity pages."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request
from flask_babel import gettext as _

from kb.notes import Note
from kb.errors import KbError, NotFoundError
from kb.item import Item
from kb.text import fold
from kb.timeline import by_month
from kb.links import typed_links
from kb.related import RelatedPanels
from kb.search import item_url
from webui.context import is_manager, library, settings, viewer
from webui.context import vocabulary as labelled

bp = Blueprint("items", __name__)


def edit_form(item: Item, state: dict | None = None) -> dict | None:
    """What a logged-in manager needs to tag the item: its file's version, the vocabulary, the values to show.

    `state` replaces the item's own values with what a refused form sent, and carries its error.
    """
    if not is_manager():
        return None
    try:
        version = library().version(item.path)
    except (OSError, KbError):
        return {"missing": True}
    offered, candidates = library().suggestions(item)
    wanted = request.args.get("activity_q", "").strip()[:200]
    form = {"version": version, "vocabulary": labelled(), "suggestions": offered,
            "link_suggestions": library().link_suggestions(item), "activity_q": wanted,
            "activity_matches": activities_named(wanted, item) if wanted else [],
            "candidates": candidates, "topics": list(item.topics), "activities": ", ".join(item.activities),
            "type": item.type, "error": None, "open": False}
    if wanted:
        form["open"] = True
    return {**form, **(state or {})}


def activities_named(words: str, item: Item) -> list[Item]:
    """Activities whose title has every word typed (accents and case aside), for linking by name."""
    wanted = fold(words).lower().split()
    found = [a for a in library().items_where("type", "activity")
             if a.id not in item.activities and a.id != item.id
             and all(w in fold(f"{a.title} {a.id}").lower() for w in wanted)]
    return sorted(found, key=lambda a: (a.date is None, a.date, a.title))[:20]


def render_page(item: Item, edit_state: dict | None = None) -> str:
    """The page of an item or an activity, its tag form filled from `edit_state` when a form was refused."""
    if item.is_activity:
        return render_activity(item, edit_state)
    return render_template("item.html", item=item, related=related_of(item), links=library().typed_links(item, viewer()),
                           vocabulary=labelled(), titles=titles_of(item.activities),
                           edit=edit_form(item, edit_state))


# With ?related=all a page lists every related item (a reader follows "Show all N").
EVERY_RELATED = 1000


def related_of(item: Item) -> RelatedPanels:
    """Related activities and content, each with its reasons and its total."""
    limit = EVERY_RELATED if request.args.get("related") == "all" else settings().related_limit
    return library().related(item, limit=limit, viewer=viewer())


@bp.get("/items/<path:item_id>")
def item_page(item_id: str):
    item = library().item(item_id, viewer())
    if item.is_activity:
        return redirect(item_url(item))
    return render_page(item)


def titles_of(item_ids: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """(title, language) of linked items, for showing links by name: those the reader may see; a manager
    also sees links to missing ids, by their id (a reader cannot tell a missing item from a hidden one)."""
    titles = {}
    for item_id in item_ids:
        linked = library().find_item(item_id, viewer())
        if linked is not None or is_manager():
            titles[item_id] = (linked.title, linked.lang) if linked else (item_id, "en")
    return titles


@bp.get("/activities/<path:activity_id>")
def activity_page(activity_id: str):
    item = library().item(activity_id, viewer())
    if not item.is_activity:
        raise NotFoundError(Note("'%(activity_id)s' is a %(type)s, not an activity",
                                 activity_id=activity_id, type=item.type))
    return render_page(item)


def render_activity(item: Item, edit_state: dict | None = None) -> str:
    members = [i for i in library().items_where("activity", item.id, viewer=viewer()) if i.id != item.id]
    folder = item.path.rsplit(".", 1)[0] + "/"
    attached = library().attachments(item, viewer())
    attached += [i for i in members if i.path.startswith(folder) and i not in attached]
    parts = [i for i in members if i.is_activity and i not in attached]
    programme = agenda(parts)
    in_parts = {i.id for _, _, notes, _ in walk(programme) for i in notes}
    content = [i for i in members if not i.is_activity and i not in attached and i.id not in in_parts]
    return render_template(
        "activity.html", item=item, programme=programme, content=content, attached=attached,
        related=related_of(item), links=library().typed_links(item, viewer()),
        vocabulary=labelled(), titles=titles_of(item.activities), edit=edit_form(item, edit_state),
    )


def agenda_key(item: Item) -> tuple:
    """Agenda order: date, then `order` (a number) or `start` (a time) from the front matter."""
    order = item.extra.get("order")
    return (item.date is None, item.date, order if isinstance(order, int) else 10 ** 6, str(item.extra.get("start", "")))


def agenda(parts: list[Item]) -> list[tuple[Item, list, list[Item]]]:
    """An activity's parts as its programme: (part, the parts that complement it, the part's notes
    and documents), in agenda order; a roundtable sits under the session it complements."""
    ids = {p.id for p in parts}
    under: dict[str, list[Item]] = {}
    top = []
    for part in sorted(parts, key=agenda_key):
        complements = [target for key, target in typed_links(part) if key == "complements" and target in ids]
        if complements:
            under.setdefault(complements[0], []).append(part)
        else:
            top.append(part)

    def node(part: Item) -> tuple[Item, list, list[Item]]:
        notes = [i for i in library().items_where("activity", part.id, viewer=viewer()) if not i.is_activity]
        return part, [node(child) for child in under.get(part.id, [])], sorted(notes, key=agenda_key)

    return [node(part) for part in top]


def walk(programme: list) -> list:
    """Every (part, children, notes, depth) of a programme, depth first."""
    found = []

    def visit(nodes: list, depth: int) -> None:
        for part, children, notes in nodes:
            found.append((part, children, notes, depth))
            visit(children, depth + 1)

    visit(programme, 0)
    return found


@bp.get("/activities/")
def activity_list():
    vocabulary = labelled()
    activities = library().items_where("type", "activity", viewer=viewer())
    by_kind: dict[str, list[Item]] = {}
    for activity in sorted(activities, key=lambda a: (a.date is None, a.date)):
        by_kind.setdefault(activity.kind or "other", []).append(activity)
    groups = [(vocabulary.kind_label(kind) if kind != "other" else _("Other"), items) for kind, items in
              sorted(by_kind.items(), key=lambda kv: list(vocabulary.kinds).index(kv[0]) if kv[0] in vocabulary.kinds else 99)]
    return render_template("activities.html", groups=groups)


@bp.get("/topics/")
def topic_list():
    vocabulary = labelled()
    roots = [t for t in vocabulary.topics.values() if not t.broader and not t.deprecated]
    return render_template("topics.html", roots=roots, vocabulary=vocabulary,
                           deprecated=[t for t in vocabulary.topics.values() if t.deprecated])


@bp.get("/topics/<topic_id>")
def topic_page(topic_id: str):
    vocabulary, topic, items = topic_of(topic_id)
    vocabulary = labelled(vocabulary)
    return render_template(
        "topic.html", topic=topic, topic_id=topic_id, items=items, vocabulary=vocabulary,
        helpers=library().who_can_help(topic_id, viewer(), limit=HELPERS), months=by_month(items),
        broader=[vocabulary.topics[t] for t in vocabulary.ancestors(topic_id)][::-1],
        narrower=[vocabulary.topics[t] for t in vocabulary.children(topic_id)],
    )


HELPERS = 8  # people a topic page names as able to help


def topic_of(topic_id: str) -> tuple:
    """(vocabulary, topic or None, the items the reader may see on it); 404 for a topic that is neither in
    the vocabulary nor on any item the reader may see. The topic page and its JSON twin show this."""
    vocabulary = library().vocabulary()
    topic = vocabulary.topics.get(topic_id)
    items = library().items_where("topic", topic_id, viewer=viewer())
    if topic is None and not items:
        abort(404, description=_("There is no topic '%(topic)s'.", topic=topic_id))
    return vocabulary, topic, items


@bp.get("/communities/<community_id>")
def community_page(community_id: str):
    """A community's content and activities as a timeline by month."""
    items = library().items_where("community", community_id, viewer=viewer())
    if not items:
        abort(404, description=_("There is no community '%(community)s'.", community=community_id))
    activities = [i for i in items if i.is_activity]
    return render_template("community.html", community_id=community_id, items=items, activities=activities,
                           months=by_month(items), vocabulary=labelled())
