"""Markdown to sanitised HTML, and HTML to plain text for the index."""

from __future__ import annotations

import html as htmllib
import re
import threading

import markdown
import nh3

# Hugo shortcodes ({{< ref "x" >}}, {{% note %}}) are site-template syntax, not content.
_SHORTCODE = re.compile(r"\{\{[<%].*?[%>]\}\}", re.DOTALL)
_BLOCK_END = re.compile(r"(</(?:p|div|li|td|th|tr|h[1-6]|blockquote|pre|table|ul|ol|dd|dt|section|article)>|<br\s*/?>)", re.I)
_EXTENSIONS = ["extra", "sane_lists"]
_local = threading.local()


def strip_shortcodes(text: str) -> str:
    """Remove template shortcodes, keeping any text between paired ones."""
    return _SHORTCODE.sub("", text)


def render_markdown(text: str) -> str:
    """Render Markdown to HTML with scripts, event handlers and unsafe URLs removed."""
    # Building a Markdown converter costs as much as converting a page, so keep one per thread.
    converter = getattr(_local, "markdown", None)
    if converter is None:
        converter = _local.markdown = markdown.Markdown(extensions=_EXTENSIONS, output_format="html")
    raw = converter.reset().convert(strip_shortcodes(text))
    return sanitise_html(raw)


def sanitise_html(raw: str) -> str:
    """Keep only safe tags and attributes (no script, style, on* handlers, javascript: URLs)."""
    return nh3.clean(raw, link_rel="noopener noreferrer nofollow")


def html_to_text(html: str) -> str:
    """Return the visible text of HTML as one line of words."""
    spaced = _BLOCK_END.sub(r"\1 ", html)
    text = htmllib.unescape(nh3.clean(spaced, tags=set()))
    return " ".join(text.split())
