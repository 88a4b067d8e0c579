"""Snippets mark whole words that start where a word starts, whatever letters come before them."""

import re

from indexer.snippets import snippet

MARKED = re.compile(r"<mark[^>]*>(.*?)</mark>")


def marked(text: str, stems: set[str], prefixes: set[str] = frozenset(), lang: str = "en") -> list[str]:
    return MARKED.findall(snippet(text, lang, stems, prefixes, chars=400))


def test_a_word_is_marked_only_where_a_word_starts():
    assert marked("unbudgeted lines, then the budget itself", {"budget"}) == ["budget"]
    assert marked("improve the programme", {"program"}, {"pro"}) == ["programme"]
    assert marked("Éducation et santé", {"educ", "sant"}, lang="fr") == ["Éducation", "santé"]


def test_letters_joined_by_a_slash_inside_a_word_hide_no_word_after_them():
    """"xa/b/c": "a/b" starts inside "xa", so it is not marked, and "b/c", which starts after the slash,
    still is (the search goes on after the letters of the word it left out)."""
    assert marked("xa/b/c and ab", {"ab", "bc"}) == ["b/c", "ab"]
    assert marked("Q&A, q&a and xq&a", {"qa"}) == ["Q&amp;A", "q&amp;a"]


def test_folding_keeps_every_offset_and_folds_each_character_as_kb_text_does():
    """Snippets fold a page character by character so that offsets stay valid: every character as
    kb.text.fold_char folds it, whether the page holds a few characters outside ASCII or many, and a
    lone surrogate (which a JSON string may hold) too."""
    import random

    from indexer.snippets import fold_keeping_length
    from kb.text import fold_char

    rng = random.Random(3)
    alphabet = "abcXYZ 09,.-/&" + "éÉàçœßİıøŁ’“”–…" + "\u0301\u00a0中文😀\ud800"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        folded = fold_keeping_length(text)
        assert folded == "".join(fold_char(ch) for ch in text) and len(folded) == len(text)
    assert fold_keeping_length("Réaffectation “Budget” İstanbul") == "reaffectation “budget” istanbul"
    assert marked("Budget \ud800 rules", {"budget"}) == ["Budget"]
