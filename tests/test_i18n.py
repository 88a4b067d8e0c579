"""The interface in English, French and Spanish: catalogues complete, the language chosen by a switch
(remembered) or by the browser, vocabulary labels, dates and notes in the page's language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests import i18ncheck

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}


def html_lang(page: str) -> str:
    return re.search(r'<html lang="([^"]+)"', page).group(1)


@pytest.mark.parametrize("template", sorted(p.name for p in i18ncheck.TEMPLATES.glob("*.html")))
def test_no_template_writes_text_past_the_catalogues(template):
    assert i18ncheck.bare_text(i18ncheck.TEMPLATES / template) == []


def test_the_checker_finds_text_written_straight_into_a_template(tmp_path):
    page = tmp_path / "page.html"
    page.write_text('<p>{{ _("Kept") }} <a href="{{ url }}" title="Open it">{{ n }}</a> items</p>'
                    '{% trans %}Fine <b>here</b>{% endtrans %}<input type="submit" value="Send"><code>in:title</code>',
                    encoding="utf-8")
    assert i18ncheck.bare_text(page) == ["Open it", "items", "Send"]


@pytest.mark.parametrize("code", ["fr", "es"])
@pytest.mark.slow
def test_every_message_of_the_interface_is_translated(code):
    assert code in i18ncheck.languages()
    assert i18ncheck.catalogue_gaps(code) == []


@pytest.mark.parametrize("code", ["fr", "es"])
def test_compiled_catalogues_are_those_of_the_sources(code):
    folder = i18ncheck.TRANSLATIONS / code / "LC_MESSAGES"
    def entries(messages):
        return {tuple(m.id) if isinstance(m.id, (list, tuple)) else m.id:
                tuple(m.string) if isinstance(m.string, (list, tuple)) else m.string
                for m in messages if m.id and m.string and not m.fuzzy}

    with open(folder / "messages.po", "rb") as handle:
        source = entries(read_po(handle))
    with open(folder / "messages.mo", "rb") as handle:
        compiled = entries(read_mo(handle))
    assert compiled == source, "run `make translations` after editing a catalogue"


def test_the_browser_language_chooses_the_interface(client):
    page = client.get("/search?q=budget", headers=FRENCH).get_data(as_text=True)
    assert html_lang(page) == "fr"
    assert "Filtres" in page and "Rechercher" in page
    assert ">Filters<" not in page and "Search help" not in page
    english = client.get("/search?q=budget", headers={"Accept-Language": "de-DE,de;q=0.9"}).get_data(as_text=True)
    assert html_lang(english) == "en" and "Filters" in english  # no German catalogue: English
    spanish = client.get("/search?q=budget", headers={"Accept-Language": "es-CO"}).get_data(as_text=True)
    assert html_lang(spanish) == "es" and "Filtros" in spanish


def test_the_language_switch_is_remembered_over_the_browser_language(client):
    page = client.get("/topics/", headers=FRENCH).get_data(as_text=True)
    assert 'href="/language?lang=es&amp;next=/topics/' in page  # the switch comes back to this page
    response = client.get("/language?lang=es&next=/topics/", headers=FRENCH)
    assert response.status_code == 303 and response.headers["Location"] == "/topics/"
    assert "kb_lang=es" in response.headers["Set-Cookie"] and "Max-Age" in response.headers["Set-Cookie"]
    again = client.get("/search?q=budget", headers=FRENCH).get_data(as_text=True)
    assert html_lang(again) == "es" and "Filtros" in again


def test_the_switch_goes_back_only_to_this_site(client):
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = client.get("/language", query_string={"lang": "fr", "next": target})
        assert response.headers["Location"] == "/"
    unknown = client.get("/language?lang=xx&next=/")
    assert "Set-Cookie" not in unknown.headers


def test_vocabulary_labels_are_in_the_page_language(client):
    page = client.get("/search?q=budget", headers=FRENCH).get_data(as_text=True)
    assert "Flexibilité budgétaire" in page  # topic facet and chips
    assert "Note de session" in page  # item type
    assert ">Budget flexibility<" not in page
    topics = client.get("/topics/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Flexibilidad presupuestaria" in topics and "Financiación de la salud" in topics
    english = client.get("/search?q=budget").get_data(as_text=True)
    assert "Budget flexibility" in english and "Flexibilité budgétaire" not in english


def test_dates_and_months_are_written_as_the_page_language_writes_them(client):
    french = client.get("/items/sessions/forum-2020-session-1-notes", headers=FRENCH).get_data(as_text=True)
    assert "16 juin 2020" in french
    english = client.get("/items/sessions/forum-2020-session-1-notes").get_data(as_text=True)
    assert "Jun 16, 2020" in english
    topic = client.get("/topics/budget-flexibility", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert re.search(r">\w+ de 20\d\d</h3>", topic)  # "junio de 2020": a month heading of the timeline


def test_titles_in_another_language_than_the_page_say_so(client):
    page = client.get("/search?q=budget", headers=FRENCH).get_data(as_text=True)
    titles = re.findall(r'<h3><a href="[^"]+" lang="([^"]+)">', page)
    assert "en" in titles and len(titles) >= 5
    assert all(lang in ("en", "fr", "es", "pt") for lang in titles)


def test_an_item_in_another_language_says_so_and_the_interface_around_it_does_not(client):
    page = client.get("/items/sessions/forum-2020-session-1-notes", headers=FRENCH).get_data(as_text=True)
    assert re.search(r'<h1 lang="en">', page) and '<div class="body" lang="en">' in page
    assert '<article class="item">' in page  # the French labels of the metadata are not marked English
    results = client.get("/search?q=budget", headers=FRENCH).get_data(as_text=True)
    assert re.search(r'<p class="snippet" lang="en">', results)


def test_what_search_says_about_a_query_is_in_the_page_language(client):
    page = client.get("/search", query_string={"q": "topic:nosuch budget"}, headers=FRENCH).get_data(as_text=True)
    assert "topic:nosuch" in page
    assert "is not a topic in the vocabulary" not in page
    english = client.get("/search", query_string={"q": "topic:nosuch budget"}).get_data(as_text=True)
    assert "topic:nosuch is not a topic in the vocabulary; that filter was ignored." in english
    corrected = client.get("/search", query_string={"q": "capitaton"}, headers=FRENCH).get_data(as_text=True)
    assert "Aucun élément ne contient “capitaton” ; recherche faite aussi pour “capitation”." in corrected


def test_the_json_api_keeps_english_notes_and_labels(client):
    data = client.get("/search.json", query_string={"q": "topic:nosuch budget"}, headers=FRENCH).get_json()
    assert "topic:nosuch is not a topic in the vocabulary; that filter was ignored." in data["messages"]


def test_errors_and_login_are_translated(client):
    missing = client.get("/topics/no-such-topic-here", headers=FRENCH)
    assert missing.status_code == 404
    text = missing.get_data(as_text=True)
    assert html_lang(text) == "fr" and "Not found" not in text and "There is no topic" not in text
    nowhere = client.get("/no/such/page", headers=FRENCH).get_data(as_text=True)
    assert "Il n&#39;y a pas de page à cette adresse" in nowhere and "requested URL" not in nowhere
    login = client.get("/login", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Password" not in login and "Contraseña" in login


def test_adding_a_language_is_documented():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert "pybabel init" in readme and "make translations" in readme


def test_related_items_name_shared_topics_in_the_page_language(client):
    page = client.get("/items/sessions/forum-2020-session-1-notes", headers=FRENCH).get_data(as_text=True)
    reasons = " ".join(re.findall(r'<span class="reasons">(.*?)</span>', page, re.S))
    assert "sujets en commun : Achat stratégique" in reasons
    assert not re.search(r"commun : [^;]*Strategic purchasing", reasons)  # (activity titles are data: as written)
    english = client.get("/items/sessions/forum-2020-session-1-notes").get_data(as_text=True)
    assert "shares topics: Strategic purchasing" in english
