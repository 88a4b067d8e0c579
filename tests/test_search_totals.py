"""Totals that mean "matches": enough of the query's words, partial matches apart; every language; acronyms."""

from __future__ import annotations

import json
import re
import unicodedata

import pytest

from indexer import searchlog
from indexer.cli import cli
from indexer.matching import required
from kb.search import SearchRequest
from kb.text import fold
from tests.test_access import log_in, manager_app  # noqa: F401 (fixture)


def run(store, q, **kw):
    return store.search(SearchRequest(q=q, page_size=kw.pop("page_size", 100), **{"role": "manager", **kw}))


def test_the_rule_all_words_for_one_or_two_two_thirds_for_more():
    assert [required(n) for n in range(1, 10)] == [1, 2, 2, 3, 4, 4, 5, 6, 6]


def test_two_words_must_both_match_and_the_rest_are_partial(backend):
    both = run(backend, "budget flexibility")
    assert 0 < both.total < 45  # every word OR-ed, it was 52 of the 64 items
    assert both.partial_total > 0
    kinds = [hit.partial for hit in both.hits]
    assert kinds == sorted(kinds)  # the matches first, then the partial matches
    assert sum(not p for p in kinds) == both.total
    nonsense = run(backend, "budget zzyzxq")
    assert nonsense.total == 0 and nonsense.partial_total > 0 and all(h.partial for h in nonsense.hits)


def test_longer_queries_need_two_thirds_of_their_words(backend):
    two = run(backend, "budget flexibility")
    assert run(backend, "budget flexibility zzyzxq").total == two.total  # 2 of 3 words
    assert run(backend, "budget flexibility zzyzxq qqxzyy").total == 0  # 2 of 4 is not enough
    question = run(backend, "what did the roundtable on strategic purchasing conclude")
    assert 0 < question.total < 40


def test_a_contraction_typed_without_its_apostrophe_is_a_stop_word(backend):
    """"don't" is a stop word; typed "dont" it was a word that no item holds (the index has "don" and "t"),
    so "budget dont" found nothing and every question with "dont" lost its matches."""
    alone = run(backend, "budget")
    assert alone.total > 0
    for typed in ("budget dont", "budget isnt", "why doesnt budget"):
        assert run(backend, typed).total == alone.total, typed


def test_a_need_no_item_covers_finds_almost_nothing(backend):
    result = run(backend, "gender budgeting")
    assert result.total <= 3 and result.partial_total > 30  # 44 results before, all but a few partial


def test_both_counts_in_the_json_api_and_the_cli(client, runner, sample_index, tmp_path):
    data = client.get("/search.json?q=budget+zzyzxq").get_json()
    assert data["total"] == 0 and data["partial_total"] > 0
    assert data["hits"] and {h["match"] for h in data["hits"]} == {"partial"}
    _, index = sample_index
    out = json.loads(runner.invoke(cli, ["--index", str(index), "search", "budget flexibility", "--json"]).stdout)
    assert out["partial_total"] > 0 and out["hits"][0]["match"] == "full"
    queries = tmp_path / "q.jsonl"
    queries.write_text(json.dumps({"id": 1, "text": "budget zzyzxq"}) + "\n")
    line = json.loads(runner.invoke(cli, ["--index", str(index), "search", "--batch", str(queries)]).stdout)
    assert line["total"] == 0 and line["partial_total"] > 0 and line["hits"][0]["match"] == "partial"
    text = runner.invoke(cli, ["--index", str(index), "search", "budget zzyzxq"]).stdout
    assert re.search(r"^0 results for 'budget zzyzxq', and \d+ partial matches", text, re.M)
    assert "Partial matches (some of the words, not enough of them)" in text


def test_the_page_shows_partial_matches_under_their_own_heading(client):
    page = client.get("/search?q=budget+zzyzxq").get_data(as_text=True)
    assert "<strong>0</strong> results" in page and "No item matches enough of your words." in page
    heading = re.search(r'<h2 class="partial-heading" id="partial">(\d+) partial matches</h2>', page)
    assert heading and int(heading[1]) > 0
    assert page.count('class="hit partial"') == 10 and 'class="hit"' not in page


