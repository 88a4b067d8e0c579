import datetime as dt

import pytest

from kb.query import Clause, parse_query
from kb.vocabulary import Vocabulary

TODAY = dt.date(2026, 11, 25)
VOCAB = Vocabulary.from_dict({"topics": [
    {"id": "budget-flexibility", "label": "Budget flexibility", "alt_labels": {"fr": ["flexibilité budgétaire"]}},
    {"id": "covid-19-response", "label": "COVID-19 response"},
    {"id": "covid-financing", "label": "COVID financing", "deprecated": True, "replaced_by": "covid-19-response"},
]})


def parse(text):
    return parse_query(text, VOCAB, today=TODAY)


def test_words_phrases_and_negation():
    q = parse('strategic "budget flexibility" -ghana -"fee for service"')
    assert q.clauses == (
        Clause("word", "strategic"), Clause("phrase", "budget flexibility"),
        Clause("word", "ghana", True), Clause("phrase", "fee for service", True),
    )
    assert q.free_text == "strategic budget flexibility"
    assert q.messages == ()


def test_field_filters_or_within_and_exclusions():
    q = parse("topic:budget-flexibility type:Document type:discussion country:gh -topic:covid-19-response")
    assert q.filters == {"topic": ("budget-flexibility",), "type": ("document", "discussion"), "country": ("GH",)}
    assert q.exclude == {"topic": ("covid-19-response",)}
    assert q.clauses == ()


def test_topic_by_label_and_deprecated_topic():
    q = parse('topic:"flexibilité budgétaire" topic:covid-financing')
    assert q.filters == {"topic": ("budget-flexibility", "covid-19-response")}
    assert "deprecated" in q.messages[0]


def test_unknown_topic_is_reported_and_dropped():
    q = parse("budget topic:nonsense")
    assert q.filters == {}
    assert q.messages == ("topic:nonsense is not a topic in the vocabulary; that filter was ignored.",)
    assert q.clauses == (Clause("word", "budget"),)


def test_unknown_operator_becomes_words():
    q = parse("colour:blue budget")
    assert [c.text for c in q.clauses] == ["colour", "blue", "budget"]
    assert q.messages == ("colour: is not a search operator; searched for the words instead.",)


def test_urls_are_not_operators():
    q = parse("https://example.org/page")
    assert q.clauses == (Clause("word", "https://example.org/page"),) and q.messages == ()


@pytest.mark.parametrize("text, after, before", [
    ("after:2020-06-01", dt.date(2020, 6, 1), None),
    ("after:2020-06", dt.date(2020, 6, 1), None),
    ("before:2021", None, dt.date(2021, 1, 1)),
    ("after:30d", TODAY - dt.timedelta(days=30), None),
    ("after:6m", dt.date(2026, 5, 25), None),
    ("before:1y", None, dt.date(2025, 11, 25)),
    ("after:2w", TODAY - dt.timedelta(weeks=2), None),
])
def test_dates(text, after, before):
    q = parse(text)
    assert (q.after, q.before) == (after, before)
    assert q.messages == ()


def test_bad_date_says_what_was_understood():
    q = parse("budget before:2020-13-45")
    assert q.before is None
    assert "before:2020-13-45 is not a date" in q.messages[0]
    assert q.clauses == (Clause("word", "budget"),)


def test_unbalanced_quote():
    q = parse('"budget flexibility')
    assert "quote is not closed" in q.messages[0]
    assert [c.text for c in q.clauses] == ["budget", "flexibility"]


def test_in_title_and_prefix():
    q = parse("in:title capitat* a*")
    assert q.title_only
    assert q.clauses[0] == Clause("prefix", "capitat")
    assert q.clauses[1] == Clause("word", "a")
    assert "at least 3 letters" in q.messages[0]


def test_boolean_words_and_parentheses_are_not_searched():
    q = parse("(budget OR flexibility) AND ghana")
    assert [c.text for c in q.clauses] == ["budget", "flexibility", "ghana"]


def test_empty_and_year():
    assert parse("").is_empty
    q = parse("year:2020 year:20x")
    assert q.filters == {"year": ("2020",)}
    assert "year:20x" in q.messages[0]


def test_negated_group_excludes_everything_inside():
    q = parse("capitation -(ghana OR kenya topic:covid-19-response) (budget)")
    assert [(c.text, c.negated) for c in q.clauses] == [
        ("capitation", False), ("ghana", True), ("kenya", True), ("budget", False)]
    assert q.exclude == {"topic": ("covid-19-response",)}
    unbalanced = parse("-(ghana kenya")
    assert all(c.negated for c in unbalanced.clauses)
