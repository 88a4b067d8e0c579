"""Who may see what: every surface x every role, with canary words, titles and people that exist only
in restricted items; the sample's own levels; members' accounts; a members-only site."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from indexer.accounts import add_user
from indexer.cli import cli
from indexer.reindex import reindex
from tests.conftest import write
from webui import create_app

PASSWORD = "correct horse battery"
ROLES = ("anonymous", "member", "manager")

# Each canary exists only in an item of one level; the chatham canary is a person of a members'
# item under the Chatham House rule.
CANARIES = {
    "managers": {"id": "documents/canary-managers", "word": "quokkafunding", "title": "Zanzibarite ledger",
                 "person": "expert-ximena-quokkaby", "country": "AQ", "type": "canary-brief",
                 "acronym": "ZYA", "long": "Zebra Yield Accounting"},
    "members": {"id": "documents/canary-members", "word": "wombatbudget", "title": "Tasmanite ledger",
                "person": "expert-yusuf-wombatson", "country": "BV", "type": "canary-note",
                "acronym": "WTI", "long": "Walrus Tariff Index"},
}
NEIGHBOUR = "documents/canary-neighbour"  # public: shares a small workshop and a topic with the canaries
CHATHAM = {"id": "sessions/canary-chatham", "person": "member-ottoline-vexbridge", "name": "Vexbridge"}
SEES = {"anonymous": (), "member": ("members",), "manager": ("members", "managers")}


def canary_file(level: str, canary: dict) -> str:
    return f"""---
title: "{canary['title']} for budget reform"
type: {canary['type']}
date: 2021-03-01
community: health-financing-resilience
topics: [budget-execution]
activities: [forum-2020, canary-workshop]
people: [{canary['person']}]
countries: [{canary['country']}]
visibility: {level}
---
The {canary['word']} approach to budget execution, as the {canary['long']} ({canary['acronym']}) describes it.
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory, sample):
    import shutil

    base = tmp_path_factory.mktemp("visibility")
    content = base / "content"
    shutil.copytree(sample, content)
    for level, canary in CANARIES.items():
        write(content / f"{canary['id']}.md", canary_file(level, canary))
    write(content / "activities" / "canary-workshop.md", "---\nid: canary-workshop\ntitle: Ledger workshop\n"
          "type: activity\nkind: webinar\ndate: 2021-03-02\ntopics: [budget-execution]\n---\nA workshop.\n")
    write(content / f"{NEIGHBOUR}.md", "---\ntitle: Ledger practice across ministries\ntype: document\n"
          "date: 2021-03-03\ntopics: [budget-execution]\nactivities: [canary-workshop]\n---\n"
          "What zebra yield accounting and the walrus tariff index ask of budget execution.\n")
    write(content / f"{CHATHAM['id']}.md", f"""---
title: "Roundtable notes: reconciliation of advance payments"
type: session-note
date: 2020-06-20
topics: [provider-payment]
activities: [forum-2020]
people: [{CHATHAM['person']}, facilitator-ama-owusu]
visibility: members
chatham_house: true
---
Ottoline Vexbridge explained how advance payments were reconciled; Vexbridge also said claims lagged.
""")
    index, data = base / "ix", base / "data"
    assert not reindex(content, index).failed
    add_user(data, "ama", PASSWORD, "manager")
    add_user(data, "kofi", PASSWORD, "member")
    return content, index, data


@pytest.fixture(scope="module")
def clients(site):
    content, index, data = site
    app = create_app({"TESTING": True, "KB_CONTENT": str(content), "KB_INDEX": str(index), "KB_DATA": str(data)})
    found = {}
    for role, name in (("anonymous", None), ("member", "kofi"), ("manager", "ama")):
        client = app.test_client()
        if name:
            form = client.get("/login").get_data(as_text=True)
            csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)[1]
            assert client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": csrf}).status_code == 302
        found[role] = client
    return found


def text_of(client, url: str) -> tuple[int, str]:
    response = client.get(url)
    return response.status_code, response.get_data(as_text=True)


