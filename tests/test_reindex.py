"""The reindex job: incremental changes, generations, guards, locks and status."""

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from indexer.reindex import Guards, reindex, rollback
from indexer.manifest import load_manifest
from indexer.searching import search
from indexer.store import IndexStore
from kb.errors import IndexLockedError, NotFoundError, ValidationError
from kb.search import SearchRequest
from tests.conftest import ROOT, write
from webui import create_app


def ids_in(index: Path) -> list[str]:
    store = IndexStore(index)
    with store.searcher() as (searcher, _):
        return sorted(doc["id"] for doc in searcher.all_stored_fields())


def hits(index: Path, q: str) -> list[str]:
    return [h.item.id for h in search(IndexStore(index), SearchRequest(q=q, page_size=100, role="manager")).hits]


def index_files(index: Path) -> dict[str, float]:
    # LOCK and last-run.json record the job itself, not the index
    return {str(p): p.stat().st_mtime_ns for p in index.rglob("*") if p.is_file() and p.name not in ("LOCK", "last-run.json")}


@pytest.fixture()
def indexed(indexed_copy):
    return indexed_copy


def test_first_run_is_full_then_incremental_and_nothing_changed_writes_nothing(indexed):
    content, index = indexed
    before = index_files(index)
    summary = reindex(content, index)
    assert summary.mode == "incremental" and summary.indexed == 0 and summary.unchanged == 64
    assert index_files(index) == before


def test_adds_updates_deletes_and_renames(indexed):
    content, index = indexed
    write(content / "new/zebra.md", "---\ntitle: Zebra note\ntopics: [budget-execution]\n---\nzebrafish budgets")
    path = content / "discussions/data-dashboards-health-spending.md"
    path.write_text(path.read_text() + "\nA closing word about okapis.\n")
    (content / "personas/county-health-director-kenya.md").unlink()
    (content / "training/module-1-facilitating-online-peer-exchange.md").rename(content / "training/module-1.md")
    summary = reindex(content, index)
    assert (sorted(summary.added), summary.updated, summary.deleted) == (
        ["new/zebra.md", "training/module-1.md"],
        ["discussions/data-dashboards-health-spending.md"],
        ["personas/county-health-director-kenya.md", "training/module-1-facilitating-online-peer-exchange.md"])
    assert summary.items == 64
    ids = ids_in(index)
    assert len(ids) == len(set(ids)) == 64
    assert "new/zebra" in ids and "training/module-1" in ids
    assert "personas/county-health-director-kenya" not in ids
    assert "training/module-1-facilitating-online-peer-exchange" not in ids
    assert hits(index, "okapis") == ["discussions/data-dashboards-health-spending"]
    assert hits(index, "zebrafish") == ["new/zebra"]


def test_touched_but_unchanged_files_are_not_reindexed(indexed):
    content, index = indexed
    path = content / "documents/glossary-health-financing-terms-en-fr.md"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 5_000_000_000))
    summary = reindex(content, index)
    assert summary.indexed == 0 and summary.unchanged == 64
    # the manifest learned the new time, so the next run takes the fast path without hashing
    manifest = load_manifest(IndexStore(index).folder.current().manifest)
    assert manifest["documents/glossary-health-financing-terms-en-fr.md"].mtime_ns == path.stat().st_mtime_ns


@pytest.mark.slow
def test_vocabulary_change_re_derives_the_hierarchy(indexed):
    content, index = indexed
    assert "documents/note-health-taxes-and-fiscal-space" not in hits(index, "topic:universal-health-coverage")
    vocab = content / "vocabulary.yml"
    text = vocab.read_text()
    moved = re.sub(r"(- id: health-taxes\n(?:    .*\n)*?    broader: )domestic-resource-mobilization",
                   r"\1universal-health-coverage", text)
    assert moved != text
    vocab.write_text(moved)
    summary = reindex(content, index)
    assert summary.rederived == 64 and summary.indexed == 0
    assert "documents/note-health-taxes-and-fiscal-space" in hits(index, "topic:universal-health-coverage")
    store = IndexStore(index)
    assert store.generation().vocabulary.topics["health-taxes"].broader == "universal-health-coverage"


