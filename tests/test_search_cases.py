"""Hand-written search cases over the sample community (tests/search_cases.yml)."""

from pathlib import Path

import pytest
import yaml

from indexer.searching import search
from kb.search import SearchRequest

CASES = yaml.safe_load((Path(__file__).with_name("search_cases.yml")).read_text(encoding="utf-8"))


def test_there_are_at_least_40_cases():
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c["query"][:50] for c in CASES])
def test_expected_items_are_in_the_top_five(store, case):
    filters = {name: tuple(values) for name, values in (case.get("filters") or {}).items()}
    result = search(store, SearchRequest(q=case["query"], filters=filters, page_size=5, role="manager"))
    top = [hit.item.id for hit in result.hits]
    missing = [item_id for item_id in case.get("top5", []) if item_id not in top]
    assert not missing, f"{case['query']!r}: {missing} not in top 5 {top}"
    if "tagged" in case:
        vocabulary = store.generation().vocabulary
        wanted = {case["tagged"], *vocabulary.narrower(case["tagged"])}
        assert len(result.hits) == 5
        untagged = [hit.item.id for hit in result.hits if not wanted & set(hit.item.topics)]
        assert not untagged, f"{case['query']!r}: {untagged} are not tagged {case['tagged']}"
