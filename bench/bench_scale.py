"""Reindex, query and web benchmarks at 10k, 50k and 100k items, beside SQLite FTS5.

For each size, on a corpus built by bench/corpus.py from real text:
  * full build: items/s and peak resident memory of the whole process tree;
  * incremental runs with nothing changed, then after changing 1 item and 1% of the items (whole command,
    process start included);
  * search-page work (query, facet counts over every match, snippets of the first page):
    p50 / p95 over a mix of free-text, phrase, filter and facet-only queries, as a manager (every
    item, as FTS5 sees them) and as an anonymous reader (30% of the corpus is for members or managers);
  * the web UI under gunicorn (2 workers) and wrk (8 connections) on 127.0.0.1, cycling through
    the query mix: requests/s, p95 and failed requests without the result cache, with it, and
    with it while `kb reindex --full` runs; and the serving workers' resident memory;
  * a Zipf load over 5,000 distinct queries of every shape (result cache on, its hit rate
    reported), idle, during 1-file reindexes and against `kb serve`; then 10,000 distinct queries,
    each asked once, and the workers' resident memory after them.
Every figure is printed beside the same work done by SQLite FTS5 in the same run, with the ratio.
kb runs by words alone here (KB_SEMANTIC=0), the work FTS5 does; make eval measures meaning.

    python bench/bench_scale.py [--sizes 10000,50000,100000] [--work bench/results] [--seconds 15]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
from dataclasses import replace
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from contextlib import contextmanager
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent

from bench import corpus  # noqa: E402
from bench.bench_shapes import cold_starts  # noqa: E402
from bench.paced import load_paced  # noqa: E402
from bench.queries import shaped_queries  # noqa: E402
from bench.fts5_ref import Fts5Search  # noqa: E402
from indexer import sharedresults  # noqa: E402
from indexer.content import load_vocabulary  # noqa: E402
from indexer.searching import search as kb_search  # noqa: E402
from indexer.store import IndexStore  # noqa: E402
from kb.search import SearchRequest  # noqa: E402
from kb.settings import Settings  # noqa: E402


# -- processes and memory --------------------------------------------------------

def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(entry))
            except (OSError, IndexError):
                continue
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        total += process_rss_mb(current)
    return total


def process_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_measured(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run a command; return (seconds, peak RSS of its process tree in MB, stdout)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})
    peak = 0.0
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.read()))
    reader.start()
    while proc.poll() is None:
        peak = max(peak, tree_rss_mb(proc.pid))
        time.sleep(0.1)
    reader.join()
    seconds = time.perf_counter() - started
    err = proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {err[-2000:]}")
    return seconds, peak, "".join(out)


def kb_cmd(content: Path, index: Path, *args: str) -> list[str]:
    return [str(BIN / "kb"), "--content", str(content), "--index", str(index), *args]


def fts5_cmd(command: str, content: Path, db: Path) -> list[str]:
    return [sys.executable, str(ROOT / "bench" / "fts5_ref.py"), command, str(content), str(db)]


# -- query mix ------------------------------------------------------------------

def query_mix(content: Path) -> list[str]:
    """Words, phrases, word + filter, filters alone, long questions, prefixes and misspellings drawn
    from the corpus's titles (bench/queries.py; bench/bench_shapes.py times each one)."""
    return [q for _, q in shaped_queries(content)]


def latencies(run: Any, queries: list[str], repeat: int = 3) -> tuple[list[float], list[float]]:
    """Per query, in ms: the first run (nothing cached but the OS's file cache), and the median of
    `repeat` later runs."""
    first = []
    for q in queries:
        started = time.perf_counter()
        run(SearchRequest(q=q))
        first.append((time.perf_counter() - started) * 1000)
    per_query = []
    for q in queries:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            run(SearchRequest(q=q))
            times.append((time.perf_counter() - started) * 1000)
        per_query.append(statistics.median(times))
    return first, per_query


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# -- web --------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


WRK_SCRIPT = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%.3f %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration / 1e6,
    latency:percentile(95), e.connect, e.read, e.write, e.status, e.timeout))
