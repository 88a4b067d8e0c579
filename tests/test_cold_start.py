"""A new process answers its first search from the facet bitsets the writer stored (sets.sqlite).

Reading every facet value's postings took about a second at 100,000 items on the first search of
each process; `make bench` prints the cold-start figures. Here: the stored sets are used, are
right after incremental runs (new segments, deletions, merges), and a missing or damaged file only
costs speed.
"""

import json
import shutil
import sqlite3
from contextlib import contextmanager
from pathlib import Path

import pytest

from indexer import segmentsets
from indexer.cli import cli
from indexer.generation import SETS_FILE
from indexer.reindex import reindex
from indexer.store import IndexStore
from kb.search import SearchRequest
from tests.conftest import write

QUERIES = ["", "budget flexibility", "topic:provider-payment", "capitation -ghana", "type:activity"]


def facets_and_hits(index: Path, q: str, role: str = "anonymous") -> tuple[dict, list[str], int]:
    result = IndexStore(index).search(SearchRequest(q=q, page_size=100, role=role, sort="newest"))
    facets = {name: {f.value: f.count for f in counts} for name, counts in result.facets.items()}
    return facets, [h.item.id for h in result.hits], result.total


def sets_file(index: Path) -> Path:
    return index / (index / "CURRENT").read_text().strip() / SETS_FILE


@contextmanager
def refusing_postings():
    """Fail any read of a stored field's values from the postings."""
    read = segmentsets.segment_values

    def refuse(reader, field):
        if field in segmentsets.FIELDS:
            raise AssertionError(f"read {field!r} from the postings")
        return read(reader, field)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(segmentsets, "segment_values", refuse)
        yield


def without_sets(index: Path, target: Path) -> Path:
    """A copy of an index without its stored sets: every value is read from the postings."""
    shutil.copytree(index, target)
    sets_file(target).unlink()
    return target


def test_the_first_search_of_a_new_process_reads_facets_from_the_stored_sets(sample_index, runner):
    content, index = sample_index
    assert sets_file(index).is_file()
    with refusing_postings():
        out = runner.invoke(cli, ["--content", str(content), "--index", str(index),
                                  "search", "topic:provider-payment", "--json", "--sort", "newest"])
    assert out.exit_code == 0, out.output
    answer = json.loads(out.output)
    assert answer["total"] > 0 and answer["facets"]["country"]


def test_the_stored_sets_answer_exactly_what_the_postings_answer(sample_index, tmp_path):
    _, index = sample_index
    with refusing_postings():
        stored = {q: facets_and_hits(index, q) for q in QUERIES}
    copy = without_sets(index, tmp_path / "ix")
    assert {q: facets_and_hits(copy, q) for q in QUERIES} == stored


def test_incremental_runs_store_the_sets_of_new_segments_and_forget_merged_ones(indexed_copy, tmp_path):
    content, index = indexed_copy
    # a new item, an edited item (its old document is deleted in its segment) and a deleted file
    write(content / "documents" / "zz-new-note.md",
          "---\nid: zz-new-note\ntitle: Capitation in Zanzibar\ntype: document\ndate: 2031-01-02\n"
          "countries: [TZ]\ntopics: [provider-payment]\n---\nCapitation notes.\n")
    edited = sorted((content / "documents").glob("*.md"))[0]
    edited.write_text(edited.read_text(encoding="utf-8").replace("\ncountries: [", "\ncountries: [MW, ", 1),
                      encoding="utf-8")
    sorted((content / "discussions").glob("*.md"))[0].unlink()
    summary = reindex(content, index)
    assert summary.added and summary.updated and summary.deleted and not summary.failed

    with refusing_postings():
        after = {q: facets_and_hits(index, q, "manager") for q in QUERIES}
    assert after["topic:provider-payment"][1][0] == "zz-new-note"
    assert after[""][0]["country"]["TZ"] == 1 and after[""][0]["country"]["MW"] == 1
    with sqlite3.connect(sets_file(index)) as db:
        stored = {row[0] for row in db.execute("SELECT segment FROM segments")}
    with IndexStore(index).searcher() as (searcher, _):
        live = {leaf.segment().segment_id() for leaf, _ in searcher.reader().leaf_readers()}
    assert stored == live

    # the same answers from the postings alone
    copy = without_sets(index, tmp_path / "from-postings")
    assert {q: facets_and_hits(copy, q, "manager") for q in QUERIES} == after


def test_a_damaged_sets_file_costs_speed_not_answers(sample_index, tmp_path, caplog):
    _, index = sample_index
    expected = {q: facets_and_hits(index, q) for q in QUERIES}
    copy = tmp_path / "ix"
    shutil.copytree(index, copy)
    sets_file(copy).write_bytes(b"not a database" * 100)
    assert {q: facets_and_hits(copy, q) for q in QUERIES} == expected
    assert SETS_FILE in caplog.text
