"""Forms never end in a bare error page: the page again, the message beside the field, what was typed kept."""

import html
import re

import pytest

import indexer.library
import indexer.vocabedit
from indexer.content import hash_file
from kb.errors import IndexLockedError
from tests.conftest import open_library
from tests.test_access import PASSWORD, manager_app, token  # noqa: F401 (fixture)
from tests.test_tagging import NOTES, manager, site, topics_in_index  # noqa: F401 (fixtures)

TOPICS = "/manage/topics"


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def field_error(page: str, error_id: str) -> str:
    """The message of the element `error_id`, checking a control points to it and it is announced."""
    found = re.search(rf'<(?:span|p) class="[^"]*" id="{error_id}" role="alert">([^<]*)<', page)
    assert found, f"no message {error_id}"
    return html.unescape(found[1])


def described_by(page: str, error_id: str) -> bool:
    return f'aria-describedby="{error_id}"' in page


def topic_form(manager, **fields):
    return {"csrf_token": token(manager, TOPICS), **fields}


# -- topics -------------------------------------------------------------------------------------

def test_a_rename_to_words_proposes_an_id_instead_of_failing(manager, site):
    content, _, _ = site
    vocabulary = (content / "vocabulary.yml").read_bytes()
    response = manager.post("/manage/topics/preview", data=topic_form(
        manager, operation="rename", source="budget-execution", target="Budget flexibility rules", label=""))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    message = field_error(page, "rename-target-error")
    assert "'Budget flexibility rules' is not a topic id" in message
    assert "lower-case letters (a-z), digits and hyphens" in message and "budget-flexibility-rules" in message
    assert described_by(page, "rename-target-error")
    assert 'name="target" required value="Budget flexibility rules"' in page  # what was typed is kept
    assert '<option value="budget-execution" selected>' in page
    # a one-click fix: the proposed id, the words as its label
    fix = re.search(r'<form [^>]*class="topic-op fix">(.*?)</form>', page, re.S)[1]
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', fix))
    assert fields["target"] == "budget-flexibility-rules" and fields["label"] == "Budget flexibility rules"
    assert "Preview the rename to budget-flexibility-rules" in html.unescape(fix)
    preview = manager.post("/manage/topics/preview", data=fields)
    assert preview.status_code == 200 and "topic budget-execution is renamed budget-flexibility-rules" in text(preview)
    assert (content / "vocabulary.yml").read_bytes() == vocabulary  # nothing written


@pytest.mark.parametrize("fields, error_id, message", [
    ({"operation": "rename", "source": "budget-execution", "target": "budget-flexibility"}, "rename-target-error",
     "topic 'budget-flexibility' already exists; use merge"),
    ({"operation": "rename", "source": "covid-financing", "target": "covid-money"}, "rename-source-error",
     "topic 'covid-financing' is deprecated"),
    ({"operation": "merge", "source": "health-taxes", "target": "health-taxes"}, "merge-target-error",
     "merge needs another topic to merge into"),
    ({"operation": "split", "source": "health-taxes", "parts": "sin-taxes=Sin taxes\njust words"}, "split-parts-error",
     "'just words' is not ID=Label"),
    ({"operation": "split", "source": "health-taxes", "parts": "Sin Taxes=Sin taxes\nsugar=Sugar taxes"},
     "split-parts-error", "'Sin Taxes' is not a topic id: an id is lower-case letters (a-z), digits and hyphens, "
                          "starting with a letter or digit; for example 'sin-taxes'"),
    ({"operation": "explode", "source": "health-taxes"}, "topics-error", "not add, alias, rename, merge or split"),
])
def test_topic_form_errors_come_back_beside_their_field(manager, fields, error_id, message):
    response = manager.post("/manage/topics/preview", data=topic_form(manager, **fields))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in field_error(page, error_id)
    if error_id != "topics-error":
        assert described_by(page, error_id)
    if "parts" in fields:
        assert html.escape(fields["parts"], quote=False) in page  # the textarea keeps the lines


