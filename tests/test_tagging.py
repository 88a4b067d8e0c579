"""Tagging from the CLI and the web UI: the file changes, the index follows, the audit log records it."""

import json
import re

import pytest

from indexer import audit
from indexer.reindex import reindex
from indexer.cli import cli
from indexer.content import hash_file
from indexer.searching import search
from indexer.store import IndexStore
from indexer.tagging import Change
from kb.errors import ConflictError, QueryError
from kb.search import SearchRequest
from tests.conftest import open_library
from tests.test_access import PASSWORD, log_in, token
from webui import create_app
from indexer.accounts import add_user

NOTES = "sessions/roundtable-2-virements-notes"


@pytest.fixture()
def site(indexed_copy, tmp_path):
    content, index = indexed_copy
    return content, index, tmp_path / "data"


def topics_in_index(index, item_id):
    return IndexStore(index).get_item(item_id).topics


@pytest.mark.slow
def test_tag_writes_the_file_reindexes_and_logs(site):
    content, index, data = site
    path = content / f"{NOTES}.md"
    before = path.read_bytes()
    result = open_library(content, index, data).tag(NOTES, Change(add_topics=("health-financing-data",),
                                                     remove_topics=("budget-execution",)), who="ama")
    assert result.written and result.path == f"{NOTES}.md"
    after = path.read_bytes()
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
    assert changed == [(b"topics: [budget-flexibility, budget-execution, public-financial-management]",
                        b"topics: [budget-flexibility, public-financial-management, health-financing-data]")]
    assert len(before.splitlines()) == len(after.splitlines())
    assert topics_in_index(index, NOTES) == ("budget-flexibility", "public-financial-management", "health-financing-data")
    found = search(IndexStore(index), SearchRequest(q="topic:health-financing-data", role="manager"))
    assert NOTES in [h.item.id for h in found.hits]
    entry = audit.entries(data)[0]
    assert (entry["who"], entry["item"], entry["action"]) == ("ama", NOTES, "tag")
    assert entry["changes"]["topics"]["before"] == ["budget-flexibility", "budget-execution", "public-financial-management"]


def test_tag_refuses_unknown_deprecated_and_stale(site):
    content, index, data = site
    with pytest.raises(QueryError, match="'nope' is not in the vocabulary"):
        open_library(content, index, data).tag(NOTES, Change(add_topics=("nope",)), who="ama")
    with pytest.raises(QueryError, match="deprecated; use 'covid-19-response'"):
        open_library(content, index, data).tag(NOTES, Change(add_topics=("covid-financing",)), who="ama")
    with pytest.raises(ConflictError):
        open_library(content, index, data).tag(NOTES, Change(add_topics=("health-taxes",)), who="ama", expected="0" * 64)
    assert "health-taxes" not in (content / f"{NOTES}.md").read_text()
    assert audit.entries(data) == []


def test_nothing_to_change_writes_nothing(site):
    content, index, data = site
    before = (content / f"{NOTES}.md").stat().st_mtime_ns
    result = open_library(content, index, data).tag(NOTES, Change(add_topics=("budget-flexibility",)), who="ama")
    assert not result.written and (content / f"{NOTES}.md").stat().st_mtime_ns == before


def test_cli_tag_and_log(runner, site):
    content, index, data = site
    args = ["--content", str(content), "--index", str(index), "--data", str(data)]
    dry = runner.invoke(cli, [*args, "tag", NOTES, "--add", "health-taxes", "--dry-run"])
    assert dry.exit_code == 0 and "Dry run: nothing written." in dry.output
    assert "health-taxes" not in (content / f"{NOTES}.md").read_text()
    done = runner.invoke(cli, [*args, "tag", NOTES, "--add", "health-taxes", "--type", "document", "--who", "kofi"])
    assert done.exit_code == 0 and "Written and reindexed." in done.output
    assert IndexStore(index).get_item(NOTES).type == "document"
    bad = runner.invoke(cli, [*args, "tag", NOTES, "--add", "nope"])
    assert bad.exit_code == 2 and bad.output == "Error: topic 'nope' is not in the vocabulary\n"
    missing = runner.invoke(cli, [*args, "tag", "no/such/item", "--add", "health-taxes"])
    assert missing.exit_code == 2 and "no item with id 'no/such/item'" in missing.output
    log = runner.invoke(cli, [*args, "log", "--item", NOTES, "--json"])
    entry = json.loads(log.output.splitlines()[0])
    assert entry["who"] == "kofi" and entry["changes"]["type"] == {"before": "session-note", "after": "document"}


