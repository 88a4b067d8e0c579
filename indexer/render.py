"""Markdown to sanitised HTML, and HTML to plain text for the index.

Rendering must stay linear in the size of a file: one hostile file must not
hold a reindex job for minutes. Python-Markdown's link patterns get bounded
scans (indexer.mdlinks); a body whose shape Python-Markdown still needs far
more than linear time for (a paragraph made of tens of thousands of markup
characters, a run of unclosed tags at the end) is rendered as plain paragraphs
instead, with a warning saying why.
"""

from __future__ import annotations

import html as htmllib
import re
import threading

import markdown
import nh3

from indexer.mdinline import QuickInlinePass
from indexer.mdlinks import BoundedLinks

# Hugo shortcodes ({{< ref "x" >}}, {{% note %}}) are site-template syntax, not content.
_SHORTCODE_OPEN = re.compile(r"\{\{[<%]")
_SHORTCODE_CLOSE = re.compile(r"[%>]\}\}")
_BLOCK_END = re.compile(r"(</(?:p|div|li|td|th|tr|h[1-6]|blockquote|pre|table|ul|ol|dd|dt|section|article)>|<br\s*/?>)", re.I)
_local = threading.local()

# Python-Markdown's inline pass tries each of its patterns at every markup character of a
# paragraph and rebuilds the paragraph's text after every match: about 0.1 ms per markup
# character, plus the paragraph's length for each. Real paragraphs have a few hundred.
MARKUP = "[<*_`&\\"
MARKUP_LIMIT = 10_000  # markup characters in one paragraph
MARKUP_COST_LIMIT = 2_000_000_000  # markup characters times the paragraph's length
# Python's html.parser before 3.11.13 (gh-135462) reads every `<tag` left unclosed at the end of a
# file again up to the end: the count of such tags times the length of that tail.
TAIL_TAGS_COST_LIMIT = 20_000_000
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_TAG_START = re.compile(r"<[A-Za-z]")


def strip_shortcodes(text: str) -> str:
    """Remove template shortcodes, keeping any text between paired ones."""
    # Each `{{<` or `{{%` runs to the first `>}}` or `%}}` after it. A regular expression
    # (`{{[<%].*?[%>]}}`) would search to the end again for every opening left unclosed.
    kept = []
    position = 0
    while (opening := _SHORTCODE_OPEN.search(text, position)) is not None:
        closing = _SHORTCODE_CLOSE.search(text, opening.end())
        if closing is None:
            break  # nothing after this opening closes, so nothing closes any later opening either
        kept.append(text[position:opening.start()])
        position = closing.end()
    kept.append(text[position:])
    return "".join(kept)


def too_costly(text: str) -> str:
    """Why Python-Markdown would need far more than linear time for `text`; '' when it would not."""
    for paragraph in _PARAGRAPH_BREAK.split(text):
        if len(paragraph) <= MARKUP_LIMIT:
            continue
        count = sum(paragraph.count(char) for char in MARKUP)
        limit = min(MARKUP_LIMIT, MARKUP_COST_LIMIT // len(paragraph))
        if count > limit:
            return (f"a paragraph of {len(paragraph):,} characters has {count:,} Markdown markup characters "
                    f"({' '.join(MARKUP)}); the limit is {limit:,}")
    tail = text[text.rfind(">") + 1:]
    tags = len(_TAG_START.findall(tail))
    if tags * len(tail) > TAIL_TAGS_COST_LIMIT:
        return f"{tags:,} HTML tags are left unclosed (no '>') in the last {len(tail):,} characters"
    return ""


def plain_html(text: str) -> str:
    """Text as escaped paragraphs, split at blank lines."""
    return "\n".join(f"<p>{htmllib.escape(p.strip())}</p>" for p in _PARAGRAPH_BREAK.split(text) if p.strip())


def render_body(text: str) -> tuple[str, list[str]]:
    """Render Markdown to safe HTML; return it with warnings (a body too costly to render stays plain text)."""
    text = strip_shortcodes(text)
    reason = too_costly(text)
    if reason:
        return plain_html(text), [f"rendered as plain text: {reason}"]
    # Building a Markdown converter costs as much as converting a page, so keep one per thread.
    converter = getattr(_local, "markdown", None)
    if converter is None:
        converter = _local.markdown = markdown.Markdown(
            extensions=["extra", "sane_lists", BoundedLinks(), QuickInlinePass()], output_format="html")
    return sanitise_html(converter.reset().convert(text)), []


def render_markdown(text: str) -> str:
    """Render Markdown to HTML with scripts, event handlers and unsafe URLs removed."""
    return render_body(text)[0]


def sanitise_html(raw: str) -> str:
    """Keep only safe tags and attributes (no script, style, on* handlers, javascript: URLs)."""
    return nh3.clean(raw, link_rel="noopener noreferrer nofollow")


def html_to_text(html: str) -> str:
    """Return the visible text of HTML as one line of words."""
    spaced = _BLOCK_END.sub(r"\1 ", html)
    text = htmllib.unescape(nh3.clean(spaced, tags=set()))
    return " ".join(text.split())
