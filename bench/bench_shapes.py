"""Every query shape at one size: each query's time and totals, the slowest of each shape, cold starts.

On the corpus of bench/corpus.py (built if missing) and its kb index (built with `kb reindex
--full` if missing; reused otherwise, so run it after bench_scale.py or alone), kb searches
the mix of bench/queries.py as a manager, words only (KB_SEMANTIC=0). For each query it
prints the first run in this process and the median of three repeats, with kb's total and
partial matches, beside SQLite FTS5's time and total when its database is there. Then the
slowest query of each shape, and the cold start: a new process's first search (store
opened, nothing cached but the OS's file cache) and the whole `kb search` command.

    python bench/bench_shapes.py [--size 100000] [--work bench/results] [--index FOLDER]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent

from bench import corpus  # noqa: E402
from bench.queries import SHAPES, shaped_queries  # noqa: E402
from indexer.store import IndexStore  # noqa: E402
from kb.search import SearchRequest  # noqa: E402

FIRST_SEARCH = """
import sys, time
started = time.perf_counter()
from indexer.store import IndexStore
from kb.search import SearchRequest
imported = time.perf_counter()
store = IndexStore(sys.argv[1])
store.search(SearchRequest(q=sys.argv[2], role="manager"))
print(round((imported - started) * 1000, 1), round((time.perf_counter() - imported) * 1000, 1))
"""


def timed(run, request: SearchRequest) -> tuple[float, object]:
    started = time.perf_counter()
    result = run(request)
    return (time.perf_counter() - started) * 1000, result


def cold_starts(index: Path, content: Path, queries: list[str]) -> list[tuple[str, float, float, float]]:
    """(query, import ms, first search ms, whole `kb search` ms) in new processes."""
    rows = []
    env = {**os.environ, "KB_SEMANTIC": "0"}
    for q in queries:
        out = subprocess.run([sys.executable, "-c", FIRST_SEARCH, str(index), q], capture_output=True, text=True,
                             cwd=ROOT, env=env, check=True).stdout.split()
        started = time.perf_counter()
        subprocess.run([str(BIN / "kb"), "--content", str(content), "--index", str(index), "search", q],
                       capture_output=True, env=env, check=True)
        rows.append((q, float(out[0]), float(out[1]), (time.perf_counter() - started) * 1000))
    return rows


def pooled_pages(index: Path, questions: list[str]) -> tuple[int, int]:
    """How many long questions get the same first page (ids and order) from the pool of their best-weighing
    partial matches as from ranking all of them (indexer.ranking)."""
    from indexer import ranking

    pooled = ranking.POOL
    pages = {}
    for pool in (pooled, 10**9):
        ranking.POOL = pool
        store = IndexStore(index)
        pages[pool] = [[h.item.id for h in store.search(SearchRequest(q=q, role="manager")).hits] for q in questions]
    ranking.POOL = pooled
    return sum(a == b for a, b in zip(pages[pooled], pages[10**9])), len(questions)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100000)
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--index", type=Path, help="an index of the corpus built earlier (default: WORK/index-SIZE)")
    args = parser.parse_args()
    os.environ["KB_SEMANTIC"] = "0"
    content = corpus.ensure(args.size, args.work / f"corpus-{args.size}")
    index, db = args.index or args.work / f"index-{args.size}", args.work / f"fts5-{args.size}.db"
    if not (index / "CURRENT").is_file():
        subprocess.run([str(BIN / "kb"), "--content", str(content), "--index", str(index), "reindex", "--full",
                        "--quiet"], check=False)
    pairs = shaped_queries(content)
    colds = cold_starts(index, content, [q for shape, q in pairs if shape in ("words", "filter")][:4])
    store = IndexStore(index)
    fts5 = None
    if db.is_file():
        from bench.fts5_ref import Fts5Search
        from indexer.content import load_vocabulary

        fts5 = Fts5Search(db, load_vocabulary(content))
    rows = []
    for shape, q in pairs:
        request = SearchRequest(q=q, role="manager")
        first, result = timed(store.search, request)
        warm = statistics.median(timed(store.search, request)[0] for _ in range(3))
        ref_ms, ref_total = None, None
        if fts5:
            ref_ms, ref_result = timed(fts5, SearchRequest(q=q))
            ref_total = ref_result.total
        rows.append({"shape": shape, "q": q, "first_ms": first, "warm_ms": warm, "total": result.total,
                     "partial": result.partial_total, "fts5_ms": ref_ms, "fts5_total": ref_total})
    print(f"\n== {args.size:,} items: each query (kb as a manager, no result cache; first run / median of 3)")
    print(f"{'shape':14}{'first ms':>9}{'warm ms':>9}{'kb total':>9}{'partial':>8}{'FTS5 ms':>9}{'FTS5 tot':>9}  query")
    for r in rows:
        ref = f"{r['fts5_ms']:>9.0f}{r['fts5_total']:>9}" if r["fts5_ms"] is not None else f"{'-':>9}{'-':>9}"
        print(f"{r['shape']:14}{r['first_ms']:>9.0f}{r['warm_ms']:>9.0f}{r['total']:>9}{r['partial']:>8}{ref}  {r['q'][:70]}")
    print(f"\n{'shape':14}{'first max':>10}{'warm p50':>10}{'warm max':>10}")
    for shape in SHAPES:
        mine = [r for r in rows if r["shape"] == shape]
        print(f"{shape:14}{max(r['first_ms'] for r in mine):>10.0f}"
              f"{statistics.median(r['warm_ms'] for r in mine):>10.0f}{max(r['warm_ms'] for r in mine):>10.0f}")
    warm = sorted(r["warm_ms"] for r in rows)
    print(f"{'all':14}{max(r['first_ms'] for r in rows):>10.0f}{statistics.median(warm):>10.0f}{warm[-1]:>10.0f}"
          f"   p95 warm {warm[int(round(0.95 * (len(warm) - 1)))]:.0f} ms")
    same, questions = pooled_pages(index, [q for shape, q in pairs if shape == "long question"])
    print(f"\nlong questions: first page ranked from the pool identical to ranking every partial match: "
          f"{same} of {questions}")
    print("\ncold start: a new process's first search (after imports) / imports / whole `kb search` command, ms")
    for q, imported, first, whole in colds:
        print(f"  {first:8.0f} {imported:8.0f} {whole:8.0f}  {q[:60]}")
    (args.work / f"shapes-{args.size}.json").write_text(json.dumps({"rows": rows, "cold": colds}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
