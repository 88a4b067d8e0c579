"""The known-item lookups of bench/eval.py: enough of them, of each kind, each aimed at a real page."""

import json
from collections import Counter
from pathlib import Path

import pytest

from indexer.content import load_content
from tests.conftest import SHARED_DATA

DIGITALGOV = SHARED_DATA / "digitalgov" / "content"
KNOWN_ITEMS = Path(__file__).resolve().parents[1] / "bench" / "known_items.jsonl"
KINDS = {"paraphrase", "partial-title", "misspelling", "acronym", "question"}


@pytest.mark.slow
@pytest.mark.skipif(not DIGITALGOV.is_dir(), reason="../shared/data/digitalgov is not present")
def test_known_items_are_member_lookups_of_pages_kb_reads():
    lookups = [json.loads(line) for line in KNOWN_ITEMS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(lookups) >= 80
    assert len({q["id"] for q in lookups}) == len(lookups)
    kinds = Counter(q["kind"] for q in lookups)
    assert set(kinds) == KINDS, kinds
    assert all(2 <= len(q["text"].split()) <= 12 for q in lookups)

    titles = {item.id: item.title for item in load_content(DIGITALGOV, workers=2).items}
    missing = [q["target"] for q in lookups if q["target"] not in titles]
    assert not missing
    copied = [q["id"] for q in lookups if q["text"].casefold() == titles[q["target"]].casefold()]
    assert not copied  # a lookup is how a member remembers the page, not its title