end
"""


ZIPF_SCRIPT = """
local paths = {%s}
local cumulative = {%s}
local threads = {}
hits, total = 0, 0
setup = function(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end
init = function(args)
  math.randomseed(%d + 7919 * id)
end
request = function()
  local u, lo, hi = math.random(), 1, #cumulative
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cumulative[mid] < u then lo = mid + 1 else hi = mid end
  end
  return wrk.format("GET", paths[lo])
end
response = function(status, headers, body)
  total = total + 1
  local timing = headers["Server-Timing"] or ""
  if string.find(timing, "cache hit", 1, true) then hits = hits + 1 end
end
done = function(summary, latency, requests)
  local e, h, t = summary.errors, 0, 0
  for _, thread in ipairs(threads) do
    h = h + thread:get("hits")
    t = t + thread:get("total")
  end
  io.write(string.format("RESULT %%d %%.3f %%d %%d %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration / 1e6,
    latency:percentile(95), e.connect, e.read, e.write, e.status, e.timeout, h, t))
end
"""
ZIPF_DISTINCT = 5000
SEEDS = itertools.count(1)  # one per load (wrk's and bench.paced's)
PACED_RATE = 200  # requests a second: the traffic the web's latency target is set for


def zipf_mix(content: Path, distinct: int = ZIPF_DISTINCT) -> list[str]:
    """`distinct` different queries of every shape, in a fixed random order: rank r is asked with
    weight 1/r (Zipf), as a site's searches are."""
    found: dict[str, None] = {}
    per_shape = distinct // 7 + 1
    while len(found) < distinct:
        for _, q in shaped_queries(content, per_shape=per_shape, seed=len(found)):
            found.setdefault(q)
        per_shape *= 2
    queries = list(found)[:distinct]
    random.Random(11).shuffle(queries)
    return queries


def load_zipf(base: str, queries: list[str], seconds: int, work: Path, connections: int = 8) -> dict[str, float]:
    """wrk drawing search pages by Zipf over the distinct queries; with the cache's hit rate, read from
    each answer's Server-Timing header. Each load draws its own sequence: one seeded as the load before
    it would replay that load's searches, all answered from the cache."""
    from urllib.parse import quote_plus

    weights = [1 / rank for rank in range(1, len(queries) + 1)]
    scale, running, cumulative = sum(weights), 0.0, []
    for weight in weights:
        running += weight / scale
        cumulative.append(f"{running:.9f}")
    cumulative[-1] = "1.0"
    script = work / "zipf.lua"
    paths = ", ".join(f'"/search?q={quote_plus(q)}"' for q in queries)
    script.write_text(ZIPF_SCRIPT % (paths, ", ".join(cumulative), next(SEEDS)))
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s", "-s",
                          str(script), base], capture_output=True, text=True, timeout=seconds + 120).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT"))
    requests, duration, p95_us, *rest = (float(x) for x in line.split()[1:])
    errors, hits, answered = rest[:5], rest[5], rest[6]
    # connect, read, write, status and timeout errors; wrk's "Non-2xx or 3xx responses" are the status
    # errors again (counting both counted each failed answer twice)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    failed = sum(errors[:3]) + max(errors[3], int(non2xx[1]) if non2xx else 0) + errors[4]
    return {"rps": requests / duration, "p95_ms": p95_us / 1000, "failed": failed, "requests": requests,
            "cache_hit_rate": hits / answered if answered else 0.0}


DISTINCT = 10_000


def load_distinct(base: str, queries: list[str], clients: int = 4) -> dict[str, float]:
    """Each query asked once (none can come from the result cache), by `clients` clients at a time:
    how long it took, the failed answers, and (read by the caller) the workers' memory after it."""
    from concurrent.futures import ThreadPoolExecutor
    from urllib.error import URLError
    from urllib.parse import quote_plus
    from urllib.request import urlopen

    def ask(q: str) -> bool:
        try:
            with urlopen(f"{base}/search?q={quote_plus(q)}", timeout=60) as answer:
                answer.read()
                return answer.status == 200
        except (URLError, OSError):
            return False

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        answered = list(pool.map(ask, queries))
    seconds = time.perf_counter() - started
    return {"queries": len(queries), "seconds": seconds, "rps": len(queries) / seconds,
            "failed": answered.count(False)}


def serve(app: str, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}",
                             "--log-level", "warning", app], cwd=ROOT, env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, listening(port, 20)


