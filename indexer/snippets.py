"""Highlighted snippets: the passages of an item's text where the query's words occur.

Whoosh's highlighter runs the whole analyser chain over every token of every hit,
which cost most of a search page's time on long items (about 1 ms per 1,000
words). Here a regular expression first finds the words that could match (those
starting like a query stem), and only those are stemmed and compared. The text
shown is always the original text, HTML-escaped, with matches in <mark>.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_right
from functools import lru_cache

from indexer.blockcache import numpy
from indexer.schema import SnowballStem, LANGUAGES
from kb.text import fold_char

_WORD = re.compile(r"\w+")
_WORD_CHAR = re.compile(r"\w")


@lru_cache(maxsize=8)
def _stemmer(lang: str) -> SnowballStem:
    return SnowballStem(LANGUAGES.get(lang, "english"))


def snippet(text: str, lang: str, stems: set[str], prefixes: set[str] = frozenset(), chars: int = 220,
            fragments: int = 2) -> str:
    """Return up to `fragments` passages of about `chars` characters with matched words marked.

    `stems` are the query's terms as indexed for `lang`; `prefixes` come from queries like capit*.
    """
    if not (stems or prefixes) or not text:
        return ""
    stem = _stemmer(lang)
    starts = {s[: max(3, len(s) - 2)] for s in stems} | set(prefixes)
    ordered = sorted(starts, key=len, reverse=True)
    # letters the index joined (A/B -> ab) are found with their "/" or "&"
    joined = ["[/&]".join(s) + r"\b" for s in stems if 2 <= len(s) <= 4 and s.isascii() and s.isalpha()]
    # No \b before the alternatives: a pattern that starts with its words' letters lets the regular
    # expression engine skip to those letters (a quarter of the scan's time). A candidate that starts
    # inside a word is left out, and the search goes on after that word's letters.
    candidates = re.compile("|".join(joined + [re.escape(p) + r"\w*" for p in ordered]))
    folded = fold_keeping_length(text)  # offsets into it are offsets into the text
    matches: list[tuple[int, int, str]] = []
    at = 0
    while (found := candidates.search(folded, at)) is not None:
        start = found.start()
        if start and _WORD_CHAR.match(folded, start - 1):
            letters = _WORD.match(folded, start)
            at = letters.end() if letters else start + 1
            continue
        at = found.end()
        word = found.group()
        if not word.isalnum() and ("/" in word or "&" in word):
            word = word.replace("/", "").replace("&", "")
        root = stem(word)  # the index stems folded words: so does this
        if root in stems or word in stems:
            matches.append((found.start(), found.end(), root))
        elif any(word.startswith(p) for p in prefixes):
            matches.append((found.start(), found.end(), next(p for p in prefixes if word.startswith(p))))
    if not matches:
        return ""
    windows = best_windows(matches, chars, fragments)
    order = {root: n for n, root in enumerate(dict.fromkeys(m[2] for m in matches))}
    return " … ".join(render(text, start, end, matches, order) for start, end in windows)


def fold_keeping_length(text: str) -> str:
    """The text folded character by character (kb.text.fold_char), so that offsets into it are offsets
    into the text. Only the characters that are not ASCII are folded one by one, found with numpy: a
    regular expression splitting the text around them took a third of a snippet's time (a page holds
    a dozen curly quotes and dashes; French about one letter in ten)."""
    if text.isascii():
        return text.lower()
    codes = numpy().frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")  # (JSON may hold lone ones)
    parts, last = [], 0
    for at in (codes > 127).nonzero()[0].tolist():
        parts.append(text[last:at].lower())
        parts.append(fold_char(text[at]))
        last = at + 1
    parts.append(text[last:].lower())
    return "".join(parts)


def best_windows(matches: list[tuple[int, int, str]], chars: int, count: int) -> list[tuple[int, int]]:
    """Pick non-overlapping windows that hold the most distinct matched words, in text order."""
    scored = []
    ends = [m[1] for m in matches]  # in order, as the matches (found left to right, not overlapping)
    for index, (start, _, _) in enumerate(matches):
        inside = matches[index:bisect_right(ends, start + chars, index)]
        scored.append((len({m[2] for m in inside}), len(inside), -start, start))
    scored.sort(reverse=True)
    chosen: list[tuple[int, int]] = []
    for _, _, _, start in scored:
        begin = max(0, start - chars // 4)
        end = begin + chars
        if all(end <= a or begin >= b for a, b in chosen):
            chosen.append((begin, end))
        if len(chosen) == count:
            break
    return sorted(chosen)


def render(text: str, begin: int, end: int, matches: list[tuple[int, int, str]], order: dict[str, int]) -> str:
    """Escape text[begin:end], widened to word boundaries, with matches wrapped in <mark>."""
    while begin > 0 and not text[begin - 1].isspace():
        begin -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    parts, cursor = [], begin
    for start, stop, root in matches:
        if start < begin or stop > end:
            continue
        parts.append(html.escape(text[cursor:start]))
        parts.append(f'<mark class="match term{order[root]}">{html.escape(text[start:stop])}</mark>')
        cursor = stop
    parts.append(html.escape(text[cursor:end]))
    return "".join(parts).strip()
