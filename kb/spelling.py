"""Spelling suggestions: close words from the index's own words and the vocabulary's labels.

Acronyms, codes and ids (UHC, PBF, covid-19, GH, 2020) are never corrected: a
word is only corrected when it is all lower-case letters (as typed, or once
lower-cased from a capitalised word) and nothing in the index contains it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from kb.text import fold

WORD = re.compile(r"(?<![\w-])[^\W\d_]{3,24}(?![\w-])")
MAX_WORDS_PER_ITEM = 3000
MAX_WEIGHED = 5  # equally close candidates weighed by the query's other words, the most frequent first


def words_of(text: str) -> set[str]:
    """The distinct lower-case words (letters only, 3 to 24 long) of a text, at most a few thousand."""
    found: set[str] = set()
    for match in WORD.finditer(text):
        found.add(match.group().lower())
        if len(found) >= MAX_WORDS_PER_ITEM:
            break
    return found


def correctable(word: str) -> bool:
    """True for an ordinary word; False for acronyms, codes, ids and numbers."""
    if not word.isalpha() or len(word) < 4:
        return False
    return word.islower() or (word[0].isupper() and word[1:].islower())


def max_distance(word: str) -> int:
    return 1 if len(word) <= 5 else 2


def best_correction(word: str, candidates: Iterable[tuple[str, int, int]],
                    together: Callable[[str], float] | None = None) -> str | None:
    """The closest candidate (word, frequency, edit distance to `word`), or None when the word exists.

    Among equally close candidates, the one found most `together` with the query's other words wins
    ("augmented realty": "reality", not the more frequent "really"), then the more frequent.
    """
    close = [(distance, -frequency, candidate) for candidate, frequency, distance in candidates]
    if not close:
        return None
    nearest = min(close)[0]
    if nearest == 0:
        return None  # the word exists: nothing to correct
    tied = sorted((c for c in close if c[0] == nearest), key=lambda c: c[1])[:MAX_WEIGHED]
    if together is None or len(tied) == 1:
        return tied[0][2]
    return max(tied, key=lambda c: (together(c[2]), -c[1]))[2]