@pytest.mark.slow
def test_a_search_between_the_commit_and_the_new_vocabulary_is_not_served_again_from_the_cache(indexed, monkeypatch):
    """An incremental run commits, then writes the generation's vocabulary: a member searching a new synonym
    in between gets the old vocabulary's answer, and must get the new one once the run is done (the web app
    kept serving the stale answer from its result cache until the next commit)."""
    from indexer.generation import GenerationFolder

    content, index = indexed
    reader = IndexStore(index, cache_size=64)  # a web worker's store, with its result cache
    vocab = content / "vocabulary.yml"
    vocab.write_text(vocab.read_text(encoding="utf-8").replace(
        "alt_labels:\n      en: [health finance,", "alt_labels:\n      en: [numbatfunding, health finance,", 1),
        encoding="utf-8")
    write_vocabulary = GenerationFolder.write_vocabulary
    between = []

    def searched_meanwhile(folder, vocabulary):
        between.append(search(reader, SearchRequest(q="numbatfunding")).total)
        write_vocabulary(folder, vocabulary)

    monkeypatch.setattr(GenerationFolder, "write_vocabulary", searched_meanwhile)
    assert reindex(content, index).rederived == 64
    assert between == [0]
    assert search(reader, SearchRequest(q="numbatfunding")).total > 3


def test_changed_activity_kind_re_derives_linked_items(indexed):
    content, index = indexed
    assert "sessions/roundtable-2-virements-notes" not in hits(index, "kind:webinar")
    path = content / "activities/forum-2020-roundtable-2.md"
    path.write_text(path.read_text().replace("kind: roundtable", "kind: webinar"))
    summary = reindex(content, index)
    assert summary.updated == ["activities/forum-2020-roundtable-2.md"] and summary.rederived >= 2
    assert "sessions/roundtable-2-virements-notes" in hits(index, "kind:webinar")


@pytest.mark.slow
def test_a_file_broken_by_an_edit_keeps_its_last_good_version(indexed):
    content, index = indexed
    path = content / "documents/policy-note-capitation-primary-health-care.md"
    path.write_text("---\ntitle: [broken\n---\n")
    summary = reindex(content, index)
    assert [f.path for f in summary.failed] == ["documents/policy-note-capitation-primary-health-care.md"]
    assert "kept the last indexed version" in " ".join(summary.notes)
    assert IndexStore(index).get_item("documents/policy-note-capitation-primary-health-care").title.startswith("Policy note")
    full = reindex(content, index, full=True)  # a full rebuild keeps it too
    assert [f.path for f in full.failed] == ["documents/policy-note-capitation-primary-health-care.md"]
    assert "documents/policy-note-capitation-primary-health-care" in ids_in(index)


def test_duplicate_id_in_a_new_file_is_refused(indexed):
    content, index = indexed
    write(content / "copy.md", "---\nid: forum-2020\ntitle: Impostor\n---\n")
    summary = reindex(content, index)
    assert [(f.path, f.reason) for f in summary.failed] == [("copy.md", "id 'forum-2020' is already used by activities/forum-2020.md")]
    assert IndexStore(index).get_item("forum-2020").title.startswith("Annual Forum 2020")


def test_dry_run_changes_nothing(indexed):
    content, index = indexed
    write(content / "extra.md", "# Extra")
    before = index_files(index)
    summary = reindex(content, index, dry_run=True)
    assert summary.dry_run and summary.added == ["extra.md"]
    assert index_files(index) == before
    full = reindex(content, index, full=True, dry_run=True)
    assert full.dry_run and index_files(index) == before