@pytest.mark.slow
def test_apply_after_the_topic_changed_meanwhile_shows_the_form_again(manager, site):
    content, index, data = site
    form = topic_form(manager, operation="rename", source="health-taxes", target="sin-taxes", label="Sin taxes")
    preview = manager.post("/manage/topics/preview", data=form).get_data(as_text=True)
    paths = re.findall(r'name="path" value="([^"]+)"', preview)
    versions = re.findall(r'name="version" value="([^"]+)"', preview)
    # someone renames the topic first, from the command line
    library = open_library(content, index, data)
    library.apply_topics(library.plan_topics("rename", "health-taxes", target="health-levies"), who="kofi")
    late = manager.post("/manage/topics/apply", data={**form, "path": paths, "version": versions})
    page = late.get_data(as_text=True)
    assert late.status_code == 400
    assert "topic 'health-taxes' is deprecated" in field_error(page, "rename-source-error")
    assert 'value="sin-taxes"' in page and 'value="Sin taxes"' in page


@pytest.mark.slow
def test_apply_while_the_index_is_busy_keeps_the_preview(manager, site, monkeypatch):
    form = topic_form(manager, operation="merge", source="health-taxes", target="domestic-resource-mobilization")
    preview = manager.post("/manage/topics/preview", data=form).get_data(as_text=True)
    paths = re.findall(r'name="path" value="([^"]+)"', preview)
    versions = re.findall(r'name="version" value="([^"]+)"', preview)
    def locked(*args, **kwargs):
        raise IndexLockedError("the index is locked by another writer (pid 4242 on host-a); try again in a moment")

    monkeypatch.setattr(indexer.vocabedit, "apply_operation", locked)
    busy = manager.post("/manage/topics/apply", data={**form, "path": paths, "version": versions})
    page = busy.get_data(as_text=True)
    assert busy.status_code == 409
    assert "locked by another writer" in field_error(page, "apply-error")
    assert re.findall(r'name="path" value="([^"]+)"', page) == paths  # the same preview, ready to apply again
    assert re.findall(r'name="version" value="([^"]+)"', page) == versions


