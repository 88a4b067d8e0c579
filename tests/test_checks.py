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
