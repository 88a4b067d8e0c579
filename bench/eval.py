"""Retrieval quality: kb against a plain BM25 reference, on CISI and on known-item lookups.

Two collections, both read in place from ../shared/data:

- CISI (1,460 abstracts, 76 judged queries): MAP over the top 1000, nDCG@10 and P@10.
- Known items over the 4,044 Digital.gov pages: bench/known_items.jsonl, lookups written
  the way a member remembers a page (paraphrases, partial titles, misspellings, acronyms,
  questions), each with the one page it is after: success@5 and MRR@10.

kb indexes each collection with its own reindex job into a temporary folder and answers
through IndexStore.search, the code the CLI and the web UI use; the order of its hits is
the order members see. In the same run `bm25s` (Lucene BM25, PyStemmer English stemming,
English stop words, over title + body) ranks the same texts: for Digital.gov both engines
see the pages as kb's readers read them (`load_content`: title and body text).

Prints one table (each figure for kb, bm25s and their ratio, and the median time of one
query), or the figures as JSON.

kb ranks as members get it: by meaning too (the `semantic` extra, indexer.meaning) when it is
installed and KB_SEMANTIC is not 0 (--semantic insists on it); then its
reindex jobs embed every item, and hits are reranked by the fusion of BM25 and cosine
with the given weight (KB_SEMANTIC_WEIGHT's default when none is given).

    python bench/eval.py [--only cisi|known] [--json] [--by-kind] [--semantic [--weight W]] [--keep DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indexer import meaning  # noqa: E402
from indexer.content import load_content  # noqa: E402
from indexer.reindex import reindex  # noqa: E402
from indexer.store import IndexStore  # noqa: E402
from kb.search import SearchRequest  # noqa: E402
from kb.settings import Settings  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
KNOWN_ITEMS = ROOT / "bench" / "known_items.jsonl"
KINDS = ("paraphrase", "partial-title", "misspelling", "acronym", "question")
DEPTH = 1000  # MAP is computed over this many results
MAX_QUERY_LENGTH = 4000  # the longest CISI query has 2,023 characters; kb's default cut is 2,000

MEANING: dict = {"model": None, "weight": 0.0}  # set by --semantic
KEEP: dict = {"dir": None}  # set by --keep

Ranker = Callable[[str, int], list[str]]  # (query, depth) -> ids, best first


# -- metrics ---------------------------------------------------------------------
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


def rank_of(ranking: list[str], target: str) -> int | None:
    return ranking.index(target) + 1 if target in ranking else None


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def timed(rank: Ranker, queries: dict[str, str], depth: int) -> tuple[dict[str, list[str]], float]:
    """Run every query; return the rankings and the median time of one query in ms."""
    runs: dict[str, list[str]] = {}
    times: list[float] = []
    for qid, text in queries.items():
        started = time.perf_counter()
        runs[qid] = rank(text, depth)
        times.append((time.perf_counter() - started) * 1000)
    return runs, statistics.median(times)


# -- the two engines ---------------------------------------------------------------
def kb_ranker(index: Path, prefix: str = "") -> Ranker:
    """Rank through kb's search, as the CLI and web do (no validation: depth may exceed the page size cap)."""
    store = IndexStore(index, model=MEANING["model"], semantic_weight=MEANING["weight"])

    def rank(text: str, depth: int) -> list[str]:
        result = store.search(SearchRequest(q=text, page=1, page_size=depth), max_query_length=MAX_QUERY_LENGTH)
        return [hit.item.id.removeprefix(prefix) for hit in result.hits]

    return rank


def bm25s_ranker(ids: list[str], texts: list[str]) -> tuple[Ranker, float]:
    """Index `texts` with bm25s; return a ranker giving ids and the seconds indexing took."""
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    started = time.perf_counter()
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False)
    seconds = time.perf_counter() - started

    def rank(text: str, depth: int) -> list[str]:
        tokens = bm25s.tokenize([text], stopwords="en", stemmer=stemmer, show_progress=False)
        found, _ = retriever.retrieve(tokens, k=min(depth, len(ids)), show_progress=False)
        return [ids[int(i)] for i in found[0]]

    return rank, seconds


def indexed_by_kb(content: Path, index: Path) -> tuple[set[str], float]:
    """Index `content` with kb's reindex job; return the ids it holds and the seconds it took."""
    started = time.perf_counter()
    summary = reindex(content, IndexStore(index, model=MEANING["model"]), full=True)
    seconds = time.perf_counter() - started
    if summary.failed:
        print(f"note: kb could not index {len(summary.failed)} files of {content}", file=sys.stderr)
    return {item.id for item in IndexStore(index).all_items()}, seconds


@contextlib.contextmanager
def workspace(name: str) -> Iterator[str]:
    """A temporary folder for one collection's content and index, or a kept one (--keep): a full
    rebuild there reuses the vectors of the last run, so meaning is embedded once per collection."""
    if KEEP["dir"] is None:
        with tempfile.TemporaryDirectory(prefix=f"kb-{name}-") as tmp:
            yield tmp
    else:
        folder = KEEP["dir"] / name
        folder.mkdir(parents=True, exist_ok=True)
        yield str(folder)


