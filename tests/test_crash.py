"""kill -9 real reindex processes at the worst moments: search keeps working, the next run finishes."""

import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from indexer.searching import search
from indexer.store import IndexStore
from kb.search import SearchRequest
from tests.conftest import ROOT, SAMPLE, write

FULL_POINTS = ["reading", "before-commit", "mid-commit", "after-commit", "before-switch"]
INCREMENTAL_POINTS = ["reading", "before-commit", "mid-commit", "before-manifest", "before-build-file"]


def kb(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).with_name("kb")), *args], capture_output=True, text=True, timeout=120)


def kb_killed_at(point: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tests.crashdriver", point, *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def total(index: Path, q: str) -> int:
    return search(IndexStore(index), SearchRequest(q=q)).total


def all_ids(index: Path) -> list[str]:
    with IndexStore(index).searcher() as (searcher, _):
        return sorted(doc["id"] for doc in searcher.all_stored_fields())


def descendants(pid: int) -> list[int]:
    """Process ids of every descendant of `pid` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def change_content(content: Path) -> None:
    write(content / "new/zebra.md", "---\ntitle: Zebra\ntopics: [budget-execution]\n---\nzebrafish")
    path = content / "discussions/data-dashboards-health-spending.md"
    path.write_text(path.read_text() + "\nokapis\n")
    (content / "personas/county-health-director-kenya.md").unlink()


def assert_finished(content: Path, index: Path) -> None:
    """The next run completes the job: the index matches the folder exactly, once each."""
    result = kb("--content", str(content), "--index", str(index), "reindex")
    assert result.returncode == 0, result.stderr
    ids = all_ids(index)
    assert len(ids) == len(set(ids)) == 64
    assert "personas/county-health-director-kenya" not in ids
    assert total(index, "zebrafish") == 1 and total(index, "okapis") == 1
    store = IndexStore(index)
    kept = {p.name for p in (store.current_path(), store.previous_path()) if p}
    assert {p.name for p in index.glob("gen-*")} <= kept
    again = kb("--content", str(content), "--index", str(index), "reindex", "--json")
    assert '"indexed": 0' in again.stdout


@pytest.mark.parametrize("point", FULL_POINTS)
def test_kill_during_full_rebuild(point, content_copy, tmp_path):
    index = tmp_path / "ix"
    assert kb("--content", str(content_copy), "--index", str(index), "reindex").returncode == 0
    serving = IndexStore(index).current_name()
    change_content(content_copy)
    killed = kb_killed_at(point, "--content", str(content_copy), "--index", str(index), "reindex", "--full")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    # the last good generation still serves, untouched
    assert IndexStore(index).current_name() == serving
    assert total(index, "zebrafish") == 0 and total(index, "budget") > 0
    assert kb("--index", str(index), "status").returncode == 0
    assert_finished(content_copy, index)


@pytest.mark.parametrize("point", INCREMENTAL_POINTS)
def test_kill_during_incremental_run(point, content_copy, tmp_path):
    index = tmp_path / "ix"
    assert kb("--content", str(content_copy), "--index", str(index), "reindex").returncode == 0
    change_content(content_copy)
    killed = kb_killed_at(point, "--content", str(content_copy), "--index", str(index), "reindex")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    # searches still work: on the previous commit, or on the new one if the commit had finished
    assert total(index, "budget") > 0
    assert total(index, "zebrafish") in (0, 1)
    assert_finished(content_copy, index)


def test_kill_at_random_moments_of_a_larger_rebuild(tmp_path):
    content = tmp_path / "content"
    shutil.copytree(SAMPLE, content)
    for copy in range(12):  # ~800 files: long enough to be killed mid-way
        for path in SAMPLE.rglob("*.md"):
            text = path.read_text(encoding="utf-8").replace("\nid: ", "\nsource_id: ", 1)
            write(content / f"copies/{copy}" / path.relative_to(SAMPLE), text)
    index = tmp_path / "ix"
    first = kb("--content", str(content), "--index", str(index), "reindex", "--json")
    assert first.returncode == 0, first.stderr
    expected = all_ids(index)
    timer = random.Random(11)
    killed_workers = 0
    for _ in range(3):
        proc = subprocess.Popen([str(Path(sys.executable).with_name("kb")), "--content", str(content),
                                 "--index", str(index), "reindex", "--full"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(timer.uniform(0.2, 1.0))
        workers = descendants(proc.pid)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL  # killed mid-run, not after it finished
        assert total(index, "budget") > 0
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in workers if alive(pid)], "worker processes outlived the killed job"
        killed_workers += len(workers)
    assert killed_workers, "the job was never killed while its reader processes ran"
    result = kb("--content", str(content), "--index", str(index), "reindex", "--full")
    assert result.returncode == 0, result.stderr
    assert all_ids(index) == expected
