import pytest
import yaml

from kb.errors import VocabularyError
from kb.vocabulary import Vocabulary, normalise_label


def vocab(topics, **more):
    return Vocabulary.from_dict({"topics": topics, **more})


def test_sample_vocabulary_loads_with_hierarchy_and_labels(sample):
    v = Vocabulary.from_dict(yaml.safe_load((sample / "vocabulary.yml").read_text()))
    assert len(v.topics) >= 20
    assert "provider-payment" in v.narrower("strategic-purchasing")
    assert "results-based-financing" in v.narrower("health-financing")  # grandchildren too
    assert v.ancestors("results-based-financing") == ["provider-payment", "strategic-purchasing", "health-financing"]
    assert v.topics["covid-financing"].deprecated
    assert "roundtable" in v.kinds
    assert v.topics["budget-flexibility"].label_in("fr") == "Flexibilité budgétaire"  # its `labels: {fr: ...}`


def test_labels_match_in_any_language_without_accents():
    v = vocab([
        {"id": "health-financing", "label": "Health financing", "alt_labels": {"fr": ["financement de la santé"]}},
        {"id": "uhc", "label": "Universal health coverage", "alt_labels": {"en": ["UHC"], "fr": ["CSU"]}},
    ])
    found = v.match_labels("Le financement de la sante et la CSU")
    assert ("financement de la sante", "health-financing") in found
    assert ("csu", "uhc") in found


def test_deprecated_labels_point_to_their_replacement():
    v = vocab([{"id": "new", "label": "New"}, {"id": "old", "label": "Old name", "deprecated": True, "replaced_by": "new"}])
    assert v.match_labels("old name") == [("old name", "new")]


def test_with_ancestors_adds_broader_topics_once():
    v = vocab([{"id": "a", "label": "A"}, {"id": "b", "label": "B", "broader": "a"}, {"id": "c", "label": "C", "broader": "b"}])
    assert v.with_ancestors(["c", "b"]) == ("c", "b", "a")


@pytest.mark.parametrize("data, message", [
    ({"topics": [{"id": "a", "label": "A"}, {"id": "a", "label": "A2"}]}, "topics[1]: duplicate topic id 'a'"),
    ({"topics": [{"id": "a", "label": "A", "broader": "zz"}]}, "topic 'a': broader 'zz' is not a topic id"),
    ({"topics": [{"id": "a", "label": "A", "broader": "b"}, {"id": "b", "label": "B", "broader": "a"}]}, "form a cycle"),
    ({"topics": [{"id": "a"}]}, "topics[0] (a): missing 'label'"),
    ({"topics": [{"label": "A"}]}, "topics[0]: missing 'id'"),
    ({"topics": [{"id": "Bad Id", "label": "A"}]}, "must be lower-case"),
    ({"topics": [{"id": "a", "label": "A", "priority": "urgent"}]}, "priority 'urgent' is not one of high, medium, low"),
    ({"topics": "a, b"}, "topics: expected a list"),
    (["a"], "expected a mapping"),
    ({"topics": [{"id": "a", "label": "A", "alt_labels": 5}]}, "alt_labels: expected a mapping"),
])
def test_invalid_vocabularies_name_the_problem(data, message):
    with pytest.raises(VocabularyError) as err:
        Vocabulary.from_dict(data, source="vocabulary.yml")
    assert message in str(err.value)
    assert str(err.value).startswith("vocabulary.yml")


def test_round_trip_to_dict(sample):
    v = Vocabulary.from_dict(yaml.safe_load((sample / "vocabulary.yml").read_text()))
    again = Vocabulary.from_dict(v.to_dict())
    assert again.topics == v.topics and again.kinds == v.kinds
    assert again.topics["budget-flexibility"].alt_labels == v.topics["budget-flexibility"].alt_labels


def test_normalise_label():
    assert normalise_label("Flexibilité  Budgétaire!") == "flexibilite budgetaire"


def test_labels_translate_a_label_and_a_bad_one_is_named():
    v = Vocabulary.from_dict({"topics": [{"id": "a", "label": "Health", "labels": {"fr": "Santé"},
                                          "alt_labels": {"fr": ["soins"]}}],
                              "types": [{"id": "note", "label": "Note", "labels": {"es": "Nota"}}]})
    assert v.label("a", "fr") == "Santé" and v.label("a", "es") == "Health" and v.label("a") == "Health"
    assert v.type_label("note", "es") == "Nota" and v.type_label("note", "fr") == "Note"
    assert "Santé" in v.topics["a"].all_labels()  # search finds the topic by its translation too
    assert Vocabulary.from_dict(v.to_dict()).label("a", "fr") == "Santé"
    with pytest.raises(VocabularyError) as err:
        Vocabulary.from_dict({"topics": [{"id": "a", "label": "Health", "labels": ["Santé"]}]})
    assert "topics[0] (a): labels" in str(err.value)
