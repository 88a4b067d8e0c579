"""The FTS5 reference of the benchmarks (bench/fts5_ref.py) does kb's work: the same words, the same totals.

The benchmarks compare kb's timings with the reference's; that comparison is fair only if both
index the same analysed text and count the same matches. These tests hold it to that on the
sample community: every word kb indexes is one FTS5 word, and searches of each shape give kb's
totals, partial totals and facet counts, for each role, after a full build and after an update.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from bench.fts5_ref import COLUMNS, Fts5Search, build, update
from indexer.content import load_vocabulary
from indexer.reindex import reindex
from indexer.store import IndexStore
from kb.search import SearchRequest

QUERIES = (
    "budget flexibility", "flexibilite budgetaire topic:covid-19-response", "PBF", "NHIA", "capitaton",
    '"provider payment" -ghana', "virements after:2020-06 type:session-note", "capit*", "in:title budget",
    "the", "webinar ghana", "results-based financing", "-ghana", "type:discussion", "kind:roundtable",
    "what did the roundtable on strategic purchasing conclude about paying providers during covid",
    "flexibilité budgétaire au Sénégal", "auditting emergancy spending",
)


@pytest.fixture(scope="module")
def reference(sample_index: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("fts5") / "fts5.db"
    build(sample_index[0], db)
    return db


def differences(store: IndexStore, search: Fts5Search, queries: tuple[str, ...], role: str) -> list[str]:
    """The queries whose total, partial total or facet counts differ between kb and the reference."""
    found = []
    for q in queries:
        request = SearchRequest(q=q, role=role)
        kb, ref = store.search(request), search(request)
        if (kb.total, kb.partial_total, kb.facets) != (ref.total, ref.partial_total, ref.facets):
            found.append(f"{q!r}: kb {kb.total}/{kb.partial_total}, FTS5 {ref.total}/{ref.partial_total}")
    return found


def test_every_word_kb_indexes_is_one_fts5_word(store, reference):
    """The analysed words go in whole (the ascii tokenizer splits them at spaces only): each column's words and
    their document counts are those of kb's field of the same name."""
    conn = sqlite3.connect(reference)
    with store.searcher() as (searcher, _):
        reader = searcher.reader()
        for column in COLUMNS:
            kb = {word.decode() if isinstance(word, bytes) else word: reader.doc_frequency(column, word)
                  for word in reader.lexicon(column)} if column in reader.indexed_field_names() else {}
            fts5 = dict(conn.execute("SELECT term, doc FROM fts_words WHERE col = ?", (column,)))
            assert fts5 == kb, column


@pytest.mark.parametrize("role", ["anonymous", "manager"])
@pytest.mark.slow
def test_the_reference_counts_what_kb_counts(sample_index, store, reference, role):
    search = Fts5Search(reference, load_vocabulary(sample_index[0]))
    assert differences(store, search, QUERIES, role) == []
    page = search(SearchRequest(q="capitaton", role=role))
    assert page.suggestion and page.hits and "<mark" in page.hits[0].snippet  # kb's corrections and snippets


@pytest.mark.slow
def test_an_update_gives_what_kb_reindex_gives(sample, tmp_path):
    content, index, db = tmp_path / "content", tmp_path / "index", tmp_path / "fts5.db"
    shutil.copytree(sample, content)
    reindex(content, index)
    build(content, db)
    search = Fts5Search(db, load_vocabulary(content))  # open before the update: it must see the change
    with open(content / "discussions" / "capitation-rates-phc-kenyan-counties.md", "a", encoding="utf-8") as f:
        f.write("\nzanzibarquark\n")
    (content / "discussions" / "covid-19-budget-flexibility-ghana.md").unlink()
    (content / "discussions" / "new-note.md").write_text(
        "---\ntitle: A zanzibarquark note\ntype: discussion\nactivities: [forum-2020-roundtable-3]\n---\nOn capitation.\n",
        encoding="utf-8")
    activity = content / "activities" / "forum-2020-roundtable-3.md"
    activity.write_text(activity.read_text(encoding="utf-8").replace("kind: roundtable", "kind: webinar"),
                        encoding="utf-8")
    reindex(content, index)
    assert update(content, db)["changed"] == 3
    queries = ("zanzibarquark", "kind:roundtable", "kind:webinar", "budget flexibility", "capitation")
    assert differences(IndexStore(index), search, queries, "manager") == []
    assert search(SearchRequest(q="zanzibarquark", role="manager")).total == 2