@pytest.fixture()
def manager(site):
    content, index, data = site
    add_user(data, "ama", PASSWORD)
    app = create_app({"TESTING": True, "KB_CONTENT": str(content), "KB_INDEX": str(index), "KB_DATA": str(data)})
    client = app.test_client()
    log_in(client)
    return client


@pytest.mark.slow
def test_item_page_form_saves_tags(manager, site):
    content, index, data = site
    page = manager.get(f"/items/{NOTES}").get_data(as_text=True)
    version = re.search(r'name="version" value="([0-9a-f]{64})"', page)[1]
    assert version == hash_file(content, f"{NOTES}.md")
    response = manager.post(f"/items/{NOTES}/tags", data={
        "csrf_token": token(manager, f"/items/{NOTES}"), "version": version,
        "topics": ["budget-flexibility", "budget-execution", "accountability"],
        "activities": "forum-2020, forum-2020-roundtable-2", "type": "session-note"})
    assert response.status_code == 302
    assert "accountability" in topics_in_index(index, NOTES)
    assert "public-financial-management" not in topics_in_index(index, NOTES)
    followed = manager.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Saved topics in {NOTES}.md." in followed
    # the same form again, with the version read before the save: refused, nothing overwritten
    stale = manager.post(f"/items/{NOTES}/tags", data={
        "csrf_token": token(manager, f"/items/{NOTES}"), "version": version, "topics": ["health-taxes"],
        "activities": "", "type": "session-note"})
    assert stale.status_code == 409
    assert "changed since it was loaded" in stale.get_data(as_text=True)
    assert "health-taxes" not in (content / f"{NOTES}.md").read_text()


@pytest.mark.slow
def test_bulk_tagging_previews_then_applies(manager, site):
    content, index, data = site
    form = manager.get("/manage/bulk?q=virements").get_data(as_text=True)
    items = re.findall(r'name="item" value="([^"]+)"', form)
    assert NOTES in items and len(items) >= 3
    before = {p: p.read_bytes() for p in content.rglob("*.md")}
    preview = manager.post("/manage/bulk/preview", data={"csrf_token": token(manager, "/manage/bulk?q=virements"),
                                                         "add": "accountability", "item": items})
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and f"<code>{NOTES}.md</code>" in page
    assert {p: p.read_bytes() for p in content.rglob("*.md")} == before  # a preview writes nothing
    ids = re.findall(r'name="item" value="([^"]+)"', page)
    versions = re.findall(r'name="version" value="([^"]+)"', page)
    # someone edits one of the files between preview and apply: that one is refused
    (content / f"{NOTES}.md").write_text((content / f"{NOTES}.md").read_text() + "\nA late edit.\n")
    done = manager.post("/manage/bulk/apply", data={"csrf_token": token(manager, "/manage/bulk?q=virements"),
                                                    "add": "accountability", "item": ids, "version": versions})
    text = done.get_data(as_text=True)
    assert f"{len(ids) - 1} files changed and reindexed" in text
    assert f"{NOTES}: {NOTES}.md changed since it was loaded" in text
    assert "accountability" not in topics_in_index(index, NOTES)
    other = next(i for i in ids if i != NOTES)
    assert "accountability" in topics_in_index(index, other)
    assert {e["action"] for e in audit.entries(data)} == {"bulk-tag"}


@pytest.mark.slow
def test_suggestions_are_offered_accepted_and_rejected(manager, site):
    from indexer.suggest import suggestions

    content, index, data = site
    item_id = "discussions/data-dashboards-health-spending"
    offered, candidates = suggestions(IndexStore(index), data, IndexStore(index).get_item(item_id))
    by_topic = {s.topic: s.reason for s in offered}
    assert by_topic["health-financing-data"] == "the text says “dashboards”"
    assert candidates and all(c.isalpha() for c in candidates)
    page = manager.get(f"/items/{item_id}").get_data(as_text=True)
    assert "Suggested topics" in page and "the text says “dashboards”" in page
    version = re.search(r'name="version" value="([0-9a-f]{64})"', page)[1]
    accepted = manager.post(f"/items/{item_id}/suggestions", data={
        "csrf_token": token(manager, f"/items/{item_id}"), "topic": "health-financing-data", "decision": "accept",
        "version": version})
    assert accepted.status_code == 302
    assert "health-financing-data" in topics_in_index(index, item_id)
    rejected = manager.post(f"/items/{item_id}/suggestions", data={
        "csrf_token": token(manager, f"/items/{item_id}"), "topic": "budget-execution", "decision": "reject"})
    assert rejected.status_code == 302 and "budget-execution" not in topics_in_index(index, item_id)
    offered_now = {s.topic for s in suggestions(IndexStore(index), data, IndexStore(index).get_item(item_id))[0]}
    assert "budget-execution" not in offered_now and "health-financing-data" not in offered_now
    assert audit.entries(data)[0]["changes"]["topics"]["after"] == ["health-financing-data"]
    assert manager.get("/manage/candidates").status_code == 200


