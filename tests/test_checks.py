from kb.checks import check_items
from kb.item import Item
from kb.vocabulary import Vocabulary

V = Vocabulary.from_dict({
    "topics": [{"id": "a", "label": "A"}, {"id": "old", "label": "Old", "deprecated": True, "replaced_by": "a"}],
    "activity_kinds": ["roundtable"],
})


def test_check_reports_each_problem_with_path():
    items = [
        Item(id="rt", title="RT", type="activity", kind="roundtable", topics=("a",), path="rt.md"),
        Item(id="n1", title="N1", topics=("a", "nope"), activities=("rt", "missing"), path="n1.md"),
        Item(id="n2", title="N2", topics=("old",), activities=("n1",), path="n2.md"),
        Item(id="n3", title="N3", path="n3.md"),
        Item(id="act", title="Act", type="activity", kind="party", topics=("a",), path="act.md"),
    ]
    lines = [str(p) for p in check_items(items, V)]
    assert lines == [
        "act.md: warning: kind: 'party' is not an activity kind (roundtable)",
        "n1.md: error: activities: 'missing' is not the id of any item",
        "n1.md: error: topics: 'nope' is not in the vocabulary",
        "n2.md: warning: activities: 'n1' is a document, not an activity",
        "n2.md: warning: topics: 'old' is deprecated; use 'a'",
        "n3.md: warning: topics: no topics; the item is missing from topic pages and the content map",
    ]


def test_no_vocabulary_means_no_topic_checks():
    assert check_items([Item(id="x", title="X", topics=("anything",), path="x.md")], Vocabulary()) == []


def test_tagging_queue_lists_every_reason():
    import datetime as dt

    items = [
        Item(id="act", title="Act", type="activity", kind="roundtable", topics=("a",), date=dt.date(2020, 1, 1)),
        Item(id="ok", title="OK", topics=("a",), activities=("act",), date=dt.date(2020, 1, 1)),
        Item(id="bad", title="Bad", topics=("nope", "old"), activities=("ghost",)),
        Item(id="bare", title="Bare", date=dt.date(2020, 1, 1)),
    ]
    from kb.checks import tagging_queue

    queue = {a.item.id: a.reasons for a in tagging_queue(items, V)}
    assert set(queue) == {"bad", "bare"}
    assert queue["bad"] == ("unknown topic nope", "deprecated topic old (use a)", "no date", "links to missing ghost")
    assert queue["bare"] == ("no topics", "no activity")


def test_staleness_by_review_date_and_age_relative_to_newest_content():
    import datetime as dt

    from kb.checks import staleness

    items = [
        Item(id="due", title="Due", date=dt.date(2024, 1, 1), extra={"review_by": "2024-06-30"}),
        Item(id="old", title="Old", topics=("a",), date=dt.date(2022, 1, 1)),
        Item(id="new", title="New", topics=("a",), date=dt.date(2024, 3, 1)),
        Item(id="quiet", title="Quiet", topics=("b",), date=dt.date(2021, 1, 1)),
    ]
    found = {a.item.id: a.reasons for a in staleness(items, today=dt.date(2025, 1, 1))}
    assert found["due"] == ("review was due 2024-06-30",)
    assert found["old"] == ("from 2022-01-01; a have content from the last 6 months",)
    assert "quiet" not in found and "new" not in found  # topic b has nothing newer: not flagged
