"""An incremental run ranks the searches asked lately on its new commit while the web workers keep the last
one (indexer.warming): after the run they find those searches ranked, and exactly as a fresh search ranks them."""

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from indexer import warming
from indexer.reindex import reindex
from indexer.store import IndexStore
from webui import create_app

EDITED = "documents/budget-flexibility-in-health-practical-guide.md"


@pytest.fixture()
def noted_at_once(monkeypatch):
    """Each search a web worker is asked is added to the shared file at once (not every 2 s)."""
    monkeypatch.setattr(warming, "NOTE_EVERY", 0)


def worker(content: Path, index: Path, data: Path, **settings: str):
    """A web worker of the site: its own store, as a gunicorn worker process has."""
    config = {"TESTING": True, "KB_CONTENT": str(content), "KB_INDEX": str(index), "KB_DATA": str(data)}
    return create_app({**config, **settings}).test_client()


def served(client, query: str) -> tuple[dict, str]:
    response = client.get("/search.json", query_string={"q": query})
    assert response.status_code == 200
    page = response.get_json()
    page.pop("seconds", None)
    return page, response.headers["Server-Timing"]


def edit(content: Path, words: str) -> None:
    with open(content / EDITED, "a", encoding="utf-8") as handle:
        handle.write(f"\n{words}\n")


def asked_twice(content: Path, index: Path, data: Path):
    """A web worker asked "budget flexibility" twice: enough for a run to warm it."""
    site = worker(content, index, data)
    for _ in range(2):
        served(site, "budget flexibility")
    return site


def kb_reindex(content: Path, index: Path, data: Path, **env: str) -> dict:
    done = subprocess.run([str(Path(sys.executable).with_name("kb")), "reindex", "--json"], capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "KB_CONTENT": str(content), "KB_INDEX": str(index), "KB_DATA": str(data),
                               **env})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_reindex_ranks_the_searches_asked_lately_before_the_workers_move_to_its_commit(indexed_copy, tmp_path,
                                                                                           noted_at_once):
    content, index = indexed_copy
    data = tmp_path / "data"
    site = worker(content, index, data)
    for query in ("budget flexibility", "budget flexibility", "procurement", "procurement", "gender budgeting"):
        served(site, query)
    edit(content, "A note on budget flexibility in Zanzibar.")

    summary = kb_reindex(content, index, data)  # the first run in a while: readers move at its end

    assert summary["updated"] == 1
    assert summary["warmed"] == 2  # "gender budgeting" was asked once only
    fresh = worker(content, index, data, KB_SEARCH_CACHE="0")
    for query in ("budget flexibility", "procurement"):
        page, timing = served(site, query)
        assert "cache hit" in timing, query
        assert page == served(fresh, query)[0], query  # what the new commit ranks, edit included
    assert "cache miss" in served(site, "gender budgeting")[1]
    assert served(site, "zanzibar")[0]["total"] == 1


def test_with_no_time_to_warm_the_workers_rank_again_themselves(indexed_copy, tmp_path, noted_at_once):
    content, index = indexed_copy
    data = tmp_path / "data"
    site = asked_twice(content, index, data)
    edit(content, "A note on budget flexibility in Zanzibar.")

    summary = kb_reindex(content, index, data, KB_REINDEX_WARM="0")

    assert summary["warmed"] == 0
    assert "cache miss" in served(site, "budget flexibility")[1]
    assert not list(index.glob(f"*/{warming.HOLD_FILE}"))


def test_while_a_run_warms_the_workers_keep_serving_the_last_commit(indexed_copy, tmp_path, noted_at_once,
                                                                      monkeypatch):
    content, index = indexed_copy
    data = tmp_path / "data"
    site = worker(content, index, data)
    before = [served(site, "budget flexibility")[0] for _ in range(2)][0]
    edit(content, "A note on budget flexibility in Zanzibar.")
    seen_while_warming = []
    warm = warming.Warmer.warm

    def warm_and_look(self):
        # another process's worker, in the middle of the run: the commit is written, the hold is in force
        seen_while_warming.append((served(site, "zanzibar")[0]["total"], served(site, "budget flexibility")))
        return warm(self)

    monkeypatch.setattr(warming.Warmer, "warm", warm_and_look)
    job = IndexStore(index, cache_size=16, shared_cache_mb=8)
    job.warm_seconds = 5.0
    summary = reindex(content, job)

    assert summary.warmed == 1
    [(new_word, (page, timing))] = seen_while_warming
    assert new_word == 0  # the edit is not shown before the run ends
    assert page == before and "cache hit" in timing
    assert served(site, "zanzibar")[0]["total"] == 1  # and it is once the run ends
    job.close()


def test_a_hold_a_killed_run_left_ends_at_its_time(indexed_copy, tmp_path, noted_at_once):
    content, index = indexed_copy
    data = tmp_path / "data"
    site = worker(content, index, data)
    served(site, "budget flexibility")
    generation = next(path for path in index.iterdir() if path.name.startswith("gen-"))
    state = json.loads((generation / "build.json").read_text())["updated_at"]
    commit = IndexStore(index).generation().index.latest_generation()
    edit(content, "A note on budget flexibility in Zanzibar.")
    reindex(content, IndexStore(index))  # no hold written: the run did not warm

    hold = generation / warming.HOLD_FILE
    hold.write_text(json.dumps({"commit": commit, "updated_at": state, "until": time.time() + 60}))
    assert served(site, "zanzibar")[0]["total"] == 0  # held on the state it had
    hold.write_text(json.dumps({"commit": commit, "updated_at": state, "until": time.time() - 1}))
    assert served(site, "zanzibar")[0]["total"] == 1  # the hold ended: the run's commit


