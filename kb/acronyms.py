"""Acronyms the content defines itself: "Authority to Operate (ATO)", "the RPA (robotic process automation)".

Members search with either form of a name ("ATO" or "authority to operate") and
expect both kinds of page. Communities write the definition where they first use
an acronym; kb reads those definitions from the items (the usual pattern of
Schwartz and Hearst, 2003: a short form in parentheses after its long form, or
the other way round) so that a query with one form finds the other.

A pair is kept when each letter of the short form starts a word of the long form,
in order, skipping at most a few small words ("of", "to", "and"), and the long
form has no more words than the short form has letters plus those small words.
"""

from __future__ import annotations

import re

from kb.text import fold

# Short forms: 2 to 8 letters or digits, at least two capitals ("ATO", "GA4", "FedRAMP", "PIFs").
_SHORT = r"[A-Z][A-Za-z0-9]{1,7}"
# Long form (SHORT) and SHORT (long form): the long form is taken from at most 10 words before.
# The parenthesis is found first and the words are read back from it: one pattern for both, tried at
# every position, cost about 3 ms a page (a quarter of a full build's time).
_PAREN_SHORT = re.compile(rf"[ \t]\((?P<short>{_SHORT})s?\)")
_WORDS_BEFORE = re.compile(r"(?<![\w'’-])(?:[\w'’-]+[ \t]+){1,10}\Z")
_LOOK_BACK = 400  # characters before a parenthesis where its long form may start
_SHORT_THEN_LONG = re.compile(rf"\b(?P<short>{_SHORT})s?[ \t]+\((?P<long>[\w'’ \t-]{{4,120}})\)")
SMALL_WORDS = frozenset("a an and for in of on the to with by at de des du la le les et".split())
MAX_SMALL = 3


def definitions(text: str) -> set[tuple[str, str]]:
    """(short form, long form) pairs the text defines, the short form upper-cased, the long form lower-cased."""
    found: set[tuple[str, str]] = set()
    for match in _PAREN_SHORT.finditer(text):
        end = match.start() + 1  # after the space before "("
        before = _WORDS_BEFORE.search(text, max(0, end - _LOOK_BACK), end)
        pair = _pair(match.group("short"), before.group().split()) if before else None
        if pair:
            found.add(pair)
    for match in _SHORT_THEN_LONG.finditer(text):
        words = match.group("long").split()
        pair = _pair(match.group("short"), words)
        if pair and len(pair[1].split()) == len(words):  # the whole parenthesis is the long form
            found.add(pair)
    return found


def _pair(short: str, before: list[str]) -> tuple[str, str] | None:
    """The long form among the words `before` the short form, if they spell it (see the module)."""
    if sum(ch.isupper() for ch in short) < 2:
        return None
    letters = [ch for ch in fold(short).lower() if ch.isalpha()]
    if len(letters) < 2:
        return None
    # Walk back from the last word: each letter, last first, must start a word; small words may be skipped.
    words = [part for w in before for part in w.strip("'’-").split("-") if part]
    position, small = len(words), 0
    for letter in reversed(letters):
        while True:
            position -= 1
            if position < 0:
                return None
            word = fold(words[position]).lower()
            if word.startswith(letter):
                break
            if word in SMALL_WORDS and small < MAX_SMALL:
                small += 1
                continue
            return None
    long_words = [fold(w).lower() for w in words[position:]]
    if len(long_words) < 2 or long_words[0] in SMALL_WORDS:
        return None
    return short.upper(), " ".join(long_words)