def unsigned(page: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token" value=""', page)


def allowed(role: str, level: str) -> bool:
    return level in SEES[role]


@pytest.mark.parametrize("role", ROLES)
def test_search_hits_totals_facets_and_snippets(clients, role):
    client = clients[role]
    for level, canary in CANARIES.items():
        seen = allowed(role, level)
        data = client.get(f"/search.json?q={canary['word']}").get_json()
        assert (data["total"], data["partial_total"]) == ((1, 0) if seen else (0, 0)), (level, data)
        status, page = text_of(client, f"/search?q={canary['word']}")
        assert status == 200 and (canary["title"] in page) == seen
        # A word every canary shares: totals, facet counts and snippets carry only what the role sees.
        shared = client.get("/search.json?q=budget execution&page_size=100").get_json()
        body = json.dumps(shared)
        for marker in (canary["title"], canary["word"], canary["type"]):
            assert (marker in body) == seen, (level, marker)
        facets = {value for name in ("type", "country", "person") for value in shared["facets"][name]}
        assert (canary["type"] in facets) == seen and (canary["country"] in facets) == seen
        assert (canary["person"] in facets) == seen
        assert client.get(f"/people/{canary['person']}").status_code == (200 if seen else 404)


@pytest.mark.parametrize("role", ROLES)
def test_did_you_mean_and_acronyms_use_only_what_the_role_sees(clients, role):
    client = clients[role]
    for level, canary in CANARIES.items():
        seen = allowed(role, level)
        typo = canary["word"][:-2] + canary["word"][-1]  # quokkafundig
        data = client.get(f"/search.json?q={typo}").get_json()
        assert (canary["word"] in json.dumps(data)) == seen, (level, data["messages"], data["suggestion"])
        # An acronym defined only in the canary does not lead to the public page with its long form.
        found = client.get(f"/search.json?q={canary['acronym']}").get_json()
        assert (NEIGHBOUR in [h["id"] for h in found["hits"]]) == seen, (level, found["total"])


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.slow
def test_pages_related_panels_topics_and_activities(clients, role):
    client = clients[role]
    for level, canary in CANARIES.items():
        seen = allowed(role, level)
        status, page = text_of(client, f"/items/{canary['id']}")
        missing_status, missing = text_of(client, "/items/documents/canary-nowhere")
        if seen:
            assert status == 200 and canary["title"] in page
        else:  # exactly like a missing item
            assert status == missing_status == 404
            # (a logged-in page carries a CSRF token signed with the time: it may differ by a second)
            assert unsigned(page.replace(canary["id"], "X")) == unsigned(missing.replace("documents/canary-nowhere", "X"))
        json_status = client.get(f"/items/{canary['id']}", headers={"Accept": "application/json"}).status_code
        assert json_status == (200 if seen else 404)
        twin = client.get(f"/items/{canary['id']}.json")
        assert twin.status_code == (200 if seen else 404)
        hidden_twin = client.get("/items/documents/canary-nowhere.json").get_json()
        if not seen:
            assert twin.get_json()["message"].replace(canary["id"], "X") == \
                hidden_twin["message"].replace("documents/canary-nowhere", "X")
        for url in ("/activities/forum-2020.json", "/topics/budget-execution.json", f"/items/{NEIGHBOUR}.json",
                    "/activities/canary-workshop.json"):
            body = client.get(url).get_data(as_text=True)
            assert (canary["title"] in body) == seen, (url, level)
            assert (canary["person"] in body) == (seen and role == "manager") or canary["person"] not in body
        # Lists of an activity and a topic, and the related panels of a public item and activity.
        for url in ("/activities/forum-2020", "/topics/budget-execution", "/topics/public-financial-management",
                    f"/items/{NEIGHBOUR}", "/activities/canary-workshop", "/communities/health-financing-resilience"):
            status, page = text_of(client, url)
            assert status == 200, url
            assert (canary["title"] in page) == seen, (url, level)
            assert canary["person"] not in page or seen


@pytest.mark.parametrize("role", ROLES)
def test_chatham_house_people_shown_to_managers_only(clients, role):
    client = clients[role]
    sees_item, sees_people = role != "anonymous", role == "manager"
    status, page = text_of(client, f"/items/{CHATHAM['id']}")
    assert status == (200 if sees_item else 404)
    twin = client.get(f"/items/{CHATHAM['id']}.json")
    assert twin.status_code == (200 if sees_item else 404)
    if sees_item:
        assert (CHATHAM["name"] in twin.get_data(as_text=True)) == sees_people
        assert bool(twin.get_json()["people"]) == sees_people
    if sees_item:
        assert "reconciled" in page
        assert (CHATHAM["name"] in page) == sees_people and (CHATHAM["person"] in page) == sees_people
    data = client.get("/search.json?q=advance payments reconciled&page_size=100").get_json()
    hit = next((h for h in data["hits"] if h["id"] == CHATHAM["id"]), None)
    assert (hit is not None) == sees_item
    if hit is not None:
        assert (CHATHAM["name"] in json.dumps(hit)) == sees_people
    # Its people do not lead to it: not by a person filter, a facet or a page, not by their name in a search.
    facets = client.get("/search.json?q=advance payments reconciled").get_json()["facets"]["person"]
    assert (CHATHAM["person"] in facets) == sees_people
    assert client.get(f"/people/{CHATHAM['person']}").status_code == (200 if sees_people else 404)
    assert client.get(f"/people/{CHATHAM['person']}.json").status_code == (200 if sees_people else 404)
    by_person = client.get(f"/search.json?q=person:{CHATHAM['person']}").get_json()
    assert by_person["total"] == (1 if sees_people else 0)
    assert client.get(f"/search.json?q={CHATHAM['name']}").get_json()["total"] == 0
    listing = text_of(client, "/activities/forum-2020")[1]
    assert CHATHAM["name"] not in listing and CHATHAM["person"] not in listing


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.slow
def test_manager_pages_healthz_robots_and_the_log(clients, role):
    client = clients[role]
    for url in ("/manage/", "/manage/map", "/manage/value", "/manage/searches", "/manage/candidates",
                "/manage/queue", "/manage/bulk?q=budget"):
        status = client.get(url).status_code
        assert status == {"anonymous": 302, "member": 403, "manager": 200}[role], url
    page = client.get("/search?q=budget")
    assert "Cookie" in page.headers["Vary"]
    assert ("no-store" in page.headers.get("Cache-Control", "")) == (role != "anonymous")  # never in a shared cache
    health = client.get("/healthz").get_json()
    assert health["status"] == "ok" and ("items" in health) == (role == "manager")
    robots = client.get("/robots.txt").get_data(as_text=True)
    assert all(c["title"] not in robots and c["id"] not in robots for c in CANARIES.values())
    if role == "manager":
        page = client.get("/manage/map").get_data(as_text=True) + client.get("/manage/value").get_data(as_text=True)
        assert page


def test_the_cli_sees_everything_and_shows_what_a_role_would_see(runner, site):
    content, index, data = site
    where = ["--content", str(content), "--index", str(index), "--data", str(data)]
    for role in ROLES:
        args = [] if role == "manager" else ["--as", role]
        for level, canary in CANARIES.items():
            found = runner.invoke(cli, [*where, "search", canary["word"], "--json", *args])
            assert found.exit_code == 0
            assert json.loads(found.stdout)["total"] == (1 if allowed(role, level) else 0), (role, level)
    bad = runner.invoke(cli, [*where, "search", "x", "--as", "visitor"])
    assert bad.exit_code == 2 and "visitor" in bad.output


@pytest.mark.slow
def test_the_sample_keeps_personas_one_on_ones_and_roundtable_notes_from_the_public(runner, sample_index):
    content, index = sample_index
    where = ["--content", str(content), "--index", str(index)]

    def types_seen(role: str, query: str) -> dict[str, list[str]]:
        found = json.loads(runner.invoke(cli, [*where, "search", query, "--json", "--limit", "100",
                                               "--as", role]).stdout)
        seen: dict[str, list[str]] = {}
        for hit in found["hits"]:
            seen.setdefault(hit["type"], []).append(hit["id"])
        return seen

    def seen_by(role: str) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for word in ("budget", "payment", "health", "data", "dashboards", "roundtable", "persona", "one-on-one"):
            for kind, ids in types_seen(role, word).items():
                found.setdefault(kind, [])
                found[kind] += [i for i in ids if i not in found[kind]]
        return found

    anonymous, member, manager = (seen_by(r) for r in ROLES)
    assert "persona" in manager and "one-on-one-summary" in manager
    for seen in (anonymous, member):
        assert "persona" not in seen and "one-on-one-summary" not in seen
        assert not any("one-on-one" in i for ids in seen.values() for i in ids)
    roundtable_notes = [i for i in member.get("session-note", []) if "roundtable" in i]
    assert len(roundtable_notes) == 4
    assert not [i for i in anonymous.get("session-note", []) if "roundtable" in i]
    top = json.loads(runner.invoke(cli, [*where, "search", "dashboards", "--json", "--as", "anonymous"]).stdout)
    assert top["hits"] and top["hits"][0]["type"] != "persona"
    assert json.loads(runner.invoke(cli, [*where, "search", "dashboards", "--json"]).stdout)["hits"][0]["type"] == "persona"


def test_default_visibility_and_members_only_site(site, tmp_path):
    content, index, data = site
    members = create_app({"TESTING": True, "KB_CONTENT": str(content), "KB_INDEX": str(index),
                          "KB_DATA": str(data), "KB_DEFAULT_VISIBILITY": "members"}).test_client()
    assert members.get("/search.json?q=capitation").get_json()["total"] == 0
    assert members.get("/items/discussions/capitation-rates-phc-kenyan-counties").status_code == 404
    closed = create_app({"TESTING": True, "KB_CONTENT": str(content), "KB_INDEX": str(index),
                         "KB_DATA": str(data), "KB_PUBLIC": "0"}).test_client()
    assert closed.get("/search?q=capitation").headers["Location"].startswith("/login")
    assert closed.get("/search.json?q=capitation").status_code == 401
    assert closed.get("/items/discussions/capitation-rates-phc-kenyan-counties").status_code == 302
    assert closed.get("/login").status_code == 200 and closed.get("/robots.txt").status_code == 200
    switched = closed.get("/language?lang=fr&next=/login")  # the login page's language switch works before login
    assert switched.headers["Location"] == "/login" and "kb_lang=fr" in switched.headers["Set-Cookie"]
    assert '<html lang="fr">' in closed.get("/login").get_data(as_text=True)
    form = closed.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)[1]
    assert closed.post("/login", data={"name": "kofi", "password": PASSWORD, "csrf_token": csrf}).status_code == 302
    assert closed.get("/search.json?q=capitation").get_json()["total"] > 0


