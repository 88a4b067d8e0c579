"""Python-Markdown's link patterns, with the end of a link looked for nearby only.

Python-Markdown finds where a link's text ends by walking character by character
from its `[` to the matching `]`, and where its address ends from its `(` to the
matching `)`. When there is none it walks to the end of the paragraph, once for
each of its six link patterns (Python-Markdown issue #798, open since 2019). So a
long paragraph costs its length again for every unmatched `[` (a smiley `:-[`, a
forgotten `]`), and for every link whose address holds a quote, which it takes
for the start of a title (`[loi](https://fr.wikipedia.org/wiki/Loi_d'orientation)`):
a forum post typed with single line breaks, one Markdown paragraph, then takes
seconds to minutes. Here a link's text must close within TEXT_LIMIT characters,
its address and title within TARGET_LIMIT, and neither may nest more than
NESTED_LIMIT brackets; links that fit (all real ones) render exactly as before.
"""

from __future__ import annotations

import re
from typing import Any

from markdown import Extension, Markdown
from markdown.inlinepatterns import (IMAGE_LINK_RE, IMAGE_REFERENCE_RE, LINK_RE, REFERENCE_RE,
                                     ImageInlineProcessor, ImageReferenceInlineProcessor, LinkInlineProcessor,
                                     ReferenceInlineProcessor, ShortImageReferenceInlineProcessor,
                                     ShortReferenceInlineProcessor)

TEXT_LIMIT = 2_000  # characters of a link's text
TARGET_LIMIT = 2_048  # characters of a link's address and title, the parentheses included
NESTED_LIMIT = 64  # brackets inside a link's text, or parentheses inside its address
_PAIRS = {"[]": re.compile(r"[\[\]]"), "()": re.compile(r"[()]")}


def closing(data: str, start: int, stop: int, pair: str = "[]") -> int:
    """Index of the `]` (or `)`) closing the one open just before `start`; -1 if none closes before `stop`."""
    opening, close = pair
    if data.find(close, start, stop) < 0:  # the common failure, found without a loop
        return -1
    depth = 1
    for count, match in enumerate(_PAIRS[pair].finditer(data, start, stop)):
        if count > NESTED_LIMIT:
            return -1
        depth += 1 if match.group() == opening else -1
        if depth == 0:
            return match.start()
    return -1


class _Bounded:
    """getText and getLink of LinkInlineProcessor (Python-Markdown's names), each within a bounded span."""

    def getText(self, data: str, index: int) -> tuple[str, int, bool]:
        end = closing(data, index, min(len(data), index + TEXT_LIMIT))
        if end < 0:
            return "", index, False
        return data[index:end], end + 1, True

    def getLink(self, data: str, index: int) -> tuple[str, str | None, int, bool]:
        window = data[index:index + TARGET_LIMIT]
        end = closing(window, 1, len(window), "()") if window.startswith("(") else -1
        scope = window[:end] if end >= 0 else window
        if not any(char in scope for char in "'\"<"):  # no title, no <address>
            if end < 0:
                return "", None, index, False
            window = window[:end + 1]  # the common case: the address ends at its matching parenthesis
        href, title, end, handled = super().getLink(window, 0)  # type: ignore[misc]
        if end < 0:
            # Python-Markdown's title scan gave up with index -1: its link then runs to the last
            # character of the text. Kept when the window reached the end of the text.
            if index + len(window) < len(data):
                return "", None, index, False
            end += len(window)
        return href, title, index + end, handled


class _Link(_Bounded, LinkInlineProcessor):
    pass


class _Image(_Bounded, ImageInlineProcessor):
    pass


class _Reference(_Bounded, ReferenceInlineProcessor):
    pass


class _ImageReference(_Bounded, ImageReferenceInlineProcessor):
    pass


class _ShortReference(_Bounded, ShortReferenceInlineProcessor):
    pass


class _ShortImageReference(_Bounded, ShortImageReferenceInlineProcessor):
    pass


class BoundedLinks(Extension):
    """Replace Python-Markdown's link patterns (same names, patterns and priorities) with bounded ones."""

    def extendMarkdown(self, md: Markdown) -> None:
        patterns: list[tuple[Any, str, str, int]] = [
            (_Reference, REFERENCE_RE, "reference", 170),
            (_Link, LINK_RE, "link", 160),
            (_Image, IMAGE_LINK_RE, "image_link", 150),
            (_ImageReference, IMAGE_REFERENCE_RE, "image_reference", 140),
            (_ShortReference, REFERENCE_RE, "short_reference", 130),
            (_ShortImageReference, IMAGE_REFERENCE_RE, "short_image_ref", 125),
        ]
        for processor, pattern, name, priority in patterns:
            md.inlinePatterns.register(processor(pattern, md), name, priority)