def test_an_unexpected_error_in_a_form_is_still_a_500(manager, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(indexer.vocabedit, "plan_operation", broken)
    response = manager.post("/manage/topics/preview", data=topic_form(
        manager, operation="merge", source="health-taxes", target="domestic-resource-mobilization"))
    assert response.status_code == 500 and "Internal error" in text(response)


# -- bulk tagging -------------------------------------------------------------------------------

def bulk_items(manager, url="/manage/bulk?q=virements"):
    page = manager.get(url).get_data(as_text=True)
    action = html.unescape(re.search(r'<form method="post" action="([^"]+)"', page)[1])
    return action, re.findall(r'name="item" value="([^"]+)"', page)


def test_bulk_preview_without_a_change_keeps_the_ticks(manager):
    action, items = bulk_items(manager)
    assert action == "/manage/bulk/preview?q=virements" and len(items) >= 3
    kept = items[1:]  # the first was unticked
    response = manager.post(action, data={"csrf_token": token(manager, "/manage/bulk?q=virements"), "add": "",
                                          "remove": "", "item": kept})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "choose a topic or an activity to add or to remove" in field_error(page, "bulk-add-error")
    assert described_by(page, "bulk-add-error")
    assert f'value="{items[0]}">' in page and f'value="{items[0]}" checked>' not in page
    assert all(f'value="{i}" checked>' in page for i in kept)
    assert "items match <q>virements</q>" in page


def test_bulk_preview_without_items_and_with_a_chosen_topic(manager):
    action, items = bulk_items(manager)
    response = manager.post(action, data={"csrf_token": token(manager, "/manage/bulk?q=virements"),
                                          "add": "accountability"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "select at least one item" in field_error(page, "bulk-item-error")
    assert '<option value="accountability" selected>' in page


def test_bulk_form_with_a_bad_search_is_a_page_not_a_bare_error(manager):
    response = manager.get("/manage/bulk?q=budget&page=zero")
    assert response.status_code == 400
    assert "page: 'zero' is not a number" in field_error(response.get_data(as_text=True), "bulk-error")


def test_bulk_apply_while_the_index_is_busy_keeps_the_preview(manager, site, monkeypatch):
    action, items = bulk_items(manager)
    preview = manager.post(action, data={"csrf_token": token(manager, "/manage/bulk?q=virements"),
                                         "add": "accountability", "item": items}).get_data(as_text=True)
    ids = re.findall(r'name="item" value="([^"]+)"', preview)
    versions = re.findall(r'name="version" value="([^"]+)"', preview)
    from webui import tagging as web_tagging

    def locked(*args, **kwargs):
        raise IndexLockedError("the index is locked by another writer; try again in a moment")

    monkeypatch.setattr(indexer.library, "bulk_tag", locked)
    busy = manager.post("/manage/bulk/apply", data={"csrf_token": token(manager, "/manage/bulk?q=virements"),
                                                    "add": "accountability", "item": ids, "version": versions})
    page = busy.get_data(as_text=True)
    assert busy.status_code == 409 and "locked by another writer" in field_error(page, "apply-error")
    assert re.findall(r'name="item" value="([^"]+)"', page) == ids
    assert re.findall(r'name="version" value="([^"]+)"', page) == versions
    assert '<input type="hidden" name="add" value="accountability">' in page


def test_bulk_preview_that_changes_nothing_offers_no_apply(manager):
    action, items = bulk_items(manager)
    page = manager.post(action, data={"csrf_token": token(manager, "/manage/bulk?q=virements"),
                                      "remove": "no-such-topic-anywhere", "item": items}).get_data(as_text=True)
    assert "No file would change." in page and "Apply to these files" not in page


# -- the item page's forms ----------------------------------------------------------------------

def item_form(manager, item_id=NOTES):
    page = manager.get(f"/items/{item_id}").get_data(as_text=True)
    return page, re.search(r'name="version" value="([0-9a-f]{64})"', page)[1]


def test_a_bad_tag_form_comes_back_open_with_what_was_typed(manager, site):
    content, index, _ = site
    before = (content / f"{NOTES}.md").read_bytes()
    _, version = item_form(manager)
    response = manager.post(f"/items/{NOTES}/tags", data={
        "csrf_token": token(manager, f"/items/{NOTES}"), "version": version,
        "topics": ["accountability", "health-taxes"], "activities": "forum-2020, my-typed-activity",
        "type": "memo"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "type 'memo' is not one of" in field_error(page, "tags-type-error")
    assert described_by(page, "tags-type-error")
    assert '<details class="tag-form" id="tags" open>' in page
    assert 'value="forum-2020, my-typed-activity"' in page
    assert 'value="accountability" checked>' in page and 'value="health-taxes" checked>' in page
    assert '<option value="memo" selected>' in page
    assert (content / f"{NOTES}.md").read_bytes() == before


@pytest.mark.slow
def test_an_unknown_topic_is_shown_beside_the_topics(manager):
    _, version = item_form(manager)
    response = manager.post(f"/items/{NOTES}/tags", data={
        "csrf_token": token(manager, f"/items/{NOTES}"), "version": version, "topics": ["no-such-topic"],
        "activities": "", "type": "session-note"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "topic 'no-such-topic' is not in the vocabulary" in field_error(page, "tags-topics-error")
    assert 'value="no-such-topic" checked> no-such-topic (not in the vocabulary)' in page


def test_a_tag_form_for_a_file_changed_meanwhile_is_a_409_with_the_choices_kept(manager, site):
    content, index, _ = site
    _, version = item_form(manager)
    path = content / f"{NOTES}.md"
    path.write_text(path.read_text().replace("topics: [", "topics: [health-taxes, ", 1))
    response = manager.post(f"/items/{NOTES}/tags", data={
        "csrf_token": token(manager, f"/items/{NOTES}"), "version": version, "topics": ["accountability"],
        "activities": "forum-2020", "type": "session-note"})
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    message = field_error(page, "tags-error")
    assert "changed since it was loaded" in message and "The file now has topics: health-taxes" in message
    assert 'value="accountability" checked>' in page
    new_version = re.search(r'name="version" value="([0-9a-f]{64})"', page.split('id="tags"')[1])[1]
    assert new_version == hash_file(content, f"{NOTES}.md") != version  # saving again is a deliberate choice
    assert "accountability" not in path.read_text()


@pytest.mark.slow
def test_a_refused_suggestion_comes_back_on_the_item_page(manager, site):
    content, _, _ = site
    item_id = "discussions/data-dashboards-health-spending"
    page, version = item_form(manager, item_id)
    assert "Suggested topics" in page
    path = content / f"{item_id}.md"
    path.write_text(path.read_text() + "\nEdited meanwhile.\n")
    response = manager.post(f"/items/{item_id}/suggestions", data={
        "csrf_token": token(manager, f"/items/{item_id}"), "topic": "health-financing-data", "decision": "accept",
        "version": version})
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "changed since it was loaded" in field_error(page, "suggestions-error")
    assert '<details class="tag-form" id="tags" open>' in page and described_by(page, "suggestions-error")
    forged = manager.post(f"/items/{item_id}/suggestions", data={
        "csrf_token": token(manager, f"/items/{item_id}"), "topic": "health-financing-data", "decision": "maybe"})
    assert forged.status_code == 400
    assert "choose Accept or Reject" in field_error(forged.get_data(as_text=True), "suggestions-error")


# -- login ----------------------------------------------------------------------------------------

def test_login_errors_sit_beside_their_fields_and_keep_the_name(manager_app):
    client = manager_app.test_client()
    empty = client.post("/login", data={"name": "ama", "password": "", "csrf_token": token(client)})
    page = empty.get_data(as_text=True)
    assert empty.status_code == 400
    assert field_error(page, "password-error") == "Enter your password."
    assert described_by(page, "password-error") and 'value="ama"' in page
    wrong = client.post("/login", data={"name": "ama", "password": "not the password", "csrf_token": token(client)})
    page = wrong.get_data(as_text=True)
    assert wrong.status_code == 401
    assert field_error(page, "login-error") == "Unknown user name or wrong password."
    assert 'value="ama"' in page and "not the password" not in page  # a password is never sent back


def test_an_expired_login_form_is_shown_again(manager_app):
    client = manager_app.test_client()
    response = client.post("/login", data={"name": "ama", "password": PASSWORD, "csrf_token": "expired"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "log in again" in field_error(page, "login-error") and 'value="ama"' in page
    assert PASSWORD not in page
    again = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)[1]
    assert client.post("/login", data={"name": "ama", "password": PASSWORD, "csrf_token": again}).status_code == 302


@pytest.mark.slow
def test_a_throttled_login_keeps_the_name(sample_index, tmp_path):
    from indexer.accounts import add_user
    from webui import create_app

    content, index = sample_index
    add_user(tmp_path / "data", "ama", PASSWORD)
    client = create_app({"TESTING": True, "KB_CONTENT": str(content), "KB_INDEX": str(index),
                         "KB_DATA": str(tmp_path / "data"), "KB_LOGIN_ATTEMPTS": "1"}).test_client()
    client.post("/login", data={"name": "ama", "password": "wrong password!", "csrf_token": token(client)})
    response = client.post("/login", data={"name": "ama", "password": PASSWORD, "csrf_token": token(client)})
    page = response.get_data(as_text=True)
    assert response.status_code == 429
    assert "Try again in" in field_error(page, "login-error") and 'value="ama"' in page


def test_a_french_manager_reads_the_form_error_and_its_fix_in_french(manager, site):
    manager.set_cookie("kb_lang", "fr")
    response = manager.post("/manage/topics/preview", data=topic_form(
        manager, operation="rename", source="budget-execution", target="Budget flexibility rules", label=""))
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and '<html lang="fr">' in page
    message = field_error(page, "rename-target-error")
    assert message.startswith("« Budget flexibility rules » n'est pas un identifiant de sujet")
    assert "lettres minuscules (a-z)" in message and "budget-flexibility-rules" in message
    assert "Prévisualiser le renommage en budget-flexibility-rules" in text(response)  # the one-click fix
