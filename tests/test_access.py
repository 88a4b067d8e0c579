"""Manager accounts, login, CSRF and the manager pages."""

import re

import pytest

from indexer.accounts import add_user, check_login, list_users, secret_key
from indexer.cli import cli
from kb.errors import ConfigError
from webui import create_app

PASSWORD = "correct horse battery"


@pytest.fixture()
def manager_app(sample_index, tmp_path):
    content, index = sample_index
    data = tmp_path / "data"
    add_user(data, "ama", PASSWORD)
    return create_app({"TESTING": True, "KB_CONTENT": str(content), "KB_INDEX": str(index), "KB_DATA": str(data)})


def token(client, url="/login"):
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(url).get_data(as_text=True))[1]


def log_in(client, password=PASSWORD, next_url=""):
    return client.post("/login" + next_url, data={"name": "ama", "password": password, "csrf_token": token(client)})


@pytest.mark.slow
def test_accounts_store_only_hashes(tmp_path):
    add_user(tmp_path, "ama", PASSWORD)
    stored = (tmp_path / "users.json").read_text()
    assert PASSWORD not in stored and "scrypt:" in stored
    assert (tmp_path / "users.json").stat().st_mode & 0o777 == 0o600
    assert check_login(tmp_path, "ama", PASSWORD)
    assert not check_login(tmp_path, "ama", "wrong password here")
    assert not check_login(tmp_path, "nobody", PASSWORD)
    assert [(name, role) for name, role, _ in list_users(tmp_path)] == [("ama", "manager")]


@pytest.mark.parametrize("name, password, message", [
    ("Ama Owusu", PASSWORD, "must be 2-32 lower-case letters"),
    ("ama", "short", "at least 10 characters"),
])
def test_bad_accounts_are_refused(tmp_path, name, password, message):
    with pytest.raises(ConfigError, match=message):
        add_user(tmp_path, name, password)


