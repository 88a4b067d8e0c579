"""People: the registry, person pages, who can help with a topic, the person facet (on the sample)."""

import json
import re

import pytest

from indexer.cli import cli
from tests.conftest import write


def test_person_pages_show_activities_items_and_topics(client):
    page = client.get("/people/expert-jean-baptiste-kone").get_data(as_text=True)
    assert "<h1>Jean-Baptiste Koné</h1>" in page and "Public financial management specialist" in page
    twin = client.get("/people/expert-jean-baptiste-kone.json").get_json()
    assert twin["name"] == "Jean-Baptiste Koné" and twin["role"] == "expert"
    assert "webinar-2020-04-covid-budgets" in [a["id"] for a in twin["activities"]]
    assert twin["items"] and twin["topics"][0]["id"] == "budget-flexibility"
    assert client.get("/people/nobody-at-all").status_code == 404


def test_names_replace_ids_where_members_look(client):
    page = client.get("/items/sessions/forum-2020-session-1-notes").get_data(as_text=True)
    assert '<a class="chip" href="/people/expert-priya-raman">Priya Raman</a>' in page
    assert "expert-priya-raman</" not in page
    found = client.get("/search.json?q=capitation").get_json()
    assert found["facets"]["person"]
    html = client.get("/search?q=capitation").get_data(as_text=True)
    assert "People" in html and "Priya Raman" in html


def test_who_can_help_with_a_topic(runner, sample_index, client):
    content, index = sample_index
    where = ["--content", str(content), "--index", str(index)]
    ranked = json.loads(runner.invoke(cli, [*where, "people", "--topic", "budget-flexibility", "--json"]).stdout)
    first = ranked["people"][0]
    assert first["name"] == "Jean-Baptiste Koné" and first["activities"] >= 3
    # The broader topic counts its narrower topics' work: the same expert helps with public finance.
    broader = json.loads(runner.invoke(cli, [*where, "people", "--topic", "public-financial-management",
                                             "--json"]).stdout)
    assert broader["people"][0]["activities"] >= first["activities"]
    page = client.get("/topics/budget-flexibility").get_data(as_text=True)
    helpers = page[page.index("Who can help with this topic?"):]
    assert re.search(r'href="/people/expert-jean-baptiste-kone">Jean-Baptiste Koné</a>', helpers)
    twin = client.get("/topics/budget-flexibility.json").get_json()
    assert twin["who_can_help"][0]["name"] == "Jean-Baptiste Koné"  # the JSON twin shows what the page shows
    bad = runner.invoke(cli, [*where, "people", "--topic", "no-such-topic"])
    assert bad.exit_code == 2 and "no-such-topic" in bad.output


@pytest.mark.slow
def test_people_outside_the_registry_still_work_and_are_reported(runner, content_copy, tmp_path):
    write(content_copy / "documents" / "guest.md", "---\ntitle: Guest note\ntopics: [budget-execution]\n"
          "people: [guest-ines-moreau]\n---\nBody.\n")
    where = ["--content", str(content_copy), "--index", str(tmp_path / "ix")]
    checked = runner.invoke(cli, [*where, "check"])
    assert "documents/guest.md: warning: people: 'guest-ines-moreau' is not in the people registry" in checked.output
    assert runner.invoke(cli, [*where, "reindex", "-q"]).exit_code in (0, 1)
    from webui import create_app

    client = create_app({"TESTING": True, "KB_CONTENT": str(content_copy), "KB_INDEX": str(tmp_path / "ix"),
                         "KB_DATA": str(tmp_path / "data")}).test_client()
    page = client.get("/people/guest-ines-moreau").get_data(as_text=True)
    assert "<h1>Ines Moreau</h1>" in page
