"""Whoosh, the Typesense cluster and SQLite FTS5 side by side at one size: full build, search page, web.

On the corpus of bench/corpus.py (the one bench_scale.py uses), in one run:
  * full build, items/s: `kb reindex --full` into the index folder alone (Whoosh), then with
    KB_BACKEND=typesense into a 3-node cluster on loopback (every generation is written to both),
    and the FTS5 reference;
  * search page work p50 / p95 over the same query mix, as a manager: Whoosh, the cluster (its
    clause cache emptied before each run, so every word is asked of the cluster), and FTS5;
  * the web UI under gunicorn (2 workers, no result cache) and wrk (8 connections): requests/s,
    p95 and failed requests, for each of the three.
kb runs by words alone (KB_SEMANTIC=0).

    python bench/bench_typesense.py [--size 10000] [--work bench/results] [--seconds 15]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import corpus  # noqa: E402
from bench.bench_scale import (fts5_cmd, kb_cmd, latencies, load, pct, query_mix, ratio,  # noqa: E402
                               run_measured, serve, stop)
from bench.fts5_ref import Fts5Search  # noqa: E402
from indexer.content import load_vocabulary  # noqa: E402
from indexer.lru import LRU  # noqa: E402
from indexer.store import IndexStore  # noqa: E402
from indexer.typesense import cluster  # noqa: E402
from indexer.typesense.connection import Connection  # noqa: E402
from indexer.typesense.store import ClusterStore  # noqa: E402


def cluster_search(store: ClusterStore):
    """A search through the cluster with nothing kept from the last one (no result, no clause cache)."""
    def run(request: Any) -> Any:
        store.cluster_search.snapshot().sets.found = LRU(0)
        return store.search(replace(request, role="manager"))
    return run


def bench(size: int, work: Path, seconds: int) -> dict[str, Any]:
    content = corpus.ensure(size, work / f"corpus-{size}")
    folder, db = work / f"ts-index-{size}", work / f"fts5-{size}.db"
    shutil.rmtree(folder, ignore_errors=True)
    report: dict[str, Any] = {"size": size}
    with tempfile.TemporaryDirectory(prefix="kb-bench-ts-") as tmp:
        nodes, key = cluster.start(Path(tmp), count=3)
        try:
            env = {"KB_BACKEND": "typesense", "KB_TYPESENSE_NODES": ",".join(n.url for n in nodes),
                   "KB_TYPESENSE_API_KEY": key, "KB_TYPESENSE_PREFIX": "bench", "KB_SEMANTIC": "0"}
            whoosh_s, _, out = run_measured(kb_cmd(content, folder / "whoosh", "reindex", "--full", "--quiet", "--json"),
                                            env={"KB_SEMANTIC": "0"})
            items = json.loads(out)["items"]
            cluster_s, _, _ = run_measured(kb_cmd(content, folder / "cluster", "reindex", "--full", "--quiet", "--json"),
                                           env=env)
            fts5_s, _, _ = run_measured(fts5_cmd("build", content, db))
            report["build"] = {"whoosh": items / whoosh_s, "cluster": items / cluster_s, "fts5": items / fts5_s}

            queries = query_mix(content)
            whoosh = IndexStore(folder / "whoosh")
            store = ClusterStore(folder / "cluster", Connection(tuple(n.url for n in nodes), key, "bench"))
            fts5 = Fts5Search(db, load_vocabulary(content))
            report["search"] = {}
            for name, run in (("whoosh", lambda r: whoosh.search(replace(r, role="manager"))),
                              ("cluster", cluster_search(store)),
                              ("fts5", lambda r: fts5(replace(r, role="manager")))):
                _, times = latencies(run, queries)
                report["search"][name] = {"p50": pct(times, 50), "p95": pct(times, 95)}

            report["web"] = {}
            apps = (("whoosh", "webui:create_app()", {"KB_INDEX": str(folder / "whoosh")}),
                    ("cluster", "webui:create_app()", {**env, "KB_INDEX": str(folder / "cluster")}),
                    ("fts5", "bench.web_fts5:create_app()", {"KB_FTS5_DB": str(db)}))
            for name, app, app_env in apps:
                server, base = serve(app, {**app_env, "KB_CONTENT": str(content), "KB_SEARCH_CACHE": "0",
                                           "KB_SEMANTIC": "0"})
                try:
                    report["web"][name] = load(base, queries, seconds, work)
                finally:
                    stop(server)
        finally:
            cluster.stop(Path(tmp))
    return report


def print_report(r: dict[str, Any]) -> None:
    print(f"\n== {r['size']:,} items: Whoosh, a 3-node Typesense cluster and SQLite FTS5\n")
    print(f"{'':40}{'Whoosh':>10}{'cluster':>10}{'FTS5':>10}{'cluster/FTS5':>14}")
    b, s, w = r["build"], r["search"], r["web"]
    print(f"{'full build, items/s':40}{b['whoosh']:>10.0f}{b['cluster']:>10.0f}{b['fts5']:>10.0f}"
          f"{ratio(b['cluster'], b['fts5']):>14}")
    for p in ("p50", "p95"):
        print(f"{'search page work ' + p + ', ms':40}{s['whoosh'][p]:>10.1f}{s['cluster'][p]:>10.1f}"
              f"{s['fts5'][p]:>10.1f}{ratio(s['cluster'][p], s['fts5'][p]):>14}")
    print(f"{'web /search req/s (no result cache)':40}{w['whoosh']['rps']:>10.0f}{w['cluster']['rps']:>10.0f}"
          f"{w['fts5']['rps']:>10.0f}{ratio(w['cluster']['rps'], w['fts5']['rps']):>14}")
    print(f"{'web /search p95 ms':40}{w['whoosh']['p95_ms']:>10.1f}{w['cluster']['p95_ms']:>10.1f}"
          f"{w['fts5']['p95_ms']:>10.1f}{ratio(w['cluster']['p95_ms'], w['fts5']['p95_ms']):>14}")
    print(f"{'web failed requests':40}{w['whoosh']['failed']:>10.0f}{w['cluster']['failed']:>10.0f}"
          f"{w['fts5']['failed']:>10.0f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10000)
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--seconds", type=int, default=15)
    args = parser.parse_args()
    if cluster.binary() is None or shutil.which("wrk") is None:
        print("note: typesense-server or wrk is not installed: skipped", file=sys.stderr)
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    report = bench(args.size, args.work, args.seconds)
    print_report(report)
    (args.work / f"typesense-{args.size}.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
