import pytest

from indexer.words import close
from kb.spelling import best_correction, correctable, words_of
from kb.text import fold


@pytest.mark.parametrize("a, b, distance", [
    ("capitation", "capitaton", 1), ("payment", "paymnet", 1), ("emergency", "emergancy", 1),
    ("provider", "provder", 1), ("reaffectation", "réaffectation", 0), ("budget", "budegt", 1),
])
def test_edit_distance_counts_swaps_as_one_and_folds_accents(a, b, distance):
    assert close(fold(a), [(b, 1)]) == [(b, 1, distance)]


def test_words_past_the_allowed_distance_are_not_close():
    assert close("capitation", [("procurement", 9), ("capitalism", 5)]) == []  # 3 and 3 edits
    assert close("pay", [("pan", 2), ("pat", 3)]) == [("pan", 2, 1), ("pat", 3, 1)]


@pytest.mark.parametrize("word, ok", [
    ("capitaton", True), ("Capitaton", True), ("UHC", False), ("PBF", False), ("covid-19", False),
    ("GH", False), ("2020", False), ("abc", False), ("iPhone", False),
])
def test_only_ordinary_words_are_corrected(word, ok):
    assert correctable(word) is ok


def test_best_correction_prefers_close_then_frequent():
    candidates = [("capitation", 10, 1), ("capitalism", 50, 2), ("captain", 3, 2)]
    assert best_correction("capitaton", candidates) == "capitation"
    assert best_correction("capitation", [("capitation", 10, 0), *candidates[1:]]) is None  # exists
    assert best_correction("zzzzzz", []) is None
    assert best_correction("realty", [("really", 90, 1), ("reality", 20, 1), ("realm", 99, 2)]) == "really"


def test_among_equally_close_words_the_one_found_with_the_other_words_wins():
    together = {"really": 0.1, "reality": 0.6, "realm": 0.9}
    candidates = [("really", 90, 1), ("reality", 20, 1), ("realm", 99, 2)]
    assert best_correction("realty", candidates, together.get) == "reality"  # realm is further away


def test_accents_fold_in_comparisons():
    assert fold("Política") == "politica"
    assert best_correction("reaffectation", close("reaffectation", [("réaffectation", 2)])) is None


def test_words_of_keeps_letters_only():
    assert words_of("Budget 2020: covid-19 and Réaffectation, UHC ok") == {"budget", "and", "réaffectation", "uhc"}


@pytest.mark.slow
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