def test_a_search_with_only_partial_matches_is_logged_as_finding_nothing(sample_index, tmp_path):
    from webui import create_app

    content, index = sample_index
    data = tmp_path / "data"
    client = create_app({"TESTING": True, "KB_CONTENT": str(content), "KB_INDEX": str(index),
                         "KB_DATA": str(data)}).test_client()
    client.get("/search?q=budget+zzyzxq")
    report = searchlog.report(data, 30)
    assert [row["query"] for row in report["zero_results"]] == ["budget zzyzxq"]


def test_bulk_tagging_preselects_only_the_matches_with_titles(manager_app, store):
    client = manager_app.test_client()
    log_in(client)
    result = run(store, "budget flexibility")
    page = client.get("/manage/bulk?q=budget+flexibility").get_data(as_text=True)
    ticked = re.findall(r'name="item" value="([^"]+)" checked', page)
    assert sorted(ticked) == sorted(h.item.id for h in result.hits if not h.partial)
    assert all(f">{h.item.title}</span></label>" in page for h in result.hits[:3] if not h.partial)
    none = client.get("/manage/bulk?q=budget+flexibility&select=none").get_data(as_text=True)
    assert not re.findall(r'name="item" value="[^"]+" checked', none)
    assert len(re.findall(r'name="item" value=', none)) == result.total
    assert 'href="/manage/bulk?q=budget+flexibility&amp;select=none">Select none</a>' in page


def accented_words(store):
    """Every word with an accent in the sample's French items, with the items that have it."""
    found: dict[str, set[str]] = {}
    for item in store.all_items(full=True):
        if item.lang != "fr":
            continue
        for word in re.findall(r"\w+", f"{item.title} {item.text}"):
            if word != fold(word) and any(unicodedata.combining(c) for c in unicodedata.normalize("NFD", word)):
                found.setdefault(word, set()).add(item.id)
    return found


@pytest.mark.slow
def test_every_accented_french_word_is_found_without_its_accents(backend):
    from indexer.schema import stop_words

    words = accented_words(backend)
    assert len(words) > 300
    missing = []
    for word, items in sorted(words.items()):
        plain = fold(word)
        if plain in stop_words("fr") or len(plain) < 2:
            continue  # stop words are found by no search, with or without accents
        result = run(backend, plain)
        if not items & {h.item.id for h in result.hits if not h.partial}:
            missing.append(word)
    assert not missing, f"{len(missing)} accented words not found without accents: {missing[:10]}"


def test_highlights_show_the_original_accented_words(backend):
    hit = next(h for h in run(backend, "flexibilite budgetaire").hits if h.item.lang == "fr" and h.snippet)
    assert re.search(r"<mark[^>]*>flexibilité</mark>", hit.snippet, re.I)


@pytest.mark.parametrize("acronym", ["PBF", "pbf", "RBF"])
def test_acronyms_find_their_topics_items_and_say_so(backend, acronym):
    result = run(backend, acronym)
    assert result.total > 0
    assert f"“{acronym}” is a name of the topic Results-based financing: its items are included." in result.messages
    vocabulary = backend.vocabulary()
    labels = [fold(label) for label in vocabulary.topics["results-based-financing"].all_labels()]
    for hit in result.hits:
        tagged = "results-based-financing" in vocabulary.with_ancestors(vocabulary.resolve(hit.item.topics))
        text = fold(backend.get_item(hit.item.id).text + " " + hit.item.title)
        assert tagged or any(re.sub(r"\W+", " ", label) in re.sub(r"\W+", " ", text) for label in labels)


def test_the_json_api_honours_the_page_size(client):
    assert len(client.get("/search.json?q=budget&page_size=3").get_json()["hits"]) == 3
    assert len(client.get("/search.json?q=budget&limit=5").get_json()["hits"]) == 5
    assert len(client.get("/search.json?page_size=100").get_json()["hits"]) == 48  # all an anonymous reader sees
    refused = client.get("/search.json?q=budget&page_size=101")
    assert refused.status_code == 400 and "page_size: must be between 1 and 100" in refused.get_json()["message"]


def test_pagination_has_previous_next_and_gaps(client):
    page = client.get("/search?page_size=4&page=8").get_data(as_text=True)  # 48 public items: 12 pages
    nav = re.search(r'<nav class="pages".*?</nav>', page, re.S)[0]
    shown = re.findall(r">(\d+|…|Previous|Next)<", nav)
    assert shown == ["Previous", "1", "…", "6", "7", "8", "9", "10", "…", "12", "Next"]
    assert 'href="/search?page=7&amp;page_size=4"' in nav and 'href="/search?page=9&amp;page_size=4"' in nav
