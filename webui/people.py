"""People pages: who took part in what, and who can help with a topic."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template

from kb.search import item_url
from webui.context import library, viewer
from webui.context import vocabulary as labelled

bp = Blueprint("people", __name__)


def person_data(person_id: str) -> dict:
    person, items, topics = library().person(person_id, viewer())
    vocabulary = library().vocabulary()
    return {"person": person, "activities": [i for i in items if i.is_activity],
            "items": [i for i in items if not i.is_activity],
            "topics": [(topic, vocabulary.label(topic), count) for topic, count in topics[:12]]}


@bp.get("/people/<person_id>")
def person_page(person_id: str):
    return render_template("person.html", vocabulary=labelled(), **person_data(person_id))


@bp.get("/people/<person_id>.json")
def person_json(person_id: str):
    data = person_data(person_id)

    def brief(item):
        return {"id": item.id, "title": item.title, "type": item.type,
                "date": item.date.isoformat() if item.date else None, "url": item_url(item)}

    return jsonify({**data["person"].to_dict(), "activities": [brief(i) for i in data["activities"]],
                    "items": [brief(i) for i in data["items"]],
                    "topics": [{"id": t, "label": label, "items": n} for t, label, n in data["topics"]]})