# -- CISI --------------------------------------------------------------------------
def load_cisi(data: Path) -> tuple[list[dict], dict[str, str], dict[str, set[str]]]:
    docs = [json.loads(line) for line in (data / "docs.jsonl").read_text(encoding="utf-8").splitlines()]
    queries = {q["id"]: q["text"]
               for q in map(json.loads, (data / "queries.jsonl").read_text(encoding="utf-8").splitlines())}
    qrels: dict[str, set[str]] = defaultdict(set)
    with (data / "qrels.tsv").open(encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            qid, docid, rel = line.split("\t")
            if int(rel) > 0:
                qrels[qid].add(docid)
    return docs, queries, dict(qrels)


def write_cisi(docs: list[dict], content: Path) -> Path:
    """The CISI abstracts as a content folder kb reads: one Markdown file each, id `cisi-<n>`."""
    content.mkdir(parents=True, exist_ok=True)
    for doc in docs:
        front = json.dumps({"id": f"cisi-{doc['id']}", "title": doc["title"], "type": "document", "lang": "en"})
        # JSON is valid YAML flow syntax, so titles need no escaping of their own.
        (content / f"{doc['id']}.md").write_text(f"---\n{front}\n---\n{doc['text']}\n", encoding="utf-8")
    return content


def score_cisi(runs: dict[str, list[str]], qrels: dict[str, set[str]]) -> dict[str, float]:
    return {
        "MAP": mean([average_precision(runs[q], qrels[q]) for q in qrels]),
        "nDCG@10": mean([ndcg_at(runs[q], qrels[q]) for q in qrels]),
        "P@10": mean([precision_at(runs[q], qrels[q]) for q in qrels]),
    }


def eval_cisi(data: Path) -> dict:
    docs, queries, qrels = load_cisi(data)
    judged = {qid: queries[qid] for qid in sorted(qrels, key=int)}
    report = {"collection": {"documents": len(docs), "queries": len(judged), "depth": DEPTH}}
    with workspace("cisi") as tmp:
        content = write_cisi(docs, Path(tmp) / "content")
        ids, index_s = indexed_by_kb(content, Path(tmp) / "index")
        rank = kb_ranker(Path(tmp) / "index", prefix="cisi-")
        runs, median_ms = timed(rank, judged, DEPTH)
        _, top10_ms = timed(rank, judged, 10)
        report["kb"] = {**score_cisi(runs, qrels), "median_ms": median_ms, "median_ms_top10": top10_ms,
                        "index_s": index_s, "indexed": len(ids)}
    rank, index_s = bm25s_ranker([d["id"] for d in docs], [f"{d['title']} {d['text']}" for d in docs])
    runs, median_ms = timed(rank, judged, DEPTH)
    _, top10_ms = timed(rank, judged, 10)
    report["bm25s"] = {**score_cisi(runs, qrels), "median_ms": median_ms, "median_ms_top10": top10_ms,
                       "index_s": index_s, "indexed": len(docs)}
    return report


# -- known items -------------------------------------------------------------------
def load_known_items(path: Path = KNOWN_ITEMS) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def score_known(runs: dict[str, list[str]], lookups: list[dict]) -> dict:
    ranks = {q["id"]: rank_of(runs[q["id"]], q["target"]) for q in lookups}

    def figures(subset: list[dict]) -> dict[str, float]:
        found = [ranks[q["id"]] for q in subset]
        return {"success@5": mean([r is not None and r <= 5 for r in found]),
                "MRR@10": mean([1 / r if r is not None and r <= 10 else 0.0 for r in found])}

    by_kind = {kind: figures([q for q in lookups if q["kind"] == kind]) for kind in KINDS}
    return {**figures(lookups), "by_kind": by_kind, "ranks": ranks}


def eval_known(content: Path, known: Path) -> dict:
    lookups = load_known_items(known)
    queries = {q["id"]: q["text"] for q in lookups}
    items = load_content(content, workers=2).items
    report = {"collection": {"documents": len(items), "queries": len(lookups),
                             "kinds": {kind: sum(q["kind"] == kind for q in lookups) for kind in KINDS}}}
    with workspace("known") as tmp:
        ids, index_s = indexed_by_kb(content, Path(tmp) / "index")
        missing = sorted({q["target"] for q in lookups} - ids)
        if missing:
            raise SystemExit(f"Error: targets not in kb's index: {', '.join(missing)}")
        runs, median_ms = timed(kb_ranker(Path(tmp) / "index"), queries, 10)
        report["kb"] = {**score_known(runs, lookups), "median_ms": median_ms, "index_s": index_s, "indexed": len(ids)}
    rank, index_s = bm25s_ranker([i.id for i in items], [f"{i.title} {i.text}" for i in items])
    runs, median_ms = timed(rank, queries, 10)
    report["bm25s"] = {**score_known(runs, lookups), "median_ms": median_ms, "index_s": index_s,
                       "indexed": len(items)}
    return report


# -- report ------------------------------------------------------------------------
def ratio(kb: float, ref: float) -> float | None:
    return kb / ref if ref else None


def print_table(report: dict, by_kind: bool) -> None:
    meaning_note = (f", kb ranking by meaning too (weight {report['semantic_weight']:g})"
                    if report.get("semantic_weight") is not None else "")
    print(f"Retrieval quality, {report['measured_at']}: kb (IndexStore.search) against bm25s "
          f"(BM25, PyStemmer English, English stop words, title + body){meaning_note}\n")
    print(f"{'collection':<36}{'metric':<18}{'kb':>9}{'bm25s':>9}{'kb/bm25s':>10}")
    for name, metrics in (("cisi", ("MAP", "nDCG@10", "P@10")), ("known_items", ("success@5", "MRR@10"))):
        if name not in report:
            continue
        part = report[name]
        size = part["collection"]
        labels = ([f"CISI ({size['documents']:,} abstracts,", f"  {size['queries']} judged queries)"]
                  if name == "cisi" else
                  ["Digital.gov known items", f"  ({size['queries']} lookups, {size['documents']:,} pages)"])
        for metric in metrics:
            kb, ref = part["kb"][metric], part["bm25s"][metric]
            shown = "-" if part["ratio"][metric] is None else f"{part['ratio'][metric]:.3f}"
            print(f"{labels.pop(0) if labels else '':<36}{'MAP@1000' if metric == 'MAP' else metric:<18}"
                  f"{kb:>9.3f}{ref:>9.3f}{shown:>10}")
        times = [("median ms", "median_ms")]
        if "median_ms_top10" in part["kb"]:
            times = [("median ms, top 1000", "median_ms"), ("median ms, top 10", "median_ms_top10")]
        for label, key in times:
            print(f"{labels.pop(0) if labels else '':<36}{label:<18}{part['kb'][key]:>9.1f}{part['bm25s'][key]:>9.1f}")
    if by_kind and "known_items" in report:
        part = report["known_items"]
        print(f"\n{'known items by kind':<36}{'lookups':>7}{'kb s@5':>9}{'bm25s':>9}{'kb MRR':>10}{'bm25s':>9}")
        for kind in KINDS:
            kb, ref = part["kb"]["by_kind"][kind], part["bm25s"]["by_kind"][kind]
            print(f"{kind:<36}{part['collection']['kinds'][kind]:>7}{kb['success@5']:>9.3f}"
                  f"{ref['success@5']:>9.3f}{kb['MRR@10']:>10.3f}{ref['MRR@10']:>9.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("cisi", "known"), help="evaluate one collection only")
    parser.add_argument("--cisi", type=Path, default=SHARED / "cisi", help="the CISI folder")
    parser.add_argument("--digitalgov", type=Path, default=SHARED / "digitalgov" / "content",
                        help="the Digital.gov content folder")
    parser.add_argument("--known", type=Path, default=KNOWN_ITEMS, help="the known-item lookups (JSON lines)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--by-kind", action="store_true", help="also print known-item figures by kind of lookup")
    parser.add_argument("--semantic", action="store_true",
                        help="kb ranks by meaning too, or fails (the default when the extra is installed, "
                             "unless KB_SEMANTIC=0)")
    parser.add_argument("--weight", type=float, default=Settings().semantic_weight,
                        help="weight of meaning in the fusion")
    parser.add_argument("--keep", type=Path, help="keep each collection's index in this folder between runs")
    args = parser.parse_args(argv)
    KEEP["dir"] = args.keep
    # kb as members get it: by meaning too when the extra is installed and KB_SEMANTIC is on.
    wanted = args.semantic or Settings.from_mapping(os.environ).semantic
    if wanted:
        MEANING.update(model=meaning.embedder(True), weight=args.weight)
        if MEANING["model"] is None and args.semantic:
            print("Error: the semantic extra cannot run here: pip install 'cop-kb[semantic]'", file=sys.stderr)
            return 2
        if MEANING["model"] is None:
            print("note: search by meaning is not installed here: kb ranks by words alone", file=sys.stderr)
    meaning_on = MEANING["model"] is not None
    for wanted, path in (("cisi", args.cisi / "docs.jsonl"), ("known", args.digitalgov)):
        if args.only in (None, wanted) and not path.exists():
            print(f"Error: {path} is not present", file=sys.stderr)
            return 2
    report: dict = {"measured_at": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                    "semantic_weight": MEANING["weight"] if meaning_on else None}
    if args.only in (None, "cisi"):
        report["cisi"] = eval_cisi(args.cisi)
    if args.only in (None, "known"):
        report["known_items"] = eval_known(args.digitalgov, args.known)
    for part in (p for name, p in report.items() if name in ("cisi", "known_items")):
        part["ratio"] = {m: ratio(part["kb"][m], part["bm25s"][m]) for m in part["kb"]
                         if isinstance(part["kb"][m], float) and m != "index_s"}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report, args.by_kind)
    return 0


if __name__ == "__main__":
    sys.exit(main())
