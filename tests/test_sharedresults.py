"""The processes serving one index share their search results (indexer.sharedresults): a result one web
worker ranked is served by the others, never once the index changed, within its size, and a broken
file only means every process ranks for itself."""

import logging
import sqlite3

from indexer.reindex import reindex
from indexer.sharedresults import FILE
from indexer.store import IndexStore
from kb.search import SearchRequest
from tests.conftest import write
from webui import create_app

URL = "/search.json?q=capitation+providers"


def worker(content, index, tmp_path, **settings):
    """A web worker of its own (a new app: its own store and per-process cache), as gunicorn starts them."""
    config = {"TESTING": True, "KB_CONTENT": str(content), "KB_INDEX": str(index), "KB_DATA": str(tmp_path / "data")}
    return create_app({**config, **{k: str(v) for k, v in settings.items()}}).test_client()


def timing(answer) -> str:
    return answer.headers["Server-Timing"]


def test_a_result_one_worker_ranked_is_served_by_the_others(indexed_copy, tmp_path):
    first, second = worker(*indexed_copy, tmp_path), worker(*indexed_copy, tmp_path)
    ranked = first.get(URL)
    shared = second.get(URL)
    assert 'desc="cache miss"' in timing(ranked) and 'desc="cache hit"' in timing(shared)
    assert shared.get_json()["hits"] == ranked.get_json()["hits"] and shared.get_json()["total"] > 0
    # the page made of a shared result shows the same hits and labels
    page = second.get(URL.replace(".json", "")).get_data(as_text=True)
    assert all(hit["title"] in page for hit in ranked.get_json()["hits"])


def test_no_sharing_when_it_is_off(indexed_copy, tmp_path):
    first = worker(*indexed_copy, tmp_path, KB_SEARCH_CACHE_SHARED=0)
    second = worker(*indexed_copy, tmp_path, KB_SEARCH_CACHE_SHARED=0)
    first.get(URL)
    assert 'desc="cache miss"' in timing(second.get(URL))
    assert not (indexed_copy[1] / FILE).exists()


def test_a_shared_result_is_never_one_of_an_older_index(indexed_copy, tmp_path):
    content, index = indexed_copy
    first, second = worker(content, index, tmp_path), worker(content, index, tmp_path)
    before = first.get(URL).get_json()
    write(content / "documents" / "capitation-providers-new.md",
          "---\ntitle: Capitation for providers, a new note\ntype: document\n---\nCapitation providers.\n")
    reindex(content, index)
    after = second.get(URL)
    assert 'desc="cache miss"' in timing(after)
    assert after.get_json()["total"] == before["total"] + 1


def test_each_role_gets_its_own_shared_result(indexed_copy):
    content, index = indexed_copy
    question = "capitation providers"
    IndexStore(index, cache_size=8, shared_cache_mb=8).search(SearchRequest(q=question, role="manager"))
    other = IndexStore(index, cache_size=8, shared_cache_mb=8)
    anonymous = other.search(SearchRequest(q=question))
    manager = other.search(SearchRequest(q=question, role="manager"))
    assert not anonymous.cached and manager.cached
    assert anonymous.total < manager.total  # notes kept for members are not counted for the anonymous reader


def test_the_shared_file_stays_within_its_size(indexed_copy):
    index = indexed_copy[1]
    store = IndexStore(index, cache_size=4, shared_cache_mb=0.02)
    words = ["capitation", "providers", "budget", "health", "ghana", "gender", "results", "financing", "care",
             "primary", "roundtable", "webinar", "training", "survey", "district", "flexibility"]
    for page in range(1, 9):
        for word in words:
            store.search(SearchRequest(q=word, page=page))
    with sqlite3.connect(index / FILE) as db:
        kept, size = db.execute("SELECT COUNT(*), SUM(size) FROM results").fetchone()
    assert 0 < kept < len(words) * 8 and size <= 20_000


def test_a_broken_shared_file_only_means_each_process_ranks_for_itself(indexed_copy, tmp_path, caplog):
    content, index = indexed_copy
    (index / FILE).write_bytes(b"not a database" * 100)
    with caplog.at_level(logging.WARNING, logger="indexer.sharedresults"):
        answers = [worker(content, index, tmp_path).get(URL) for _ in range(2)]
    assert all(a.status_code == 200 and a.get_json()["total"] > 0 for a in answers)
    assert all('desc="cache miss"' in timing(a) for a in answers)
    assert "shared search results off" in caplog.text and str(index / FILE) in caplog.text