@pytest.fixture()
def full_disk(tmp_path):
    """A real, tiny file system that fills up (tmpfs; needs root and mount, else the test is skipped)."""
    import shutil
    import subprocess

    mount = tmp_path / "small"
    mount.mkdir()
    if shutil.which("mount") is None or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_stops_the_change_and_leaves_the_log_whole(runner, site, full_disk):
    content, index, _ = site
    data = full_disk / "data"
    args = ["--content", str(content), "--index", str(index), "--data", str(data)]
    assert runner.invoke(cli, [*args, "tag", NOTES, "--add", "health-taxes"]).exit_code == 0
    with open(data / audit.AUDIT, "ab") as handle:  # blank lines up to a page boundary: the next entry needs a new page
        handle.write(b"\n" * (-handle.tell() % 4096))
    log_bytes = (data / audit.AUDIT).read_bytes()
    filler = full_disk / "filler"
    with open(filler, "wb", buffering=0) as handle:  # fill the disk to the last byte
        try:
            while True:
                handle.write(b"x" * 64)
        except OSError:
            pass
    before = (content / f"{NOTES}.md").read_bytes()
    failed = runner.invoke(cli, [*args, "tag", NOTES, "--add", "budget-execution", "--remove", "health-taxes"])
    assert failed.exit_code == 2
    assert "cannot be written (No space left on device); the change was not made" in failed.output
    assert "Traceback" not in failed.output
    assert (content / f"{NOTES}.md").read_bytes() == before  # no change without its record
    assert (data / audit.AUDIT).read_bytes() == log_bytes  # no half line
    filler.unlink()
    assert runner.invoke(cli, [*args, "tag", NOTES, "--remove", "health-taxes"]).exit_code == 0
    entries = json.loads("[" + ",".join(runner.invoke(cli, [*args, "log", "--json"]).output.splitlines()) + "]")
    assert [e["changes"]["topics"]["after"] for e in entries] == [
        ["budget-flexibility", "budget-execution", "public-financial-management"],
        ["budget-flexibility", "budget-execution", "public-financial-management", "health-taxes"]]


def test_a_line_torn_in_the_past_does_not_hide_the_next_entry(runner, site):
    content, index, data = site
    args = ["--content", str(content), "--index", str(index), "--data", str(data)]
    data.mkdir(parents=True, exist_ok=True)
    (data / audit.AUDIT).write_text('{"at": "2026-01-01T00:00:00+00:00", "who": "ama", "action": "tag", "ite')
    assert runner.invoke(cli, [*args, "tag", NOTES, "--add", "health-taxes", "--who", "kofi"]).exit_code == 0
    log = runner.invoke(cli, [*args, "log"])
    assert "kofi  tag  " + NOTES in log.stdout
    assert "line 1 cannot be read (cut off by a crash or a full disk); skipped" in log.stderr


@pytest.mark.slow
def test_a_tag_edit_reindexes_the_file_it_wrote_not_the_folder(site):
    """The edit goes through the same incremental path as `kb reindex`, limited to the file it wrote:
    a change elsewhere in the folder waits for the next `kb reindex` (no walk of the whole folder)."""
    content, index, data = site
    other = content / "discussions/data-dashboards-health-spending.md"
    other.write_text(other.read_text() + "\nA word about okapis.\n")
    open_library(content, index, data).tag(NOTES, Change(add_topics=("health-taxes",)), who="ama")
    store = IndexStore(index)
    assert "health-taxes" in store.get_item(NOTES).topics
    assert search(store, SearchRequest(q="okapis")).total == 0
    summary = reindex(content, index)
    assert summary.updated == ["discussions/data-dashboards-health-spending.md"]
    assert search(IndexStore(index), SearchRequest(q="okapis")).total == 1


