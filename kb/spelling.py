"""Spelling suggestions: close words from the index's own words and the vocabulary's labels.

Acronyms, codes and ids (UHC, PBF, covid-19, GH, 2020) are never corrected: a
word is only corrected when it is all lower-case letters (as typed, or once
lower-cased from a capitalised word) and nothing in the index contains it.
"""

from __future__ import annotations

import re
from typing import Iterable

from kb.text import fold

WORD = re.compile(r"(?<![\w-])[^\W\d_]{3,24}(?![\w-])")
MAX_WORDS_PER_ITEM = 3000


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


def edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance (adjacent swaps count as one edit), or limit + 1 beyond `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        best = current[0]
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                value = min(value, previous2[j - 2] + 1)
            current[j] = value
            best = min(best, value)
        if best > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def best_correction(word: str, candidates: Iterable[tuple[str, int]]) -> str | None:
    """The closest candidate (word, frequency) within the allowed distance; ties go to the more frequent."""
    target = fold(word)
    limit = max_distance(target)
    best: tuple[int, int, str] | None = None
    for candidate, frequency in candidates:
        folded = fold(candidate)
        if folded == target:
            return None  # the word exists: nothing to correct
        distance = edit_distance(target, folded, limit)
        if distance <= limit and (best is None or (distance, -frequency) < best[:2]):
            best = (distance, -frequency, candidate)
    return best[2] if best else None