def listening(port: int, seconds: float) -> str:
    """Wait up to `seconds` for a server on the loopback port; its base URL."""
    for _ in range(int(seconds * 10)):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.1)
    return f"http://127.0.0.1:{port}"


def load(base: str, queries: list[str], seconds: int, work: Path) -> dict[str, float]:
    """wrk with 8 connections for `seconds` over the search pages of the query mix."""
    from urllib.parse import quote_plus

    script = work / "wrk.lua"
    script.write_text(WRK_SCRIPT % ", ".join(f'"/search?q={quote_plus(q)}"' for q in queries))
    # warm every page once so each worker has its searcher and caches open
    subprocess.run(["wrk", "-t", "2", "-c", "2", "-d", "3s", "-s", str(script), base],
                   capture_output=True, text=True, timeout=60)
    out = subprocess.run(["wrk", "-t", "2", "-c", "8", "-d", f"{seconds}s", "--timeout", "10s", "-s", str(script), base],
                         capture_output=True, text=True, timeout=seconds + 60).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT"))
    requests, duration, p95_us, *errors = (float(x) for x in line.split()[1:])
    # connect, read, write, status and timeout errors; wrk's "Non-2xx or 3xx responses" are the status
    # errors again (counting both counted each failed answer twice)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    failed = sum(errors[:3]) + max(errors[3], int(non2xx[1]) if non2xx else 0) + errors[4]
    return {"rps": requests / duration, "p95_ms": p95_us / 1000, "failed": failed, "requests": requests}


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def workers_rss_mb(proc: subprocess.Popen) -> float:
    """Largest resident memory among the gunicorn processes serving."""
    pids = [proc.pid] + [int(p) for p in os.listdir("/proc") if p.isdigit() and _ppid(int(p)) == proc.pid]
    return max(process_rss_mb(p) for p in pids)


def _ppid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError):
        return -1


# -- one size -----------------------------------------------------------------------

def touch_items(content: Path, count: int, seed: int) -> None:
    paths = sorted(content.rglob("item-*.md"))
    for path in random.Random(seed).sample(paths, count):
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(f"\nEdited for the benchmark, round {seed}.\n")


