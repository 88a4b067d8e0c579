"""Folding text for comparison: lower case, without accents. The one definition every part uses.

The index folds the words it stores with it, queries are folded the same way,
labels and spelling suggestions compare folded words, and snippets find the
words to highlight with it: `réaffectation`, `Réaffectation` and `reaffectation`
are one word everywhere.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections import Counter
from functools import lru_cache

# Letters that Unicode does not decompose into a base letter and an accent.
_EXTRA = str.maketrans({
    "ø": "o", "đ": "d", "ð": "d", "ł": "l", "ħ": "h", "ı": "i", "ŧ": "t", "ƀ": "b", "ƒ": "f",
    "þ": "th", "æ": "ae", "œ": "oe", "ß": "ss", "ĳ": "ij",
})


@lru_cache(maxsize=65536)
def _fold_word(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return plain.translate(_EXTRA)


def fold(text: str) -> str:
    """Lower case and without accents: "Réaffectation" -> "reaffectation", "Straße" -> "strasse"."""
    if text.isascii():
        return text.lower()
    if len(text) <= 40:  # words, mostly: remembered
        return _fold_word(text)
    return _fold_word.__wrapped__(text)


@lru_cache(maxsize=4096)
def fold_char(ch: str) -> str:
    """`fold` of one character where it gives one character (offsets into a text stay valid), else
    the character lower-cased, else the character itself."""
    for candidate in (fold(ch), ch.lower()):
        if len(candidate) == 1:
            return candidate
    return ch


def best_likeness(word: str, others: set[str]) -> float:
    """The highest difflib ratio between `word` and any of `others` (0 when there are none).

    difflib's own upper bounds (from the lengths, then from the letters the two share) skip the
    words that cannot beat the best so far, as difflib.get_close_matches does; the ratios worked
    out are remembered. A search with no results asks this for every topic's words.
    """
    best = 0.0
    for other in others:
        if 2 * min(len(word), len(other)) / (len(word) + len(other)) <= best:
            continue
        if 2 * sum((_letters(word) & _letters(other)).values()) / (len(word) + len(other)) <= best:
            continue
        best = max(best, _likeness(word, other))
    return best


@lru_cache(maxsize=8192)
def _letters(word: str) -> Counter[str]:
    return Counter(word)


@lru_cache(maxsize=65536)
def _likeness(word: str, other: str) -> float:
    return difflib.SequenceMatcher(None, word, other).ratio()