@pytest.mark.slow
def test_full_rebuild_switches_generation_and_rollback_returns(indexed):
    content, index = indexed
    store = IndexStore(index)
    first = store.current_name()
    write(content / "extra.md", "---\ntitle: Extra\n---\nmarmosets")
    second = reindex(content, index, full=True).generation
    assert store.current_name() == second != first
    assert hits(index, "marmosets") == ["extra"]
    assert rollback(index) == first
    assert store.current_name() == first and hits(index, "marmosets") == []
    assert rollback(index) == second  # and forward again
    assert sorted(p.name for p in index.glob("gen-*")) == sorted([first, second])


def test_rollback_without_previous_generation(tmp_path):
    write(tmp_path / "c/a.md", "# A")
    reindex(tmp_path / "c", tmp_path / "ix")
    with pytest.raises(NotFoundError, match="no previous generation"):
        rollback(tmp_path / "ix")


@pytest.mark.slow
def test_full_rebuild_that_loses_too_many_items_is_refused(indexed):
    content, index = indexed
    store = IndexStore(index)
    serving = store.current_name()
    for path in list((content / "activities").glob("*.md"))[:20]:
        path.unlink()
    with pytest.raises(ValidationError, match=r"44 items, 20 fewer than the 64 serving now"):
        reindex(content, index, full=True)
    assert store.current_name() == serving and len(ids_in(index)) == 64
    assert sorted(p.name for p in index.glob("gen-*")) == [serving]
    with pytest.raises(ValidationError, match="20 of 64 indexed files are gone"):
        reindex(content, index)
    assert len(ids_in(index)) == 64
    forced = reindex(content, index, guards=Guards(force=True))
    assert len(forced.deleted) == 20 and forced.items == 44


def test_minimum_item_count(tmp_path):
    write(tmp_path / "c/a.md", "# A")
    with pytest.raises(ValidationError, match="fewer than the minimum 5"):
        reindex(tmp_path / "c", tmp_path / "ix", guards=Guards(min_items=5))
    assert not (tmp_path / "ix" / "CURRENT").exists()
    assert not list((tmp_path / "ix").glob("gen-*"))


@pytest.mark.slow
def test_reader_mid_search_finishes_on_the_old_generation(indexed):
    content, index = indexed
    store = IndexStore(index)
    opened, switched, done = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def reader():
        with store.searcher() as (searcher, generation):
            seen["before"] = searcher.doc_count()
            opened.set()
            switched.wait(30)
            # the same searcher, mid-search, after the switch: still the old generation
            seen["during"] = searcher.doc_count()
            seen["found"] = searcher.document(id="forum-2020") is not None
        with store.searcher() as (searcher, generation):
            seen["after"] = searcher.doc_count()
        done.set()

    thread = threading.Thread(target=reader)
    thread.start()
    opened.wait(30)
    write(content / "extra.md", "# Extra")
    reindex(content, index, full=True)
    switched.set()
    done.wait(30)
    thread.join()
    assert seen == {"before": 64, "during": 64, "found": True, "after": 65}


@pytest.mark.slow
def test_running_web_ui_serves_the_new_generation_without_restart(indexed):
    content, index = indexed
    client = create_app({"TESTING": True, "KB_INDEX": str(index)}).test_client()
    before = client.get("/healthz").get_json()
    assert client.get("/search.json?q=marmosets").get_json()["total"] == 0
    write(content / "extra.md", "---\ntitle: Extra\n---\nmarmosets")
    after_full = reindex(content, index, full=True)
    assert client.get("/healthz").get_json()["generation"] == after_full.generation != before["generation"]
    assert client.get("/search.json?q=marmosets").get_json()["total"] == 1
    write(content / "more.md", "---\ntitle: More\n---\nmarmosets again")
    reindex(content, index)  # incremental, same generation
    assert client.get("/search.json?q=marmosets").get_json()["total"] == 2
    assert IndexStore(index).status()["items"] == 66