def bench_watch(content: Path, index: Path, saves: int = 5, quiet_s: float = 10.0) -> dict[str, Any]:
    """`kb watch`: seconds from a saved file to its word being found (no walk of the folder), and the
    CPU the watch spends while nothing changes."""
    watch = subprocess.Popen(kb_cmd(content, index, "watch"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
    try:
        assert watch.stderr is not None and "Watching" in watch.stderr.readline()
        threading.Thread(target=watch.stderr.read, daemon=True).start()  # keep the pipe from filling
        time.sleep(2.0)  # inotify watches are being added to every folder
        store, delays = IndexStore(index), []
        paths = random.Random(7).sample(sorted(content.rglob("item-*.md")), saves)
        for n, path in enumerate(paths):
            word = f"watchword{n}x{int(time.time())}"
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(f"\n{word}\n")
            saved = time.perf_counter()
            while kb_search(store, SearchRequest(q=word, role="manager")).total != 1:
                if time.perf_counter() - saved > 60:
                    raise RuntimeError(f"kb watch did not index {path} within 60 s")
                time.sleep(0.02)
            delays.append(time.perf_counter() - saved)
        time.sleep(3.0)  # the last run's bookkeeping after its commit (manifest, words table)
        before = cpu_seconds(watch.pid)
        time.sleep(quiet_s)
        quiet_cpu = cpu_seconds(watch.pid) - before
    finally:
        watch.send_signal(signal.SIGINT)
        try:
            watch.wait(10)
        except subprocess.TimeoutExpired:
            watch.kill()
    return {"saves": saves, "searchable_after_median_s": statistics.median(delays),
            "searchable_after_max_s": max(delays), "quiet_cpu_s_per_min": quiet_cpu * 60 / quiet_s}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def bench_size(size: int, work: Path, seconds: int) -> dict[str, Any]:
    content = corpus.ensure(size, work / f"corpus-{size}")
    index, db = work / f"index-{size}", work / f"fts5-{size}.db"
    shutil.rmtree(index, ignore_errors=True)
    report: dict[str, Any] = {"size": size}

    secs, rss, out = run_measured(kb_cmd(content, index, "reindex", "--full", "--quiet", "--json"))
    items = json.loads(out)["items"]
    ref_secs, ref_rss, _ = run_measured(fts5_cmd("build", content, db))
    report["full"] = {"kb_items_per_s": items / secs, "kb_peak_mb": rss, "kb_s": secs,
                      "fts5_items_per_s": items / ref_secs, "fts5_peak_mb": ref_rss, "fts5_s": ref_secs}

    for label, count in (("nothing_changed", 0), ("incremental_1", 1), ("incremental_1pct", max(1, size // 100))):
        touch_items(content, count, seed=count + int(time.time()))
        secs, _, out = run_measured(kb_cmd(content, index, "reindex", "--quiet", "--json"))
        summary = json.loads(out)
        ref_secs, _, ref_out = run_measured(fts5_cmd("update", content, db))
        report[label] = {"changed": count, "kb_s": secs, "kb_job_s": summary["seconds"],
                         "kb_updated": summary["updated"], "fts5_s": ref_secs,
                         "fts5_changed": json.loads(ref_out)["changed"]}

    report["watch"] = bench_watch(content, index)
    current = index / (index / "CURRENT").read_text().strip()
    report["index_mb"] = sum(p.stat().st_size for p in current.rglob("*") if p.is_file()) / 1e6
    report["cold_start_ms"] = statistics.median(first for _, _, first, _ in
                                                cold_starts(index, content, ["health", "topic:budget-flexibility",
                                                                             "budget flexibility"]))
    queries = query_mix(content)
    store = IndexStore(index)
    # Both as a manager, who sees every item; an anonymous reader's searches filter out the 30% of
    # items kept for members and managers (a bitset AND, like a facet filter).
    kb_first, kb_times = latencies(lambda r: kb_search(store, replace(r, role="manager")), queries)
    anon_first, anon_times = latencies(lambda r: kb_search(store, r), queries)
    fts5 = Fts5Search(db, load_vocabulary(content))
    ref_first, ref_times = latencies(lambda r: fts5(replace(r, role="manager")), queries)
    report["queries"] = {"count": len(queries), "kb_p50_ms": pct(kb_times, 50), "kb_p95_ms": pct(kb_times, 95),
                         "fts5_p50_ms": pct(ref_times, 50), "fts5_p95_ms": pct(ref_times, 95),
                         "kb_first_p50_ms": pct(kb_first, 50), "kb_first_p95_ms": pct(kb_first, 95),
                         "fts5_first_p50_ms": pct(ref_first, 50), "fts5_first_p95_ms": pct(ref_first, 95),
                         "kb_anonymous_p50_ms": pct(anon_times, 50), "kb_anonymous_p95_ms": pct(anon_times, 95),
                         "kb_anonymous_first_p95_ms": pct(anon_first, 95)}

    env = {"KB_INDEX": str(index), "KB_CONTENT": str(content)}
    plain_server, plain = serve("webui:create_app()", {**env, "KB_SEARCH_CACHE": "0"})
    forget_shared_results(index)
    cached_server, cached = serve("webui:create_app()", env)
    try:
        uncached = load(plain, queries, seconds, work)
        idle = load(cached, queries, seconds, work)
        reindexing = subprocess.Popen(kb_cmd(content, index, "reindex", "--full", "--quiet", "--force"),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        busy_uncached = load(plain, queries, seconds, work)
        busy = load(cached, queries, seconds, work)
        still_running = reindexing.poll() is None
        reindexing.wait()
        serving_mb = max(workers_rss_mb(plain_server), workers_rss_mb(cached_server))
    finally:
        stop(plain_server)
        stop(cached_server)
    ref_server, ref_base = serve("bench.web_fts5:create_app()", {"KB_FTS5_DB": str(db), "KB_CONTENT": str(content)})
    try:
        ref_idle = load(ref_base, queries, seconds, work)
        ref_mb = workers_rss_mb(ref_server)
    finally:
        stop(ref_server)
    report["web"] = {"kb_uncached": uncached, "kb_idle": idle, "kb_during_reindex": busy,
                     "kb_uncached_during_reindex": busy_uncached,
                     "reindex_overlapped_whole_run": still_running, "kb_worker_max_rss_mb": serving_mb,
                     "fts5_idle": ref_idle, "fts5_worker_max_rss_mb": ref_mb, **bench_zipf(content, index, seconds, work)}
    return report


def server_cpu_seconds(proc: subprocess.Popen) -> float:
    """CPU seconds a server has used: its process and its children (gunicorn's workers)."""
    total = 0.0
    for pid in [proc.pid] + [int(p) for p in os.listdir("/proc") if p.isdigit() and _ppid(int(p)) == proc.pid]:
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += cpu_seconds(pid)
    return total


def with_cpu(server: subprocess.Popen, load: Callable[[], dict[str, float]]) -> dict[str, float]:
    """A load's figures and the server's CPU per answered request (ms): what an answer costs, which bounds
    how many a second 2 cores can serve, and moves less than latency with what else the machine runs."""
    before, client = server_cpu_seconds(server), time.process_time()
    figures = load()
    used, client = server_cpu_seconds(server) - before, time.process_time() - client
    answered = figures["requests"] - figures["failed"]
    if answered <= 0:
        return figures
    # (the paced client runs in this process, on the same 2 cores; wrk runs apart, in C)
    return {**figures, "cpu_ms_per_request": used / answered * 1000,
            "client_cpu_ms_per_request": client / answered * 1000}


def bench_zipf(content: Path, index: Path, seconds: int, work: Path) -> dict[str, Any]:
    """The web UI under a Zipf load of distinct queries, result cache on: gunicorn with 2 workers idle and
    while incremental runs of one changed file follow each other, as much as wrk can send and at
    PACED_RATE requests a second (bench.paced); then 10,000 distinct queries each asked once (the
    workers' memory after them), then `kb serve`."""
    queries = zipf_mix(content)
    forget_shared_results(index)
    server, base = serve("webui:create_app()", {"KB_INDEX": str(index), "KB_CONTENT": str(content)})
    try:
        load_zipf(base, queries, seconds, work)  # warm-up: a site that has been up a while
        idle = with_cpu(server, lambda: load_zipf(base, queries, seconds, work))
        paced_idle = with_cpu(server, lambda: load_paced(base, queries, PACED_RATE, seconds, seed=next(SEEDS)))
        # The workers move to the runs' commits at most every KB_READERS_REFRESH seconds: the paced load
        # lasts three of those, so that it meets them moving (and not only a hold that outlasts it).
        refresh = Settings.from_mapping(os.environ).readers_refresh
        with reindexing_loop(content, index) as runs:
            busy = with_cpu(server, lambda: load_zipf(base, queries, seconds, work))
            paced_busy = with_cpu(server, lambda: load_paced(base, queries, PACED_RATE, max(seconds, 3 * refresh),
                                                             seed=next(SEEDS)))
        busy["reindex_runs"] = len(runs)
        busy["warmed_per_run"] = [warmed for _, warmed, _ in runs]
        busy["reindex_cpu_s_per_run"] = sum(cpu for _, _, cpu in runs) / len(runs) if runs else float("nan")
        workers_mb = workers_rss_mb(server)
        distinct = load_distinct(base, zipf_mix(content, DISTINCT))
        distinct["worker_max_rss_mb"] = workers_rss_mb(server)
    finally:
        stop(server)
    forget_shared_results(index)  # kb serve starts as cold as gunicorn did
    single, single_base = serve_single(content, index)
    try:
        alone = with_cpu(single, lambda: load_zipf(single_base, queries, seconds, work))
    finally:
        stop(single)
    return {"zipf": idle, "zipf_during_incremental": busy, "zipf_kb_serve": alone, "paced": paced_idle,
            "paced_during_incremental": paced_busy,
            "zipf_worker_max_rss_mb": workers_mb, "zipf_distinct": len(queries), "distinct": distinct}


def forget_shared_results(index: Path) -> None:
    """No results shared by the workers of an earlier server or run (indexer.sharedresults): each load
    starts from what the server ranks itself."""
    for path in index.glob(f"{sharedresults.FILE}*"):
        path.unlink()


def print_zipf(w: dict[str, Any]) -> None:
    print(f"Zipf load over {w['zipf_distinct']:,} distinct queries (result cache on, after a warm-up run):")
    for label, key in (("gunicorn, 2 workers", "zipf"), ("  while 1-file reindexes run", "zipf_during_incremental"),
                       ("kb serve", "zipf_kb_serve")):
        z = w[key]
        print(f"  {label:36}{z['rps']:>8.0f} req/s  p95 {z['p95_ms']:>7.1f} ms  failed {z['failed']:.0f}"
              f"  cache hits {z['cache_hit_rate']:.0%}{cpu_per_request(z)}")
    busy = w['zipf_during_incremental']
    print(f"  {'reindex runs during the load':36}{busy['reindex_runs']:>8}"
          f"  searches each ranked before the workers moved to it (KB_REINDEX_WARM): "
          f"{', '.join(map(str, busy.get('warmed_per_run', []))) or '-'}"
          + (f"; {busy['reindex_cpu_s_per_run']:.1f} s of CPU a run" if "reindex_cpu_s_per_run" in busy else ""))
    print(f"  {'worker max RSS MB after it':36}{w['zipf_worker_max_rss_mb']:>8.0f}")
    if "paced" in w:
        print(f"The same mix sent at {w['paced']['rate']:.0f} requests a second, latency from each request's planned start:")
        for label, key in (("gunicorn, 2 workers", "paced"), ("  while 1-file reindexes run", "paced_during_incremental")):
            z = w[key]
            print(f"  {label:36}{z['rps']:>8.0f} req/s  p50 {z['p50_ms']:>7.1f} ms  p95 {z['p95_ms']:>7.1f} ms"
                  f"  failed {z['failed']:.0f}  cache hits {z['cache_hit_rate']:.0%}{cpu_per_request(z)}")
    if "distinct" in w:
        d = w["distinct"]
        print(f"Then {d['queries']:,} distinct queries, each once (no answer from the cache), 4 clients:")
        print(f"  {'gunicorn, 2 workers':36}{d['rps']:>8.0f} req/s  in {d['seconds']:.0f} s  failed {d['failed']}")
        print(f"  {'worker max RSS MB after them':36}{d['worker_max_rss_mb']:>8.0f}")


def cpu_per_request(load: dict[str, Any]) -> str:
    """The server's CPU per answered request, and the rate 2 cores would serve at that cost."""
    cost = load.get("cpu_ms_per_request")
    if not cost:
        return ""
    client = load.get("client_cpu_ms_per_request", 0.0)
    return f"  CPU {cost:.1f} ms a request (2 cores: {2000 / cost:.0f} req/s at most)" + \
        (f", the client {client:.1f}" if client >= 0.05 else "")


@contextmanager
def reindexing_loop(content: Path, index: Path) -> Iterator[list[tuple[float, int, float]]]:
    """Incremental runs of one changed file each, one after the other, for as long as the block lasts;
    yields the list of their durations, the searches each warmed and its CPU seconds (filled in as they
    finish)."""
    runs: list[tuple[float, int, float]] = []
    done = threading.Event()

    def loop() -> None:
        while not done.is_set():
            touch_items(content, 1, seed=len(runs) + int(time.time()))
            started = time.perf_counter()
            ran = subprocess.Popen(kb_cmd(content, index, "reindex", "--quiet", "--json"), stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True)
            assert ran.stdout is not None
            out = ran.stdout.read()
            ran.stdout.close()
            _, status, usage = os.wait4(ran.pid, 0)  # its own CPU, not that of the loads' wrk
            ran.returncode = os.waitstatus_to_exitcode(status)
            try:
                warmed = json.loads(out)["warmed"]
            except (ValueError, KeyError):
                warmed = -1  # the run failed (its error is not the load's)
            runs.append((time.perf_counter() - started, warmed, usage.ru_utime + usage.ru_stime))

    worker = threading.Thread(target=loop)
    worker.start()
    try:
        yield runs
    finally:
        done.set()
        worker.join()


def serve_single(content: Path, index: Path) -> tuple[subprocess.Popen, str]:
    """`kb serve`, what `make run` starts: one process, a thread per request."""
    port = free_port()
    proc = subprocess.Popen(kb_cmd(content, index, "serve", "--host", "127.0.0.1", "--port", str(port)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, listening(port, 30)


def ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b else "-"


def print_report(r: dict[str, Any]) -> None:
    f, q, w = r["full"], r["queries"], r["web"]
    print(f"\n== {r['size']:,} items")
    print(f"{'':38}{'kb':>12}{'FTS5':>12}{'kb/FTS5':>10}")
    print(f"{'full build, items/s':38}{f['kb_items_per_s']:>12.0f}{f['fts5_items_per_s']:>12.0f}"
          f"{ratio(f['kb_items_per_s'], f['fts5_items_per_s']):>10}")
    print(f"{'full build, seconds':38}{f['kb_s']:>12.1f}{f['fts5_s']:>12.1f}{ratio(f['kb_s'], f['fts5_s']):>10}")
    print(f"{'index on disk, MB':38}{r['index_mb']:>12.0f}")
    print(f"{'cold start: first search of a process, ms':38}{r['cold_start_ms']:>12.0f}")
    print(f"{'full build, peak RSS MB (process tree)':38}{f['kb_peak_mb']:>12.0f}{f['fts5_peak_mb']:>12.0f}"
          f"{ratio(f['kb_peak_mb'], f['fts5_peak_mb']):>10}")
    for label in ("nothing_changed", "incremental_1", "incremental_1pct"):
        if label not in r:  # a report written before no-change runs were measured
            continue
        i = r[label]
        name = f"reindex after {i['changed']} changed, s" if i["changed"] else "reindex, nothing changed, s"
        print(f"{name:38}{i['kb_s']:>12.2f}{i['fts5_s']:>12.2f}{ratio(i['kb_s'], i['fts5_s']):>10}"
              f"   (kb job {i['kb_job_s']:.2f} s without process start)")
    if "watch" in r:
        wt = r["watch"]
        print(f"{'kb watch: saved file searchable after, s':38}{wt['searchable_after_median_s']:>12.2f}"
              f"   (median of {wt['saves']}, slowest {wt['searchable_after_max_s']:.2f} s)")
        print(f"{'kb watch: CPU while nothing changes, s/min':38}{wt['quiet_cpu_s_per_min']:>12.3f}")
    print(f"{'search page work, first run p50, ms':38}{q['kb_first_p50_ms']:>12.1f}{q['fts5_first_p50_ms']:>12.1f}"
          f"{ratio(q['kb_first_p50_ms'], q['fts5_first_p50_ms']):>10}")
    print(f"{'search page work, first run p95, ms':38}{q['kb_first_p95_ms']:>12.1f}{q['fts5_first_p95_ms']:>12.1f}"
          f"{ratio(q['kb_first_p95_ms'], q['fts5_first_p95_ms']):>10}")
    print(f"{'search page work p50, ms':38}{q['kb_p50_ms']:>12.1f}{q['fts5_p50_ms']:>12.1f}"
          f"{ratio(q['kb_p50_ms'], q['fts5_p50_ms']):>10}")
    print(f"{'search page work p95, ms':38}{q['kb_p95_ms']:>12.1f}{q['fts5_p95_ms']:>12.1f}"
          f"{ratio(q['kb_p95_ms'], q['fts5_p95_ms']):>10}")
    print(f"{'  anonymous reader p50 / p95, ms':38}{q['kb_anonymous_p50_ms']:>6.1f} /{q['kb_anonymous_p95_ms']:>5.1f}"
          f"{'':>12}{ratio(q['kb_anonymous_p95_ms'], q['kb_p95_ms']):>10}  (p95 against the manager's)")
    ku, ki, kb_busy, fi = w["kb_uncached"], w["kb_idle"], w["kb_during_reindex"], w["fts5_idle"]
    print(f"{'web /search req/s (no result cache)':38}{ku['rps']:>12.0f}{fi['rps']:>12.0f}{ratio(ku['rps'], fi['rps']):>10}")
    print(f"{'web /search p95 ms (no result cache)':38}{ku['p95_ms']:>12.1f}{fi['p95_ms']:>12.1f}"
          f"{ratio(ku['p95_ms'], fi['p95_ms']):>10}")
    print(f"{'web /search req/s (result cache)':38}{ki['rps']:>12.0f}{'':>12}")
    print(f"{'web /search p95 ms (result cache)':38}{ki['p95_ms']:>12.1f}{'':>12}")
    kbu = w["kb_uncached_during_reindex"]
    print(f"{'web req/s during --full (no cache)':38}{kbu['rps']:>12.0f}{'':>12}")
    print(f"{'web p95 ms during --full (no cache)':38}{kbu['p95_ms']:>12.1f}{'':>12}")
    print(f"{'web req/s during --full (result cache)':38}{kb_busy['rps']:>12.0f}{'':>12}")
    print(f"{'web p95 ms during --full (result cache)':38}{kb_busy['p95_ms']:>12.1f}{'':>12}")
    failed = ku["failed"] + ki["failed"] + kb_busy["failed"] + kbu["failed"]
    print(f"{'web failed requests (all kb runs)':38}{failed:>12.0f}{fi['failed']:>12.0f}")
    print(f"{'(reindex ran through both loads)':38}{str(w['reindex_overlapped_whole_run']):>12}")
    print(f"{'web worker max RSS MB':38}{w['kb_worker_max_rss_mb']:>12.0f}{w['fts5_worker_max_rss_mb']:>12.0f}")
    print_zipf(w)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000,100000")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--seconds", type=int, default=15, help="duration of each web load run")
    parser.add_argument("--watch-only", action="store_true",
                        help="only `kb watch`, over the corpus and index of each size built earlier")
    parser.add_argument("--zipf-only", action="store_true",
                        help="only the Zipf web load, over the corpus and index of each size built earlier")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("Error: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    args.work.mkdir(parents=True, exist_ok=True)
    # Words only, as the FTS5 reference: search by meaning costs about 0.1 s of CPU per item to embed
    # and is measured apart (make eval: its quality and its cost per item and per query).
    os.environ["KB_SEMANTIC"] = "0"
    # Commands are timed as an installation runs them, with the bytecode caches Python keeps: set, this
    # compiles every module at each start (0.3-0.9 s of a `kb reindex` at 100k).
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    reports = []
    for size in (int(s) for s in args.sizes.split(",")):
        if args.watch_only:
            watched = bench_watch(corpus.ensure(size, args.work / f"corpus-{size}"), args.work / f"index-{size}")
            print(f"\n== {size:,} items\n{json.dumps(watched, indent=2)}")
            continue
        if args.zipf_only:
            print(f"\n== {size:,} items")
            print_zipf(bench_zipf(corpus.ensure(size, args.work / f"corpus-{size}"), args.work / f"index-{size}",
                                  args.seconds, args.work))
            continue
        report = bench_size(size, args.work, args.seconds)
        print_report(report)
        reports.append(report)
        (args.work / "scale.json").write_text(json.dumps(reports, indent=2))
    if len(reports) > 1:
        print_growth(reports)
    return 0


def print_growth(reports: list[dict[str, Any]]) -> None:
    """How each cost grows with the number of items: each size's figure and its factor over the
    previous size's, beside the factor of items (a cost growing faster than linearly has a larger one)."""
    measures = [("full build, s", lambda r: r["full"]["kb_s"]), ("index on disk, MB", lambda r: r["index_mb"]),
                ("search page p95, ms", lambda r: r["queries"]["kb_p95_ms"]),
                ("cold start (first search), ms", lambda r: r["cold_start_ms"]),
                ("full build peak RSS, MB", lambda r: r["full"]["kb_peak_mb"]),
                ("web worker RSS, MB", lambda r: r["web"]["kb_worker_max_rss_mb"])]
    print("\n== growth: each size's figure (x its factor over the previous size)")
    print(f"{'items':32}" + "".join(f"{r['size']:>18,}" for r in reports))
    print(f"{'':32}{'':>18}" + "".join(f"{'(x' + format(b['size'] / a['size'], '.1f') + ')':>18}"
                                       for a, b in zip(reports, reports[1:])))
    for label, value in measures:
        cells = [f"{value(reports[0]):>18.1f}"]
        for before, after in zip(reports, reports[1:]):
            cells.append(f"{value(after):>10.1f} (x{value(after) / value(before):.1f})".rjust(18))
        print(f"{label:32}" + "".join(cells))


if __name__ == "__main__":
    sys.exit(main())