@pytest.mark.slow
def test_activities_named_in_the_text_are_offered_as_links_and_decided_with_one_click(manager, site):
    content, index, data = site
    survey = "surveys/member-needs-survey-2020-results"
    page = manager.get(f"/items/{survey}").get_data(as_text=True)
    offered = page[page.index("Suggested links"):page.index("</div>", page.index("Suggested links"))]
    assert "Webinar: Rapid budget responses to COVID-19" in offered  # "Run a webinar on rapid budget responses..."
    version = re.search(r'name="version" value="([0-9a-f]{64})"', page)[1]
    accepted = manager.post(f"/items/{survey}/links", data={
        "csrf_token": token(manager, f"/items/{survey}"), "activity": "webinar-2020-04-covid-budgets",
        "decision": "accept", "version": version})
    assert accepted.status_code == 302
    assert "webinar-2020-04-covid-budgets" in IndexStore(index).get_item(survey).activities
    assert "webinar-2020-04-covid-budgets" in (content / f"{survey}.md").read_text(encoding="utf-8")
    page = manager.get(f"/items/{survey}").get_data(as_text=True)
    named = re.findall(r'name="activity" value="([^"]+)"', page)
    assert "webinar-2020-04-covid-budgets" not in named and named  # the session on health taxes is still offered
    rejected = manager.post(f"/items/{survey}/links", data={
        "csrf_token": token(manager, f"/items/{survey}"), "activity": named[0], "decision": "reject"})
    assert rejected.status_code == 302 and named[0] not in IndexStore(index).get_item(survey).activities
    assert named[0] not in re.findall(r'name="activity" value="([^"]+)"', manager.get(f"/items/{survey}").get_data(as_text=True))


@pytest.mark.slow
def test_bulk_tagging_links_and_unlinks_activities(manager, site):
    content, index, data = site
    form = manager.get("/manage/bulk?q=virements").get_data(as_text=True)
    assert '<option value="working-group-budget-flexibility">' in form  # activities picked by title
    items = [i for i in re.findall(r'name="item" value="([^"]+)"', form) if not i.startswith("forum-2020")][:2]
    preview = manager.post("/manage/bulk/preview", data={"csrf_token": token(manager, "/manage/bulk?q=virements"),
                                                         "add_activity": "working-group-budget-flexibility",
                                                         "item": items})
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and 'name="add_activity" value="working-group-budget-flexibility"' in page
    done = manager.post("/manage/bulk/apply", data={
        "csrf_token": token(manager, "/manage/bulk?q=virements"), "add_activity": "working-group-budget-flexibility",
        "item": re.findall(r'name="item" value="([^"]+)"', page),
        "version": re.findall(r'name="version" value="([^"]+)"', page)})
    assert done.status_code == 200
    for item_id in items:
        assert "working-group-budget-flexibility" in IndexStore(index).get_item(item_id).activities
    page = manager.post("/manage/bulk/preview", data={"csrf_token": token(manager, "/manage/bulk?q=virements"),
                                                      "remove_activity": "working-group-budget-flexibility",
                                                      "item": items}).get_data(as_text=True)
    manager.post("/manage/bulk/apply", data={
        "csrf_token": token(manager, "/manage/bulk?q=virements"), "remove_activity": "working-group-budget-flexibility",
        "item": re.findall(r'name="item" value="([^"]+)"', page),
        "version": re.findall(r'name="version" value="([^"]+)"', page)})
    for item_id in items:
        assert "working-group-budget-flexibility" not in IndexStore(index).get_item(item_id).activities


@pytest.mark.slow
def test_a_manager_links_an_activity_by_typing_part_of_its_title(manager, site):
    content, index, data = site
    page = manager.get(f"/items/{NOTES}?activity_q=capitation+webinar").get_data(as_text=True)
    matches = re.findall(r'name="activity" value="([^"]+)"', page[page.index("activity-matches"):])
    assert matches == ["webinar-2020-09-capitation"]
    version = re.search(r'name="version" value="([0-9a-f]{64})"', page)[1]
    linked = manager.post(f"/items/{NOTES}/links", data={"csrf_token": token(manager, f"/items/{NOTES}"),
                                                         "activity": matches[0], "decision": "accept",
                                                         "version": version})
    assert linked.status_code == 302 and matches[0] in IndexStore(index).get_item(NOTES).activities
    none = manager.get(f"/items/{NOTES}?activity_q=zzzz").get_data(as_text=True)
    assert "No activity has “zzzz” in its title." in none