def test_session_key_is_created_once_and_shared(tmp_path):
    first = secret_key(tmp_path)
    assert len(first) == 64 and secret_key(tmp_path) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_user_commands(runner, tmp_path):
    data = str(tmp_path / "data")
    result = runner.invoke(cli, ["--data", data, "user", "add", "ama"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0 and "Created manager ama." in result.output
    assert PASSWORD not in result.output
    again = runner.invoke(cli, ["--data", data, "user", "add", "ama"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert again.exit_code == 2 and "Error: user 'ama' already exists" in again.output
    mismatch = runner.invoke(cli, ["--data", data, "user", "add", "kofi"], input=f"{PASSWORD}\nother password\n" * 3)
    assert mismatch.exit_code != 0 and "do not match" in mismatch.output.lower()
    assert runner.invoke(cli, ["--data", data, "user", "list"]).output.startswith("ama  manager  (created ")
    assert runner.invoke(cli, ["--data", data, "user", "remove", "ama"]).exit_code == 0
    assert runner.invoke(cli, ["--data", data, "user", "remove", "ama"]).exit_code == 2


def test_manager_pages_need_a_login(manager_app):
    client = manager_app.test_client()
    for url in ("/manage/", "/manage/searches"):
        response = client.get(url)
        assert response.status_code == 302
        assert response.headers["Location"] == f"/login?next={url}"
        assert client.get(url, headers={"Accept": "application/json"}).status_code == 401


def test_login_logout_and_the_searches_page(manager_app):
    client = manager_app.test_client()
    client.get("/search?q=capitation")
    client.get("/search?q=xylophones")
    wrong = log_in(client, password="not the password")
    assert wrong.status_code == 401 and "Unknown user name or wrong password." in wrong.get_data(as_text=True)
    response = log_in(client, next_url="?next=%2Fmanage%2Fsearches")
    assert response.status_code == 302 and response.headers["Location"] == "/manage/searches"
    assert "HttpOnly" in response.headers["Set-Cookie"] and "SameSite=Lax" in response.headers["Set-Cookie"]
    page = client.get("/manage/searches?days=7").get_data(as_text=True)
    assert "<td>xylophones</td>" in page and '<a href="/search?q=capitation">capitation</a>' in page
    assert client.get("/manage/searches?days=abc").status_code == 400
    assert "Log out ama" in page
    client.post("/logout", data={"csrf_token": token(client, "/search")})
    assert client.get("/manage/").status_code == 302


def test_login_only_follows_same_site_next(manager_app):
    client = manager_app.test_client()
    for target in ("//evil.example/x", "https://evil.example/", "javascript:alert(1)"):
        response = log_in(client, next_url=f"?next={target}")
        assert response.headers["Location"] == "/manage/"


def test_forms_without_a_csrf_token_are_refused(manager_app):
    client = manager_app.test_client()
    response = client.post("/login", data={"name": "ama", "password": PASSWORD})
    assert response.status_code == 400
    assert "The form expired or was not sent from this page: log in again." in response.get_data(as_text=True)
    assert client.post("/logout").status_code == 400


WRITES = {
    "/items/<path:item_id>/tags": "/items/sessions/roundtable-2-virements-notes/tags",
    "/items/<path:item_id>/suggestions": "/items/sessions/roundtable-2-virements-notes/suggestions",
    "/items/<path:item_id>/links": "/items/sessions/roundtable-2-virements-notes/links",
    "/manage/bulk/preview": "/manage/bulk/preview",
    "/manage/bulk/apply": "/manage/bulk/apply",
    "/manage/topics/preview": "/manage/topics/preview",
    "/manage/topics/apply": "/manage/topics/apply",
    "/manage/gaps": "/manage/gaps",
}


def test_every_write_route_refuses_anonymous_and_forged_requests(manager_app, sample_index):
    # Any new route that changes something must be listed in WRITES (login and logout are the session itself).
    routes = {rule.rule for rule in manager_app.url_map.iter_rules() if rule.methods - {"GET", "HEAD", "OPTIONS"}}
    assert routes == set(WRITES) | {"/login", "/logout"}
    content, _ = sample_index
    before = {p: p.read_bytes() for p in [*content.rglob("*.md"), content / "vocabulary.yml"]}
    anonymous = manager_app.test_client()
    for url in WRITES.values():
        form = {"csrf_token": token(anonymous), "topics": "health-taxes", "add": "health-taxes", "item": "forum-2020",
                "activity": "webinar-2020-09-capitation",
                "topic": "health-taxes", "decision": "accept", "operation": "merge", "source": "health-taxes",
                "target": "health-financing"}
        assert anonymous.post(url, data=form).status_code == 401, url
    manager = manager_app.test_client()
    log_in(manager)
    for url in WRITES.values():
        response = manager.post(url, data={"topics": "health-taxes", "add": "health-taxes", "item": "forum-2020",
                                           "topic": "health-taxes", "decision": "accept", "operation": "merge", "source": "health-taxes",
                "target": "health-financing"})
        assert response.status_code == 400 and "was not sent from this page" in response.get_data(as_text=True), url
    # A member logs in with a valid form and token, and still may not write.
    add_user(manager_app.extensions["kb"].data, "kofi", PASSWORD, "member")
    member = manager_app.test_client()
    csrf = token(member)
    member.post("/login", data={"name": "kofi", "password": PASSWORD, "csrf_token": csrf})
    for url in WRITES.values():
        form = {"csrf_token": token(member, "/search"), "topics": "health-taxes", "add": "health-taxes",
                "item": "forum-2020", "activity": "webinar-2020-09-capitation", "topic": "health-taxes",
                "decision": "accept", "operation": "merge", "source": "health-taxes", "target": "health-financing"}
        assert member.post(url, data=form).status_code == 403, url
    assert {p: p.read_bytes() for p in [*content.rglob("*.md"), content / "vocabulary.yml"]} == before