@pytest.mark.slow
def test_a_bad_level_is_named_and_fails_closed(runner, content_copy, tmp_path):
    write(content_copy / "documents" / "odd.md", "---\ntitle: Odd pelicanfund note\nvisibility: secret\n---\nBody.\n")
    where = ["--content", str(content_copy), "--index", str(tmp_path / "ix")]
    checked = runner.invoke(cli, [*where, "check"])
    assert "documents/odd.md" in checked.output and "visibility: 'secret'" in checked.output
    assert runner.invoke(cli, [*where, "reindex", "-q"]).exit_code in (0, 1)
    assert json.loads(runner.invoke(cli, [*where, "search", "pelicanfund", "--json", "--as", "member"]).stdout)["total"] == 0
    assert json.loads(runner.invoke(cli, [*where, "search", "pelicanfund", "--json"]).stdout)["total"] == 1
    vocabulary = (content_copy / "vocabulary.yml").read_text(encoding="utf-8")
    (content_copy / "vocabulary.yml").write_text(vocabulary.replace("persona: managers", "persona: staff"),
                                                 encoding="utf-8")
    broken = runner.invoke(cli, [*where, "check"])
    assert broken.exit_code != 0 and "visibility.types.persona" in broken.output


@pytest.mark.slow
def test_members_imported_from_a_list_log_in_as_members(runner, tmp_path, sample_index):
    content, index = sample_index
    data = tmp_path / "data"
    listing = write(tmp_path / "members.csv", "name,role\nabena,member\nluis,\nlucia,manager\n")
    made = runner.invoke(cli, ["--data", str(data), "user", "import", str(listing)])
    assert made.exit_code == 0, made.output
    rows = list(csv.DictReader(io.StringIO(made.stdout)))
    assert [(r["name"], r["role"]) for r in rows] == [("abena", "member"), ("luis", "member"), ("lucia", "manager")]
    listed = runner.invoke(cli, ["--data", str(data), "user", "list"]).stdout
    assert "abena  member" in listed and "lucia  manager" in listed
    client = create_app({"TESTING": True, "KB_CONTENT": str(content), "KB_INDEX": str(index),
                         "KB_DATA": str(data)}).test_client()
    form = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)[1]
    assert client.post("/login", data={"name": "abena", "password": rows[0]["password"],
                                       "csrf_token": csrf}).status_code == 302
    assert client.get("/manage/").status_code == 403
    again = runner.invoke(cli, ["--data", str(data), "user", "import", str(listing)])
    assert again.exit_code == 0 and "abena exists already" in again.output
    bad = write(tmp_path / "bad.csv", "name,role\nkwame,member\nesi,owner\n")
    refused = runner.invoke(cli, ["--data", str(data), "user", "import", str(bad)])
    assert refused.exit_code == 2 and "line 3" in refused.output and "owner" in refused.output
    assert "kwame" not in runner.invoke(cli, ["--data", str(data), "user", "list"]).stdout
