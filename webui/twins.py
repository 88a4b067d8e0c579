"""The JSON twin of every item, activity and topic page: the data the page shows, as the reader may see it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify

from kb.item import Item
from kb.related import Related, RelatedPanels
from kb.search import item_url
from webui.context import library, viewer
from webui.items import HELPERS, agenda, related_of, titles_of, topic_of

bp = Blueprint("twins", __name__)


def brief(item: Item) -> dict[str, Any]:
    """An item as lists show it."""
    return {"id": item.id, "title": item.title, "type": item.type, "kind": item.kind or None,
            "date": item.date.isoformat() if item.date else None, "lang": item.lang, "url": item_url(item)}


def related_entry(related: Related) -> dict[str, Any]:
    return {**brief(related.item), "score": related.score, "reasons": list(related.reasons)}


def panels(related: RelatedPanels) -> dict[str, Any]:
    return {"activities": [related_entry(r) for r in related.activities], "activities_total": related.activities_total,
            "content": [related_entry(r) for r in related.content], "content_total": related.content_total}


def page_of(item: Item) -> dict[str, Any]:
    """What an item's page shows: its metadata and body, its links in their own words, related items."""
    titles = titles_of(item.activities)
    data = {**brief(item), "summary": item.summary, "topics": list(item.topics), "countries": list(item.countries),
            "people": list(item.people), "community": item.community or None, "html": item.html,
            "activities": [{"id": a, "title": titles[a][0]} for a in item.activities if a in titles],
            "links": [{"label": label, "items": [brief(i) for i in linked]}
                      for label, linked in library().typed_links(item, viewer())],
            "related": panels(related_of(item))}
    return data


def programme_of(nodes: list) -> list[dict[str, Any]]:
    return [{**brief(part), "notes": [brief(n) for n in notes], "complemented_by": programme_of(children)}
            for part, children, notes in nodes]


@bp.get("/items/<path:item_id>.json")
def item_json(item_id: str):
    item = library().item(item_id, viewer())
    return jsonify(page_of(item))


@bp.get("/activities/<path:activity_id>.json")
def activity_json(activity_id: str):
    item = library().item(activity_id, viewer())
    if not item.is_activity:
        abort(404, description=f"{activity_id!r} is a {item.type}, not an activity")
    members = [i for i in library().items_where("activity", item.id, viewer=viewer()) if i.id != item.id]
    programme = agenda([i for i in members if i.is_activity])
    return jsonify({**page_of(item), "programme": programme_of(programme),
                    "attachments": [brief(i) for i in library().attachments(item, viewer())],
                    "content": [brief(i) for i in members if not i.is_activity]})


@bp.get("/topics/<topic_id>.json")
def topic_json(topic_id: str):
    vocabulary, topic, items = topic_of(topic_id)
    helpers = library().who_can_help(topic_id, viewer(), limit=HELPERS)
    return jsonify({"who_can_help": [{"id": h.person_id, "name": h.name, "activities": h.activities,
                                      "items": h.items} for h in helpers],"id": topic_id, "label": vocabulary.label(topic_id),
                    "scope_note": topic.scope_note if topic else None,
                    "alt_labels": {lang: list(names) for lang, names in topic.alt_labels.items()} if topic else {},
                    "broader": vocabulary.ancestors(topic_id)[::-1], "narrower": vocabulary.children(topic_id),
                    "deprecated": bool(topic and topic.deprecated),
                    "replaced_by": topic.replaced_by if topic else None,
                    "items": [brief(i) for i in items]})
