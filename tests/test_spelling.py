import pytest

from kb.spelling import best_correction, correctable, edit_distance, words_of
from kb.text import fold


@pytest.mark.parametrize("a, b, distance", [
    ("capitation", "capitaton", 1), ("payment", "paymnet", 1), ("budget", "budget", 0),
    ("emergency", "emergancy", 1), ("provider", "provder", 1), ("abc", "xyz", 3),
])
def test_edit_distance_counts_swaps_as_one(a, b, distance):
    assert edit_distance(a, b, 5) == distance


def test_edit_distance_stops_past_the_limit():
    assert edit_distance("capitation", "procurement", 2) == 3


@pytest.mark.parametrize("word, ok", [
    ("capitaton", True), ("Capitaton", True), ("UHC", False), ("PBF", False), ("covid-19", False),
    ("GH", False), ("2020", False), ("abc", False), ("iPhone", False),
])
def test_only_ordinary_words_are_corrected(word, ok):
    assert correctable(word) is ok


def test_best_correction_prefers_close_then_frequent():
    candidates = [("capitation", 10), ("capitalism", 50), ("captain", 3)]
    assert best_correction("capitaton", candidates) == "capitation"
    assert best_correction("capitation", candidates) is None  # exists: nothing to correct
    assert best_correction("zzzzzz", candidates) is None
    assert best_correction("payments", [("payment", 5), ("payment", 1)]) == "payment"


def test_accents_fold_in_comparisons():
    assert fold("Política") == "politica"
    assert best_correction("reaffectation", [("réaffectation", 2)]) is None


def test_words_of_keeps_letters_only():
    assert words_of("Budget 2020: covid-19 and Réaffectation, UHC ok") == {"budget", "and", "réaffectation", "uhc"}


def test_a_long_question_full_of_typos_corrects_a_few_words_only(store):
    """Spelling work is bounded: a pasted question of typos does not spend seconds on "did you mean"."""
    from indexer.corrections import MAX_CORRECTED
    from indexer.searching import search
    from kb.search import SearchRequest

    typos = ["budgte", "flexibilty", "hospitl", "paymnet", "capitaton", "emergancy", "provder", "ministy",
             "finanse", "reallocaton", "purchasng", "insurence", "treasuary", "spendng", "dashbord"]
    result = search(store, SearchRequest(q=" ".join(typos * 20)))
    note = next(m for m in result.messages if m.startswith("No item contains"))
    assert note.split(";")[0].count("“") == MAX_CORRECTED == 8
    assert result.hits  # matches or, with 15 words of which 8 corrected, partial matches


def test_stop_words_of_a_question_are_not_taken_for_misspellings(backend):
    """No item holds "should", "before" or "more" (stop words are not indexed): the search must not
    offer "showed", "become" or "move" for them (it did for 22 of the English stop words)."""
    from kb.search import SearchRequest

    result = backend.search(SearchRequest(q="what should ministries change before capitation is more flexible"))
    assert result.total and not [m for m in result.messages if m.startswith("No item contains")]
    assert not result.suggestion