def test_kb_status_says_when_readers_are_held_and_until_when(indexed_copy, runner):
    from indexer.cli import cli

    content, index = indexed_copy
    args = ["--content", str(content), "--index", str(index), "status"]
    assert "readers:" not in runner.invoke(cli, args).output
    generation = next(path for path in index.iterdir() if path.name.startswith("gen-"))
    until = time.time() + 40
    (generation / warming.HOLD_FILE).write_text(json.dumps({"commit": 1, "updated_at": "x", "until": until}))

    shown = runner.invoke(cli, [*args, "--json"])
    text = runner.invoke(cli, args).output

    stamp = json.loads(shown.output)["readers_held_until"]
    assert abs(dt.datetime.fromisoformat(stamp).timestamp() - until) < 1
    assert f"readers:     kept on the last commit until {stamp}" in text


def test_the_shared_file_keeps_only_the_searches_asked_lately(indexed_copy, tmp_path, noted_at_once, monkeypatch):
    """A site that is searched for months without a reindex does not grow the file: what was asked more than
    ASKED_WINDOW ago is forgotten as new searches are noted."""
    content, index = indexed_copy
    site = worker(content, index, tmp_path / "data")
    for query in ("old question", "old question"):
        served(site, query)
    later = time.time() + warming.ASKED_WINDOW + 1
    monkeypatch.setattr(time, "time", lambda: later)
    served(site, "new question")

    shared = IndexStore(index, cache_size=16, shared_cache_mb=8).shared
    assert shared._run("SELECT COUNT(*) FROM asked") == [(1,)]  # before a run looks
    assert [r.q for r in shared.most_asked(warming.ASKED_WINDOW, 10)] == ["new question"]


def test_a_full_rebuild_ranks_the_searches_asked_lately_on_its_generation_before_it_serves(indexed_copy, tmp_path,
                                                                                          noted_at_once):
    content, index = indexed_copy
    data = tmp_path / "data"
    site = worker(content, index, data)
    for query in ("budget flexibility", "budget flexibility", "procurement"):
        served(site, query)
    before = (index / "CURRENT").read_text().strip()

    done = subprocess.run([str(Path(sys.executable).with_name("kb")), "reindex", "--full", "--json"],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "KB_CONTENT": str(content), "KB_INDEX": str(index), "KB_DATA": str(data)})

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["warmed"] == 1
    assert (index / "CURRENT").read_text().strip() != before
    page, timing = served(site, "budget flexibility")
    assert "cache hit" in timing
    assert page == served(worker(content, index, data, KB_SEARCH_CACHE="0"), "budget flexibility")[0]
    assert "cache miss" in served(site, "procurement")[1]


def test_runs_that_follow_each_other_move_the_readers_once_a_refresh_time(indexed_copy, tmp_path, noted_at_once,
                                                                           monkeypatch):
    """Readers move to the commits of runs at most every KB_READERS_REFRESH seconds: a run that ends sooner
    after they moved leaves them where they are, and the popular searches answered from the cache; then
    they find them ranked on its commit."""
    content, index = indexed_copy
    data = tmp_path / "data"
    site = asked_twice(content, index, data)
    edit(content, "A note on budget flexibility in Zanzibar.")
    first = kb_reindex(content, index, data, KB_READERS_REFRESH="300")
    before = served(site, "budget flexibility")[0]
    assert served(site, "zanzibar")[0]["total"] == 1  # the first run in a while: readers moved at its end
    moved = next(index.glob(f"*/{warming.MOVED_FILE}")).stat().st_mtime

    edit(content, "A second note, on quokkas.")
    second = kb_reindex(content, index, data, KB_READERS_REFRESH="300")

    assert (first["updated"], second["updated"]) == (1, 1)
    hold = json.loads(next(index.glob(f"*/{warming.HOLD_FILE}")).read_text())
    assert abs(hold["until"] - moved - 300) < 0.01
    page, timing = served(site, "budget flexibility")
    assert page == before and "cache hit" in timing
    assert served(site, "quokkas")[0]["total"] == 0

    later = hold["until"] + 1
    monkeypatch.setattr(warming.time, "time", lambda: later)  # the refresh time has passed
    page, timing = served(site, "budget flexibility")
    assert "cache hit" in timing  # ranked by the second run on its commit
    assert page == served(worker(content, index, data, KB_SEARCH_CACHE="0"), "budget flexibility")[0]
    assert served(site, "quokkas")[0]["total"] == 1


def test_a_run_without_a_hold_moves_the_readers_at_once(indexed_copy, tmp_path, noted_at_once):
    """A tag edit made in the web (and kb watch) reindexes in its own process without warming: its commit
    ends the hold an earlier run left, so the editor sees the edit."""
    content, index = indexed_copy
    data = tmp_path / "data"
    site = asked_twice(content, index, data)
    for words in ("A note on budget flexibility in Zanzibar.", "A second note, on quokkas."):
        edit(content, words)
        kb_reindex(content, index, data, KB_READERS_REFRESH="300")
        served(site, "budget flexibility")  # (the site is on the state it shows)
    assert served(site, "quokkas")[0]["total"] == 0  # held after the second run

    edit(content, "A third note, on walruses.")
    reindex(content, IndexStore(index))  # the run of a tag edit: a store that does not warm

    assert not list(index.glob(f"*/{warming.HOLD_FILE}"))
    assert served(site, "quokkas")[0]["total"] == 1 and served(site, "walruses")[0]["total"] == 1
