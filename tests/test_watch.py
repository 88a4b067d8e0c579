"""`kb serve --watch` and `kb watch`: what is saved in the content folder is searchable a moment later,
through the kernel's file events (inotify), without a run that walks the folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from indexer.watching import Watch, watched
from kb.search import SearchRequest
from tests.conftest import open_library, write
from tests.servers import kb_serve

WAIT = 20.0  # seconds a change may take to show (a loaded CI machine; it takes well under 1 s idle)
DOCUMENT = "documents/budget-flexibility-in-health-practical-guide.md"


def until(check: Callable[[], object], timeout: float = WAIT) -> object:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def titles(base: str, query: str) -> list[str]:
    url = f"{base}/search.json?" + urllib.parse.urlencode({"q": query})
    with urllib.request.urlopen(url, timeout=10) as answer:
        return [hit["title"] for hit in json.load(answer)["hits"]]


def last_run(index: Path) -> str:
    return (index / "last-run.json").read_text()  # what kb status reports


@pytest.mark.slow
def test_a_saved_file_is_searchable_a_moment_later_under_kb_serve_watch(indexed_copy, tmp_path):
    content, index = indexed_copy
    document = content / DOCUMENT
    with kb_serve(content, index, tmp_path / "serve.log", None, "--watch") as base:
        assert not titles(base, "quokkaplan")
        # edited in place, as many editors save (the folder's own time does not change)
        with document.open("r+", encoding="utf-8") as handle:
            text = handle.read().replace('title: "Budget flexibility in health: a practical guide"',
                                         'title: "Budget flexibility and the quokkaplan"')
            handle.seek(0)
            handle.write(text)
            handle.truncate()
        assert until(lambda: titles(base, "quokkaplan") == ["Budget flexibility and the quokkaplan"])

        write(content / "documents" / "wombat-note.md", "---\ntitle: Wombat budgeting note\ntype: document\n---\nBody.\n")
        assert until(lambda: titles(base, "wombat") == ["Wombat budgeting note"])

        (content / "documents" / "wombat-note.md").unlink()
        assert until(lambda: titles(base, "wombat") == [])

        vocabulary = content / "vocabulary.yml"  # a new synonym: every item's topics are derived again
        vocabulary.write_text(vocabulary.read_text(encoding="utf-8").replace(
            "alt_labels:\n      en: [health finance,", "alt_labels:\n      en: [numbatfunding, health finance,", 1),
            encoding="utf-8")
        assert until(lambda: len(titles(base, "numbatfunding")) > 3)
    log = (tmp_path / "serve.log").read_text()
    assert "Watching" in log and "0 added, 1 updated, 0 deleted" in log and "1 added, 0 updated" in log


@pytest.mark.slow
def test_a_quiet_folder_runs_nothing_and_files_the_walk_skips_stay_out(indexed_copy, tmp_path):
    content, index = indexed_copy
    library = open_library(content, index)
    before = last_run(index)
    summaries: list = []
    watch = Watch(library, reported=summaries.append).start()
    try:
        time.sleep(1.5)
        assert last_run(index) == before and not summaries  # nothing changed: no run at all
        write(content / ".drafts" / "hidden.md", "---\ntitle: Platypus draft\n---\n")
        write(content / "documents" / "_build" / "page.md", "---\ntitle: Platypus build\n---\n")
        write(content / "documents" / "notes.yml", "platypus: 1\n")
        write(content / "documents" / "platypus.md", "---\ntitle: Platypus paper\ntype: document\n---\n")
        assert until(lambda: summaries)
        time.sleep(1.0)
    finally:
        watch.stop()
    found = library.backend.search(SearchRequest(q="platypus", role="manager"))
    assert [h.item.title for h in found.hits] == ["Platypus paper"]
    added = [path for summary in summaries for path in summary.added]
    assert added == ["documents/platypus.md"]


@pytest.mark.slow
def test_a_change_waits_for_a_job_holding_the_writer_lock_and_is_not_lost(indexed_copy):
    content, index = indexed_copy
    library = open_library(content, index)
    summaries: list = []
    watch = Watch(library, reported=summaries.append).start()
    try:
        with library.backend.writer_lock():  # a cron run or a tag edit in another process
            write(content / "documents" / "echidna.md", "---\ntitle: Echidna paper\ntype: document\n---\n")
            time.sleep(6.5)  # longer than a batch waits for the lock
            assert not summaries
        assert until(lambda: summaries)
    finally:
        watch.stop()
    assert [path for summary in summaries for path in summary.added] == ["documents/echidna.md"]


@pytest.mark.parametrize("path, kind", [
    ("documents/a.md", True), ("a.docx", True), ("documents/a.pdf.meta.yml", True),
    (".git/a.md", False), ("documents/.draft.md", False), ("_build/a.md", False), ("documents/a.yml", False),
    ("vocabulary.yml", None), ("people.yaml", None), ("documents/vocabulary.yml", False),
])
def test_the_watch_keeps_to_the_files_the_walk_indexes(path, kind):
    assert watched(path) is kind


@pytest.mark.slow
def test_kb_watch_runs_at_the_lower_priority_of_a_reindex_job(indexed_copy, tmp_path):
    content, index = indexed_copy
    before = last_run(index)
    env = {**os.environ, "KB_CONTENT": str(content), "KB_INDEX": str(index)}
    env.update({"KB_REINDEX_NICE": "2"})  # a step or two: a loaded CI machine still gives the run its time
    with (tmp_path / "watch.log").open("w") as log:
        watching = subprocess.Popen([str(Path(sys.executable).with_name("kb")), "watch"], env=env,
                                    stdout=log, stderr=subprocess.STDOUT)
    try:
        assert until(lambda: "Watching" in (tmp_path / "watch.log").read_text())
        write(content / "documents" / "bilby.md", "---\ntitle: Bilby paper\ntype: document\n---\n")
        assert until(lambda: last_run(index) != before)
    finally:
        watching.terminate()
        watching.wait(timeout=20)
    run = json.loads(last_run(index))
    assert run["added"] == 1 and run["nice"] == 2
