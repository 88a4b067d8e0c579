"""Real servers on 127.0.0.1 under a low open-files limit: thousands of searches, no descriptor leak."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.servers import free_port

BIN = Path(sys.executable).parent
SEARCHES = 2000
FILES_LIMIT = 256


def low_file_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FILES_LIMIT, FILES_LIMIT))


def descriptors(pids: list[int]) -> int:
    return sum(len(os.listdir(f"/proc/{pid}/fd")) for pid in pids if Path(f"/proc/{pid}").exists())


def server_pids(proc: subprocess.Popen) -> list[int]:
    """The server and its worker processes (gunicorn forks workers)."""
    pids = [proc.pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == proc.pid:
                    pids.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return pids


def wait_until_up(port: int, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read()
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise AssertionError("the server did not start within 30 s")


def run_searches(port: int, proc: subprocess.Popen) -> tuple[list[str], list[int]]:
    """2,000 distinct searches, one connection each; return the errors and the descriptor counts seen."""
    errors, counts = [], []
    for number in range(SEARCHES):
        url = f"http://127.0.0.1:{port}/search?q=budget+{number}"
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                response.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            errors.append(f"{number}: {exc}")
        if number % 250 == 0 or number == SEARCHES - 1:
            counts.append(descriptors(server_pids(proc)))
    return errors, counts


def serve_searches_without_leaking(command: list[str], sample_index, tmp_path) -> None:
    """Start `command` (given the port) on the sample, run SEARCHES searches, check no descriptor leaks."""
    content, index = sample_index
    port = free_port()
    env = {**os.environ, "KB_CONTENT": str(content), "KB_INDEX": str(index), "KB_DATA": str(tmp_path / "data"),
           "KB_SEARCH_CACHE": "0"}
    log = tmp_path / "server.log"
    with open(log, "w") as output:
        proc = subprocess.Popen([part.format(port=port) for part in command], env=env, stdout=output, stderr=output,
                                preexec_fn=low_file_limit)
    try:
        wait_until_up(port, proc, log)
        errors, counts = run_searches(port, proc)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    failures = [line for line in log.read_text().splitlines() if " 500 " in line or "Too many open files" in line]
    assert not errors, f"{len(errors)} failed searches under a limit of {FILES_LIMIT} open files: {errors[:3]}"
    assert not failures, failures[:3]
    # flat: after the first searches opened what they keep open, the count does not grow
    assert max(counts[1:]) <= counts[1] + 10, f"open descriptors grew: {counts}"


needs_proc = pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs Linux /proc to count open files")


@pytest.mark.slow
@needs_proc
def test_thousands_of_searches_leak_no_descriptors_in_kb_serve(sample_index, tmp_path):
    serve_searches_without_leaking([str(BIN / "kb"), "serve", "--port", "{port}"], sample_index, tmp_path)


def test_searches_of_one_process_run_one_at_a_time_and_cached_ones_do_not_wait(store, monkeypatch):
    """Searching is Python work: kb serve's request threads share one core. Run together, eight
    searches each took eight times as long (a Zipf load at 100k items failed requests past 10 s);
    one at a time, the others wait their turn, and a cached result is served at once."""
    import threading

    import indexer.searching as searching
    from indexer.store import IndexStore
    from kb.search import SearchRequest

    running, most = [0], [0]
    real = searching.run_search

    def slow(*args, **kwargs):
        running[0] += 1
        most[0] = max(most[0], running[0])
        time.sleep(0.05)
        try:
            return real(*args, **kwargs)
        finally:
            running[0] -= 1

    monkeypatch.setattr(searching, "run_search", slow)
    shared = IndexStore(store.path, cache_size=16)
    shared.search(SearchRequest(q="capitation"))
    results = {}
    threads = [threading.Thread(target=lambda q=q: results.setdefault(q, shared.search(SearchRequest(q=q))))
               for q in ("budget", "ghana", "covid", "purchasing", "capitation")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 1 and len(results) == 5 and all(r.total for r in results.values())
    assert results["capitation"].cached
