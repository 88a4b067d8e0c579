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