def test_status(indexed):
    content, index = indexed
    info = IndexStore(index).status()
    assert info["generation"].startswith("gen-") and info["items"] == 64 and info["lock_holder"] is None
    assert info["last_run"]["mode"] == "full" and info["last_run"]["failed"] == []
    assert info["last_run"]["outcome"] == "ok" and info["last_run"]["error"] is None


@pytest.mark.slow
def test_a_refused_run_is_recorded_as_failed_not_ok(indexed):
    content, index = indexed
    for path in list((content / "sessions").glob("*.md")) + list((content / "webinars").glob("*.md")):
        path.unlink()
    refused = kb_cli("--content", str(content), "--index", str(index), "reindex", "--full")
    assert refused.returncode == 4
    last = IndexStore(index).status()["last_run"]
    assert last["outcome"] == "failed" and "fewer than the 64 serving now" in last["error"]
    status = kb_cli("--index", str(index), "status")
    assert "last run:    full at " in status.stdout
    assert ", FAILED: the new index has " in status.stdout and "(the previous index still serves)" in status.stdout
    write(content / "bad.md", "---\n- not a mapping\n---\n")
    kb_cli("--content", str(content), "--index", str(index), "reindex", "--force")
    assert IndexStore(index).status()["last_run"]["outcome"] == "partial"
    assert "ok, but 1 file failed" in kb_cli("--index", str(index), "status").stdout


