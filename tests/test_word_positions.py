"""An item's words are found in one pass when it is indexed (indexer.schema.WordPositions), with the
postings Whoosh's analyser chain gives: the same words, frequencies, weights and positions."""

from __future__ import annotations

import pickle

import pytest
from whoosh import formats

from indexer import schema
from indexer.content import load_content
from indexer.schema import LANGUAGES, WordPositions, build_schema, item_document, text_analyzer, text_field
from conftest import ROOT, SHARED_DATA

TEXTS = [
    "",
    "the and of",
    "The budget: flexibility in health financing, and the budget again.",
    "a b c budget",  # the first word kept comes after three dropped: its position is 3
    "Éducation à la santé, FLEXIBILITÉ budgétaire; Œuvre naïve, São Paulo, Ñandú",
    "A/B tests, Q&A sessions and R&D: a/b/c, x&y&z, AT&T",
    "ΟΔΟΣ ΣΟΦΟΣ and İstanbul, straße, ﬁnance, ½ and ² and 3.5 and v1.2.3 and snake_case",
    "covid-19 PBF RBF 2020 e-mail e.g. U.S.A. don't",
    "word " * 50 + "other " * 3,
    " ".join(f"w{n}" for n in range(5000)) + " budget",  # words found once, past the positions kept encoded
]


def chain(lang: str, text: str) -> list:
    return list(formats.Positions().word_values(text, text_analyzer(lang), mode="index"))


def one_pass(lang: str, text: str) -> list:
    return list(WordPositions(lang).word_values(text, text_analyzer(lang), mode="index"))


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
@pytest.mark.parametrize("text", TEXTS)
def test_crafted_texts_give_the_postings_of_whooshs_chain(lang, text):
    assert one_pass(lang, text) == chain(lang, text)


def test_the_text_fields_find_their_words_in_one_pass_and_queries_keep_the_chain():
    built = build_schema()
    for lang in LANGUAGES:
        field = built[text_field(lang)]
        assert isinstance(field.format, WordPositions) and field.format.lang == lang
    # a query's words go through the analyser chain as before (process_text, not word_values)
    field = built[text_field("fr")]
    assert [t.text for t in field.analyzer("Les flexibilités budgétaires", mode="query")] == ["le", "flexibilit", "budgetair"]
    assert pickle.loads(pickle.dumps(built))[text_field("es")].format == field.format.__class__("es")


def test_indexing_an_item_does_not_run_the_analyser_chain(monkeypatch):
    calls = []
    real = schema.FoldFilter.__call__

    def counted(self, tokens):
        calls.append(1)
        return real(self, tokens)

    monkeypatch.setattr(schema.FoldFilter, "__call__", counted)
    built = build_schema()
    postings = list(built[text_field("en")].index("Budget flexibility in health"))
    assert [p[0] for p in postings] == [b"budget", b"flexibl", b"health"]
    assert calls == []


def test_the_sample_communitys_items_give_the_postings_of_whooshs_chain():
    content = load_content(ROOT / "content", workers=1)
    assert len(content.items) >= 60
    for item in content.items:
        document = item_document(item, content.vocabulary, ())
        for name in (f"title_{item.lang}", text_field(item.lang)):
            lang = item.lang if item.lang in LANGUAGES else "en"
            assert one_pass(lang, document[name]) == chain(lang, document[name]), (item.id, name)


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED_DATA / "digitalgov").is_dir(), reason="../shared/data/digitalgov is not present")
def test_digitalgovs_pages_give_the_postings_of_whooshs_chain():
    content = load_content(SHARED_DATA / "digitalgov" / "content", workers=2)
    items = content.items[::4]
    assert len(items) > 900
    differ = [item.id for item in items
              if one_pass("en", schema.ranked_text(item)) != chain("en", schema.ranked_text(item))]
    assert differ == []
