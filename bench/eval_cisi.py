"""Retrieval quality on the CISI test collection: kb against a plain BM25 reference.

Reads ../shared/data/cisi in place, writes each abstract as a Markdown file into a
temporary content folder, indexes it with `kb`'s own reindex job, runs every judged
query through `kb`'s search (the same code the CLI and web UI use), and scores the
rankings. In the same run, `bm25s` (Lucene BM25, PyStemmer English stemming, English
stop words) ranks the same documents for the same queries.

Prints MAP (over the top 1000), nDCG@10 and P@10 for both, and kb's ratio to the reference.

    python bench/eval_cisi.py [--data ../shared/data/cisi] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indexer.reindex import reindex  # noqa: E402
from indexer.searching import search  # noqa: E402
from indexer.store import IndexStore  # noqa: E402
from kb.search import SearchRequest  # noqa: E402

DEPTH = 1000


def load(data: Path) -> tuple[list[dict], dict[str, str], dict[str, set[str]]]:
    docs = [json.loads(line) for line in (data / "docs.jsonl").open(encoding="utf-8")]
    queries = {q["id"]: q["text"] for q in map(json.loads, (data / "queries.jsonl").open(encoding="utf-8"))}
    qrels: dict[str, set[str]] = defaultdict(set)
    with (data / "qrels.tsv").open(encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            qid, docid, rel = line.split("\t")
            if int(rel) > 0:
                qrels[qid].add(docid)
    return docs, queries, dict(qrels)


def average_precision(ranking: list[str], relevant: set[str]) -> float:
    hits, total = 0, 0.0
    for rank, doc in enumerate(ranking, 1):
        if doc in relevant:
            hits += 1
            total += hits / rank
    return total / len(relevant)


def ndcg_at(ranking: list[str], relevant: set[str], k: int = 10) -> float:
    dcg = sum(1 / math.log2(rank + 1) for rank, doc in enumerate(ranking[:k], 1) if doc in relevant)
    ideal = sum(1 / math.log2(rank + 1) for rank in range(1, min(k, len(relevant)) + 1))
    return dcg / ideal


def precision_at(ranking: list[str], relevant: set[str], k: int = 10) -> float:
    return sum(doc in relevant for doc in ranking[:k]) / k


def score(runs: dict[str, list[str]], qrels: dict[str, set[str]]) -> dict[str, float]:
    judged = sorted(qrels, key=int)
    return {
        "MAP": sum(average_precision(runs.get(q, []), qrels[q]) for q in judged) / len(judged),
        "nDCG@10": sum(ndcg_at(runs.get(q, []), qrels[q]) for q in judged) / len(judged),
        "P@10": sum(precision_at(runs.get(q, []), qrels[q]) for q in judged) / len(judged),
    }


def run_kb(docs: list[dict], queries: dict[str, str], judged: list[str], work: Path) -> tuple[dict[str, list[str]], dict]:
    content = work / "content"
    content.mkdir()
    for doc in docs:
        front = json.dumps({"id": f"cisi-{doc['id']}", "title": doc["title"], "type": "document", "lang": "en"})
        # JSON is valid YAML flow syntax, so titles need no escaping of their own.
        (content / f"{doc['id']}.md").write_text(f"---\n{front}\n---\n{doc['text']}\n", encoding="utf-8")
    started = time.perf_counter()
    summary = reindex(content, work / "index")
    index_seconds = time.perf_counter() - started
    store = IndexStore(work / "index")
    runs: dict[str, list[str]] = {}
    started = time.perf_counter()
    for qid in judged:
        request = SearchRequest(q=queries[qid], page=1, page_size=DEPTH)
        request.validate(max_query_length=4000, max_page_size=DEPTH)
        result = search(store, request)
        runs[qid] = [hit.item.id.removeprefix("cisi-") for hit in result.hits]
    query_seconds = time.perf_counter() - started
    return runs, {"indexed": summary.indexed, "index_s": index_seconds, "query_s": query_seconds}


def run_bm25s(docs: list[dict], queries: dict[str, str], judged: list[str]) -> tuple[dict[str, list[str]], dict]:
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    corpus = [f"{doc['title']} {doc['text']}" for doc in docs]
    started = time.perf_counter()
    tokens = bm25s.tokenize(corpus, stopwords="en", stemmer=stemmer, show_progress=False)
    retriever = bm25s.BM25()
    retriever.index(tokens, show_progress=False)
    index_seconds = time.perf_counter() - started
    started = time.perf_counter()
    runs: dict[str, list[str]] = {}
    for qid in judged:
        query_tokens = bm25s.tokenize([queries[qid]], stopwords="en", stemmer=stemmer, show_progress=False)
        found, _ = retriever.retrieve(query_tokens, k=min(DEPTH, len(docs)), show_progress=False)
        runs[qid] = [docs[int(i)]["id"] for i in found[0]]
    query_seconds = time.perf_counter() - started
    return runs, {"indexed": len(docs), "index_s": index_seconds, "query_s": query_seconds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "cisi")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if not (args.data / "docs.jsonl").is_file():
        print(f"Error: no CISI collection at {args.data}", file=sys.stderr)
        return 2
    docs, queries, qrels = load(args.data)
    judged = sorted(qrels, key=int)
    with tempfile.TemporaryDirectory(prefix="kb-cisi-") as tmp:
        kb_runs, kb_info = run_kb(docs, queries, judged, Path(tmp))
    ref_runs, ref_info = run_bm25s(docs, queries, judged)
    kb_scores, ref_scores = score(kb_runs, qrels), score(ref_runs, qrels)
    report = {
        "collection": {"documents": len(docs), "judged_queries": len(judged)},
        "kb": {**kb_scores, **kb_info},
        "bm25s": {**ref_scores, **ref_info},
        "ratio": {k: kb_scores[k] / ref_scores[k] for k in kb_scores},
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"CISI: {len(docs)} documents, {len(judged)} judged queries, rankings to depth {DEPTH}\n")
    print(f"{'system':<28}{'MAP':>8}{'nDCG@10':>10}{'P@10':>8}{'index s':>10}{'queries s':>11}")
    for name, scores, info in (("kb (Whoosh, BM25F)", kb_scores, kb_info), ("bm25s reference", ref_scores, ref_info)):
        print(f"{name:<28}{scores['MAP']:>8.4f}{scores['nDCG@10']:>10.4f}{scores['P@10']:>8.4f}"
              f"{info['index_s']:>10.2f}{info['query_s']:>11.2f}")
    ratio = report["ratio"]
    print(f"{'kb / reference':<28}{ratio['MAP']:>8.3f}{ratio['nDCG@10']:>10.3f}{ratio['P@10']:>8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