def hold_lock_in_child(index: Path) -> subprocess.Popen:
    code = ("import sys, time; from indexer.store import IndexStore\n"
            "with IndexStore(sys.argv[1]).write_lock():\n    print('held', flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(index)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def kb_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).with_name("kb")), *args], capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_second_writer_waits_then_exits_3_naming_the_holder(indexed):
    content, index = indexed
    holder = hold_lock_in_child(index)
    try:
        started = time.monotonic()
        result = kb_cli("--content", str(content), "--index", str(index), "reindex", "--wait", "1")
        waited = time.monotonic() - started
        assert result.returncode == 3
        assert result.stderr.startswith(f"Error: the index is being written by pid {holder.pid} on ")
        assert waited >= 1
        status = kb_cli("--index", str(index), "status", "--json")
        assert json.loads(status.stdout)["lock_holder"].startswith(f"pid {holder.pid} on ")
        with pytest.raises(IndexLockedError):
            with IndexStore(index).write_lock():
                pass
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


@pytest.mark.slow
def test_lock_of_a_killed_job_is_recovered_with_a_warning(indexed):
    content, index = indexed
    holder = hold_lock_in_child(index)
    holder.kill()  # SIGKILL: no chance to clean up
    holder.wait()
    holder.stdout.close()
    result = kb_cli("--content", str(content), "--index", str(index), "reindex")
    assert result.returncode == 0, result.stderr
    assert f"note: recovered the lock of a job that did not finish (pid {holder.pid} on " in result.stderr
    assert kb_cli("--content", str(content), "--index", str(index), "reindex").stderr == ""


@pytest.mark.slow
def test_exit_codes_and_json_summary(indexed):
    content, index = indexed
    write(content / "bad.md", "---\n- not a mapping\n---\n")
    result = kb_cli("--content", str(content), "--index", str(index), "reindex", "--json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert set(data) >= {"mode", "added", "updated", "deleted", "unchanged", "failed", "generation", "items", "seconds"}
    assert data["failed"] == [{"path": "bad.md", "reason": "front matter is a list, expected 'key: value' lines"}]
    (content / "bad.md").unlink()
    for path in list((content / "sessions").glob("*.md")) + list((content / "webinars").glob("*.md")):
        path.unlink()
    refused = kb_cli("--content", str(content), "--index", str(index), "reindex", "--full")
    assert refused.returncode == 4 and "the previous index still serves" in refused.stderr
    assert kb_cli("--content", str(content), "--index", str(index), "reindex", "--full", "--force").returncode == 0
    assert kb_cli("--index", str(index / "nope"), "status").returncode == 2
    assert kb_cli("--content", str(content), "--index", str(index), "reindex", "--max-drop", "500").returncode == 2


@pytest.mark.slow
def test_dry_run_json_lists_paths(indexed):
    content, index = indexed
    write(content / "extra.md", "# Extra")
    result = kb_cli("--content", str(content), "--index", str(index), "reindex", "--dry-run", "--json")
    data = json.loads(result.stdout)
    assert data["dry_run"] is True and data["paths"]["added"] == ["extra.md"]
    text = kb_cli("--content", str(content), "--index", str(index), "reindex", "--dry-run")
    assert "would add: extra.md" in text.stdout


@pytest.mark.slow
def test_retired_generations_are_removed_after_the_grace_period(indexed, monkeypatch):
    import indexer.indexfolder

    content, index = indexed
    first = IndexStore(index).current_name()
    reindex(content, index, full=True)
    reindex(content, index, full=True)
    assert (index / first).is_dir()  # retired, still readable
    monkeypatch.setattr(indexer.indexfolder, "RETIRE_GRACE", 0.0)
    reindex(content, index, full=True)
    assert not (index / first).exists()
    assert len(list(index.glob("gen-*"))) == 2  # serving and previous


@pytest.mark.slow
def test_a_generation_that_cannot_answer_is_refused(indexed, monkeypatch):
    import indexer.lookups

    content, index = indexed
    serving = IndexStore(index).current_name()
    monkeypatch.setattr(indexer.lookups, "title_field", lambda lang: "title_pt")  # titles not where searched
    with pytest.raises(ValidationError, match="failed its canary searches: item .* is not found by a word of its title"):
        reindex(content, index, full=True)
    assert IndexStore(index).current_name() == serving


@pytest.mark.slow
def test_a_file_name_that_is_not_utf8_is_reported_and_the_rest_indexed(content_copy, tmp_path):
    """Archives from Windows or Latin-1 systems: a name with a byte that is not UTF-8."""
    index = tmp_path / "ix"
    with open(os.path.join(os.fsencode(content_copy / "documents"), b"r\xe9sum\xe9.md"), "w") as handle:
        handle.write("---\ntitle: Resume\n---\nokapis")
    for args in (["reindex"], ["reindex"], ["reindex", "--full"]):  # full, then incremental, then full again
        result = kb_cli("--content", str(content_copy), "--index", str(index), *args)
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert "failed: documents/r\\xe9sum\\xe9.md: the file name is not valid UTF-8" in result.stderr
    assert len(ids_in(index)) == 64
    check = kb_cli("--content", str(content_copy), "check")
    assert "documents/r\\xe9sum\\xe9.md: error: the file name is not valid UTF-8" in check.stdout


def test_a_search_in_flight_while_a_run_merges_segments_away_still_reads_them(tmp_path):
    """An incremental run that merges segments deletes their files when it commits. A search that
    started before (its searcher on the old segments) and reads one of those segments' stored fields or
    lengths for the first time afterwards failed inside Whoosh, which opens them on first use (one
    request in about 700 under a load with back-to-back one-file reindexes); the searcher now opens
    them when it is opened."""
    import datetime as dt

    from indexer.searching import run_search

    content, index = tmp_path / "content", tmp_path / "ix"
    for n in range(30):
        write(content / f"note-{n:02}.md", f"---\ntitle: Note {n}\n---\nBudget note number {n}.\n")
    reindex(content, index)

    def edit(run: int) -> None:
        write(content / f"note-{run % 30:02}.md", f"---\ntitle: Note {run % 30}\n---\nBudget note, edit {run}.\n")
        reindex(content, index)

    for run in range(3):  # a few small segments beside the first
        edit(run)
    store = IndexStore(index)
    with store.searcher() as (searcher, generation):
        folder = Path(generation.path)
        segments = [leaf.reader()._perdoc._segment.segment_id() for leaf, _ in searcher.leaf_searchers()]
        for run in range(3, 30):
            edit(run)
            gone = [s for s in segments if not (folder / f"{s}._stored.col").exists()]
            if gone:
                break
        assert gone, "no run merged the segments this search reads"
        result = run_search(searcher, generation, SearchRequest(q="budget", page_size=50, role="manager"), dt.date.today())
        assert result.total == 30 and len(result.hits) == 30
        assert sorted(h.item.id for h in result.hits) == sorted(f"note-{n:02}" for n in range(30))


def run_warnings(content: Path, index: Path, *args: str) -> list[str]:
    from click.testing import CliRunner
    from indexer.cli import cli

    result = CliRunner().invoke(cli, ["--content", str(content), "--index", str(index), "reindex", "--json", *args])
    assert result.exit_code == 0, result.output
    return [f"{w['path']}: {w['reason']}" for w in json.loads(result.stdout)["warnings"]]


def test_a_run_checks_the_links_of_the_files_it_read_against_the_whole_index(indexed):
    """An incremental run read one file that links to an activity it did not read: that link is
    fine (a run used to report it as a link to no item). Links to an id that no item has, or that
    the run deleted, and an activity link to an item that is not an activity, are reported."""
    content, index = indexed
    module = content / "training/module-1-facilitating-online-peer-exchange.md"
    module.write_text(module.read_text() + "\nOne more line.\n")
    assert run_warnings(content, index) == []
    text = module.read_text()
    module.write_text(text.replace("activities: [training-2020-community-managers]",
                                   "activities: [training-2020-community-managers, no-such-activity, "
                                   "discussions/data-dashboards-health-spending]\ncomplements: [webinar-2020-11-pbb]"))
    (content / "activities/webinar-2020-11-pbb.md").unlink()
    assert [w for w in run_warnings(content, index) if w.startswith("training/")] == [
        "training/module-1-facilitating-online-peer-exchange.md: error: activities: 'no-such-activity' is not the id of any item",
        "training/module-1-facilitating-online-peer-exchange.md: error: complements: 'webinar-2020-11-pbb' is not the id of any item",
        "training/module-1-facilitating-online-peer-exchange.md: warning: activities: 'discussions/data-dashboards-health-spending' is a "
        "discussion, not an activity",
    ]


def test_a_full_build_reports_what_kb_check_reports_but_near_duplicates(indexed):
    """A full build keeps no copy of its items for the checks that follow it, only ids, types and links;
    it reports the same problems as `kb check`, typed links and needs included (the copies it used to keep
    had lost them)."""
    from indexer.content import load_content
    from kb.checks import check_items

    content, index = indexed
    write(content / "notes/linking.md", "---\ntitle: Linking note\ntopics: [budget-execution]\n"
          "follows_up: [no-such-item]\nneeds: [no-such-topic]\n---\nA note.\n")
    loaded = load_content(content)
    expected = [f"{p.path}: {p.severity}: {p.message}" for p in check_items(loaded.items, loaded.vocabulary)
                if not p.message.endswith("(a duplicate?)")]
    assert any("follows_up: 'no-such-item'" in line for line in expected)
    assert any(line.startswith("notes/linking.md: error: needs") for line in expected)
    assert run_warnings(content, index, "--full") == expected


def test_a_sub_writer_that_cannot_start_fails_the_build_with_its_own_error(indexed, monkeypatch):
    """A full build whose sub-writer process cannot be started reports why, and the serving generation
    stays. The sample's items reach the sub-writers at commit, whose failure used to leave the build's
    files open (the suite fails on an unclosed file); a cancel then stopped the process that never started,
    and failed on that instead."""
    import multiprocessing.process

    from indexer import writing

    content, index = indexed
    before = ids_in(index)
    monkeypatch.setattr(writing, "PARALLEL_WRITE_FROM", 1)
    monkeypatch.setattr(writing, "WORKERS", 2)
    start = multiprocessing.process.BaseProcess.start

    def refuse(process):
        if getattr(process, "_target", None) is not None and process._target.__name__ == "_run_subwriter":
            raise OSError("no process can be started for a sub-writer")
        return start(process)

    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", refuse)
    with pytest.raises(OSError, match="sub-writer"):
        reindex(content, index, full=True)
    assert ids_in(index) == before


def test_a_run_reports_the_links_it_broke_and_the_topics_a_vocabulary_change_deprecated(indexed):
    """Deleting an activity breaks the links of items that were not changed: the run that deleted it
    says so. A vocabulary change re-derives every item; the run reports the topics it deprecated under
    items that were not changed (before, both were only found by `kb check`)."""
    content, index = indexed
    (content / "activities/webinar-2020-11-pbb.md").unlink()
    warnings = run_warnings(content, index)
    assert "webinars/webinar-2020-11-programme-based-budgeting-two-years-on.md: error: activities: " \
           "'webinar-2020-11-pbb' is not the id of any item" in warnings
    vocabulary = content / "vocabulary.yml"
    text = vocabulary.read_text()
    topic = "  - id: strategic-purchasing\n"
    assert topic in text
    vocabulary.write_text(text.replace(topic, topic + "    deprecated: true\n", 1))
    warnings = run_warnings(content, index)
    assert "webinars/webinar-2020-09-capitation-primary-health-care.md: warning: topics: 'strategic-purchasing' " \
           "is deprecated" in warnings


def kb_reindex_as_cron_runs_it(content: Path, index: Path, nice: str | None, before: int = 0):
    """`kb reindex --json` run as cron runs it, in a process of its own started `before` nice steps down."""
    env = {**os.environ, "KB_CONTENT": str(content), "KB_INDEX": str(index)}
    env.pop("KB_REINDEX_NICE", None)
    if nice is not None:
        env.update({"KB_REINDEX_NICE": nice})
    done = subprocess.run([str(Path(sys.executable).with_name("kb")), "reindex", "--json"], env=env,
                          capture_output=True, text=True, timeout=120, preexec_fn=lambda: os.nice(before))
    return done


def test_a_reindex_job_gives_searches_the_cpu_first(content_copy, tmp_path):
    """kb reindex runs 10 nice steps down unless told otherwise (KB_REINDEX_NICE), keeps a lower priority it
    was started at, and says in its summary and run record what it ran at."""
    index = tmp_path / "ix"
    first = kb_reindex_as_cron_runs_it(content_copy, index, None)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["nice"] == 10 and json.loads(first.stdout)["indexed"] == 64
    assert json.loads((index / "last-run.json").read_text())["nice"] == 10
    status = subprocess.run([str(Path(sys.executable).with_name("kb")), "--index", str(index), "status"],
                            capture_output=True, text=True, timeout=60).stdout
    assert re.search(r"last run: +full at \S+, ok, \d+\.\d s at nice 10\n", status), status
    (content_copy / "documents" / "new-note.md").write_text("---\ntitle: A new note\n---\nText.\n", encoding="utf-8")
    assert json.loads(kb_reindex_as_cron_runs_it(content_copy, index, "3").stdout)["nice"] == 3
    assert json.loads(kb_reindex_as_cron_runs_it(content_copy, index, "0").stdout)["nice"] == 0  # nothing changed
    assert json.loads(kb_reindex_as_cron_runs_it(content_copy, index, "10", before=15).stdout)["nice"] == 15
    refused = kb_reindex_as_cron_runs_it(content_copy, index, "20")
    assert refused.returncode != 0 and "KB_REINDEX_NICE must be between 0 and 19, got 20" in refused.stderr
    assert "Traceback" not in refused.stderr
