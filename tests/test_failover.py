"""Searches and tag edits through the loss of the Typesense leader (kill -9), on a 3-node cluster on loopback.

Skipped where the binary is not installed, unless KB_REQUIRE_TYPESENSE is set (.ci/run sets it)."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time

import pytest

from indexer.reindex import reindex
from indexer.lru import LRU
from indexer.tagging import Change, tag
from indexer.typesense import cluster
from indexer.typesense.collection import jsonl
from indexer.typesense.connection import Connection
from indexer.typesense.searching import ClusterSearch
from indexer.typesense.store import ClusterStore
from kb.search import SearchRequest

if cluster.binary() is None:
    if os.environ.get("KB_REQUIRE_TYPESENSE"):
        raise RuntimeError("KB_REQUIRE_TYPESENSE is set but typesense-server is not installed")
    pytest.skip("typesense-server is not installed (pip install 'cop-kb[typesense]')", allow_module_level=True)

pytestmark = [pytest.mark.slow, pytest.mark.serial]

SEARCHES = 2000
READERS = 2  # searching side by side: each waits on the nodes most of its time
QUERIES = [("budget flexibility", {}), ("capitation", {"type": ("session-note",)}), ("provider payment", {}),
           ("virements", {}), ("audit emergency spending", {"country": ("GH",)}), ("health taxes", {}),
           ("covid-19 topic:health-financing", {}), ("flexibilite budgetaire", {}), ("PBF", {}),
           ("roundtable after:2020-06", {})]
TOPIC = "health-taxes"


def held_topics(url: str, key: str, collection: str) -> dict[str, list[str]]:
    exported = Connection((url,), key).client().collections[collection].documents.export(
        {"include_fields": "id,topics"})
    return {doc["id"]: doc["topics"] for doc in jsonl(exported)}


def test_searches_and_tag_edits_go_on_through_the_loss_of_the_leader(tmp_path, sample):
    """2,000 searches from two readers that know every node, and a stream of tag edits, while the leader is
    killed: no search fails, every acknowledged edit is on every node afterwards, and the restarted node comes
    back with the same items."""
    folder = tmp_path / "ts"
    nodes, key = cluster.start(folder, count=3)
    try:
        urls = tuple(node.url for node in nodes)
        connection = Connection(urls, key)
        content = tmp_path / "content"
        shutil.copytree(sample, content)
        store = ClusterStore(tmp_path / "ix", connection)
        assert not reindex(content, store, full=True).failed
        # two read hosts' worth of readers (no index folder, no result cache), 1,000 searches each
        readers = [ClusterSearch(connection, LRU(0)) for _ in range(READERS)]
        failures: list[str] = []
        done = [0] * READERS

        def search_loop(number: int) -> None:
            for n in range(SEARCHES // READERS):
                q, filters = QUERIES[(n + number) % len(QUERIES)]
                try:
                    readers[number].search(SearchRequest(q=q, filters=filters, page_size=10, role="member"))
                except Exception as exc:  # noqa: BLE001 - every failure is counted and shown
                    failures.append(f"{q!r}: {type(exc).__name__}: {exc}")
                done[number] = n + 1

        searching = [threading.Thread(target=search_loop, args=(number,)) for number in range(READERS)]
        for thread in searching:
            thread.start()
        untagged = [item.id for item in store.all_items() if TOPIC not in item.topics
                    and (content / item.path).suffix == ".md"]
        acknowledged, refused = [], []
        killed = -1
        for n, item_id in enumerate(untagged[:24]):
            if n == 4:  # some edits before the loss of the leader, the rest during and after the election
                killed = next(i for i, node in enumerate(connection.nodes()) if node["role"] == "leader")
                os.kill(nodes[killed].pid, signal.SIGKILL)
            try:
                tag(store, content, tmp_path / "data", item_id, Change(add_topics=(TOPIC,)), who="failover-test",
                    wait=120)
                acknowledged.append(item_id)
            except Exception as exc:  # noqa: BLE001 - an edit the cluster did not take is refused, not lost
                refused.append(f"{item_id}: {exc}")
        for thread in searching:
            thread.join(timeout=600)
        assert not any(thread.is_alive() for thread in searching) and sum(done) == SEARCHES
        assert not failures, (len(failures), failures[:5])
        assert len(acknowledged) >= 20, refused

        serving = readers[0].snapshot().collection
        survivors = [url for i, url in enumerate(urls) if i != killed]
        for url in survivors:
            topics = held_topics(url, key, serving)
            assert [i for i in acknowledged if TOPIC not in topics[i]] == [], url
        cluster.restart(folder, killed, key)
        restarted = time.monotonic()
        expected = held_topics(survivors[0], key, serving)
        deadline = time.monotonic() + 180
        while True:
            try:
                if held_topics(urls[killed], key, serving) == expected:
                    break
            except Exception:  # noqa: BLE001 - a node still catching up answers 404 or refuses connections
                pass
            assert time.monotonic() < deadline, "the restarted node did not catch up"
            time.sleep(1)
        print(f"{SEARCHES} searches, 0 failed; {len(acknowledged)} tag edits acknowledged, {len(refused)} refused; "
              f"the restarted node holds {len(expected)} items, {time.monotonic() - restarted:.1f} s after its restart")
    finally:
        cluster.stop(folder)
