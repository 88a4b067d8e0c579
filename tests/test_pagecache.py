"""Search pages as an anonymous reader gets them are kept for the next identical request, and never
reach a reader whose page differs: a logged-in reader, another language, a new index, a waiting
message."""

import shutil

import pytest

import webui.search
from indexer.reindex import reindex
from tests.conftest import write
from tests.test_access import log_in, manager_app  # noqa: F401 (a fixture)
from webui import create_app

URL = "/search?q=capitation+providers"


@pytest.fixture()
def rendered(monkeypatch):
    """How many search pages were rendered (a page served as kept is not)."""
    count = [0]
    real = webui.search.render_template

    def counting(*args, **kwargs):
        if args and args[0] == "search.html":
            count[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(webui.search, "render_template", counting)
    return count


def test_an_anonymous_readers_search_page_is_made_once(manager_app, rendered):
    reader, other = manager_app.test_client(), manager_app.test_client()
    first = reader.get(URL)
    again = other.get(URL)
    assert first.status_code == again.status_code == 200 and rendered[0] == 1
    assert again.get_data() == first.get_data() and 'desc="cache hit"' in again.headers["Server-Timing"]
    reader.get(URL + "&page=2")
    reader.get(URL.replace("providers", "ghana"))
    assert rendered[0] == 3  # another page, another query: their own pages


def test_a_logged_in_reader_never_gets_the_anonymous_page_nor_leaves_theirs(manager_app, rendered):
    anonymous, manager = manager_app.test_client(), manager_app.test_client()
    public = anonymous.get(URL).get_data(as_text=True)
    log_in(manager)
    theirs = manager.get(URL).get_data(as_text=True)
    assert "Log out ama" in theirs and "Log out" not in public
    assert "roundtable-1-paying-providers-notes" in theirs  # kept for members
    assert "roundtable-1-paying-providers-notes" not in public
    again = anonymous.get(URL).get_data(as_text=True)
    assert again == public and rendered[0] == 2


def test_each_language_has_its_own_page(manager_app, rendered):
    english = manager_app.test_client().get(URL).get_data(as_text=True)
    french = manager_app.test_client().get(URL, headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '<html lang="fr"' in french and '<html lang="en"' in english and rendered[0] == 2
    assert manager_app.test_client().get(URL, headers={"Accept-Language": "fr"}).get_data(as_text=True) == french
    assert rendered[0] == 2


def test_a_waiting_message_is_shown_not_the_kept_page(manager_app, rendered):
    manager_app.test_client().get(URL)
    reader = manager_app.test_client()
    with reader.session_transaction() as session:
        session["_flashes"] = [("message", "Your changes were saved.")]
    assert "Your changes were saved." in reader.get(URL).get_data(as_text=True)
    assert rendered[0] == 2


def test_a_new_index_makes_a_new_page(sample_index, tmp_path, rendered):
    content = tmp_path / "content"
    shutil.copytree(sample_index[0], content)
    index = tmp_path / "index"
    reindex(content, index)
    app = create_app({"TESTING": True, "KB_CONTENT": str(content), "KB_INDEX": str(index),
                      "KB_DATA": str(tmp_path / "data")})
    client = app.test_client()
    url = "/search?q=capitation+quokka"
    assert "Capitation in practice" not in client.get(url).get_data(as_text=True)
    write(content / "documents" / "capitation-in-practice.md",
          "---\ntitle: Capitation in practice\ntype: document\n---\nPaying quokka providers by capitation.\n")
    reindex(content, index)
    assert "Capitation in practice" in client.get(url).get_data(as_text=True)
    assert rendered[0] == 2
