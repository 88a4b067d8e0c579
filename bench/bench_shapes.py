"""Every query shape at one size, kb beside the FTS5 reference: each query's times and totals; the slowest of
each shape, cold starts.

On the corpus of bench/corpus.py (built if missing), its kb index (built with `kb reindex --full` if
missing, else brought up to date with `kb reindex`) and the FTS5 reference of bench/fts5_ref.py (built
if missing or of an older format, else brought up to date with its `update`), kb and the reference
search the mix of bench/queries.py as a manager, words only (KB_SEMANTIC=0). The reference does kb's
work with SQLite FTS5 (kb's analysis, matching rule, corrections, facet bitsets and snippets; see its
docstring), so both should count the same matches and partial matches: each query's line shows
kb's first run in this process and the median of three repeats with its total and partial
matches, then the same for FTS5, and `=` when both totals agree; a line after the table says on how
many queries they do. Then per shape the slowest first run and the warm median and slowest of
each, the long questions' pool check, and the cold start: a new process's first search (store
opened, nothing cached but the OS's file cache) and the whole `kb search` command.

    python bench/bench_shapes.py [--size 100000] [--work bench/results] [--index FOLDER] [--fts5 DB]
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
    env = {**os.environ, "KB_SEMANTIC": "0", "KB_SEARCH_CACHE_SHARED": "0"}  # a cold start ranks
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


def up_to_date(content: Path, index: Path, db: Path) -> None:
    """kb's index and the FTS5 reference, both of the corpus as it is now (each is a no-op when nothing changed)."""
    kb = [str(BIN / "kb"), "--content", str(content), "--index", str(index), "reindex", "--quiet"]
    subprocess.run(kb + ([] if (index / "CURRENT").is_file() else ["--full"]), check=False)
    if not db.is_file():
        print(f"building the FTS5 reference {db} (kb's reading and analysis of every file: minutes)", flush=True)
    subprocess.run([sys.executable, str(ROOT / "bench" / "fts5_ref.py"), "update", str(content), str(db)],
                   check=True, stdout=subprocess.DEVNULL)


def measure(run, request: SearchRequest) -> tuple[float, float, object]:
    """(first run ms, median of three more ms, the result)."""
    first, result = timed(run, request)
    return first, statistics.median(timed(run, request)[0] for _ in range(3)), result


def same_totals(row: dict) -> bool:
    return (row["total"], row["partial"]) == (row["fts5_total"], row["fts5_partial"])


def print_queries(size: int, rows: list[dict]) -> None:
    print(f"\n== {size:,} items: each query as a manager, no result cache; first run / median of 3, ms")
    print(f"{'shape':14}{'kb first':>9}{'warm':>6}{'total':>7}{'partial':>8}{'FTS5 first':>11}{'warm':>6}"
          f"{'total':>7}{'partial':>8}    query")
    for r in rows:
        print(f"{r['shape']:14}{r['first_ms']:>9.0f}{r['warm_ms']:>6.0f}{r['total']:>7}{r['partial']:>8}"
              f"{r['fts5_ms']:>11.0f}{r['fts5_warm_ms']:>6.0f}{r['fts5_total']:>7}{r['fts5_partial']:>8}"
              f"  {'=' if same_totals(r) else '≠'} {r['q'][:60]}")
    print(f"\ntotals equal on {sum(same_totals(r) for r in rows)} of {len(rows)} queries "
          "(matches and partial matches, kb and FTS5)")


def print_shapes(rows: list[dict]) -> None:
    print(f"\n{'':14}{'kb':>30}{'FTS5':>30}")
    print(f"{'shape':14}" + f"{'first max':>10}{'warm p50':>10}{'warm max':>10}" * 2 + f"{'totals equal':>14}")
    for shape in (*SHAPES, "all"):
        mine = rows if shape == "all" else [r for r in rows if r["shape"] == shape]
        cells = ""
        for first, warm in (("first_ms", "warm_ms"), ("fts5_ms", "fts5_warm_ms")):
            cells += (f"{max(r[first] for r in mine):>10.0f}{statistics.median(r[warm] for r in mine):>10.0f}"
                      f"{max(r[warm] for r in mine):>10.0f}")
        print(f"{shape:14}{cells}{sum(same_totals(r) for r in mine):>8} of {len(mine)}")
    print(f"p95 warm: kb {p95([r['warm_ms'] for r in rows]):.0f} ms, FTS5 {p95([r['fts5_warm_ms'] for r in rows]):.0f} ms")


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(round(0.95 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100000)
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--index", type=Path, help="an index of the corpus built earlier (default: WORK/index-SIZE)")
    parser.add_argument("--fts5", type=Path, help="the FTS5 reference's database (default: WORK/fts5-SIZE.db)")
    args = parser.parse_args()
    os.environ["KB_SEMANTIC"] = "0"
    # Commands are timed as an installation runs them, with the bytecode caches Python keeps: set, this
    # compiles every module at each start (0.3-0.9 s of a `kb reindex` at 100k).
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    content = corpus.ensure(args.size, args.work / f"corpus-{args.size}")
    index, db = args.index or args.work / f"index-{args.size}", args.fts5 or args.work / f"fts5-{args.size}.db"
    up_to_date(content, index, db)
    pairs = shaped_queries(content)
    colds = cold_starts(index, content, [q for shape, q in pairs if shape in ("words", "filter")][:4])
    from bench.fts5_ref import Fts5Search
    from indexer.content import load_vocabulary

    store, fts5 = IndexStore(index), Fts5Search(db, load_vocabulary(content))
    rows = []
    for shape, q in pairs:
        request = SearchRequest(q=q, role="manager")
        first, warm, result = measure(store.search, request)
        ref_first, ref_warm, ref = measure(fts5, request)
        rows.append({"shape": shape, "q": q, "first_ms": first, "warm_ms": warm, "total": result.total,
                     "partial": result.partial_total, "fts5_ms": ref_first, "fts5_warm_ms": ref_warm,
                     "fts5_total": ref.total, "fts5_partial": ref.partial_total})
    print_queries(args.size, rows)
    print_shapes(rows)
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
