"""Hand-written search cases over the sample community (tests/search_cases.yml)."""

from pathlib import Path

import pytest
import yaml

from kb.search import SearchRequest

CASES = yaml.safe_load((Path(__file__).with_name("search_cases.yml")).read_text(encoding="utf-8"))


def test_there_are_at_least_40_cases():
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c["query"][:50] for c in CASES])
def test_expected_items_are_in_the_top_five(backend, case):
    filters = {name: tuple(values) for name, values in (case.get("filters") or {}).items()}
    result = backend.search(SearchRequest(q=case["query"], filters=filters, page_size=5, role="manager"))
    top = [hit.item.id for hit in result.hits]
    missing = [item_id for item_id in case.get("top5", []) if item_id not in top]
    assert not missing, f"{case['query']!r}: {missing} not in top 5 {top}"
    if "tagged" in case:
        vocabulary = backend.vocabulary()
        wanted = {case["tagged"], *vocabulary.narrower(case["tagged"])}
        assert len(result.hits) == 5
        untagged = [hit.item.id for hit in result.hits if not wanted & set(hit.item.topics)]
        assert not untagged, f"{case['query']!r}: {untagged} are not tagged {case['tagged']}"


# Two words of an item's title, which words alone ranked below another item (the first hit then) before
# the title rule: each item was second to fifth.
TYPED_TITLES = {
    "audit burkina": "discussions/audit-fonds-de-riposte-covid-19-burkina-faso",  # was below a checklist
    "covid-19 faso": "discussions/audit-fonds-de-riposte-covid-19-burkina-faso",
    "fonds contrôle": "discussions/audit-fonds-de-riposte-covid-19-burkina-faso",  # below a glossary
    "working health": "working-group-budget-flexibility",  # below a discussion of co-financing
}


@pytest.mark.parametrize("query", TYPED_TITLES)
def test_an_item_whose_title_holds_every_word_typed_ranks_above_those_whose_title_does_not(backend, query):
    result = backend.search(SearchRequest(q=query, page_size=10, role="manager"))
    top = [hit.item.id for hit in result.hits]
    assert top[0] == TYPED_TITLES[query], f"{query!r}: {top[:5]}"


def test_a_title_that_writes_the_short_form_of_words_typed_in_full_holds_them(backend):
    """The sample's items define UHC as universal health coverage; the pages titled "... the UHC Act" hold
    every word of the query (a persona ranked between them before)."""
    result = backend.search(SearchRequest(q="universal health coverage act", page_size=5, role="manager"))
    top = [hit.item.id for hit in result.hits]
    assert set(top[:2]) == {"one-on-one-2020-philippines-doh", "one-on-ones/philippines-implementing-uhc-act"}, top


@pytest.mark.parametrize("query, wanted", [
    ("notes captation", "webinars/webinar-2020-09-capitation-primary-health-care"),  # "Webinar notes: Capitation ..."
    ("2020 reslts", "surveys/member-needs-survey-2020-results"),  # "... survey 2020: results"
])
def test_misspelt_words_standing_together_in_a_title_count_as_neighbours(backend, query, wanted):
    """The bonus for neighbouring words looks for a misspelt word as corrected: each item was second before."""
    result = backend.search(SearchRequest(q=query, page_size=5, role="manager"))
    assert result.hits[0].item.id == wanted, [hit.item.id for hit in result.hits]


@pytest.mark.parametrize("query, first, then", [
    ("covid budget flexibility", "forum-2020-session-2", "sessions/forum-2020-session-2-notes"),
    ("emergency procurement", "forum-2020-session-4", "sessions/forum-2020-session-4-notes"),
])
def test_of_the_titles_holding_every_word_the_one_a_query_says_most_of_comes_first(backend, query, first, then):
    """"Budget flexibility for the COVID-19 response" (the session) and "Session notes: Budget flexibility for the
    COVID-19 response" both hold the three words; the query says most of the first (3 of its 5 words), less than
    half of the second, which ranked first by its words before."""
    result = backend.search(SearchRequest(q=query, page_size=5, role="manager"))
    assert [hit.item.id for hit in result.hits[:2]] == [first, then], [hit.item.id for hit in result.hits]
