"""The inline pass that tries on each text only the patterns it could match (indexer.mdinline) renders
exactly what Python-Markdown's own pass renders, on crafted markup and on real pages."""

from __future__ import annotations

from pathlib import Path

import markdown
import pytest
from markdown.treeprocessors import InlineProcessor

from indexer import render
from indexer.mdinline import NEEDS, QuickInline
from indexer.mdlinks import BoundedLinks
from indexer.textfiles import ContentError, split_front_matter
from conftest import ROOT, SHARED_DATA

SAMPLES = [
    "A plain paragraph with no markup at all, over\ntwo lines.",
    "Some `code`, a \\*kept star\\*, *em*, _em_, **strong**, __strong__ and ***both***.",
    "A [link](https://example.org \"title\") and ![an image](pic.png), [a reference][r], [r] and ![r].\n\n"
    "[r]: https://example.org/r",
    "A footnote[^1] and an autolink <https://example.org/a?b=c>, a mail <someone@example.org>.\n\n[^1]: The note.",
    "A line that breaks  \nhere, <span class=\"x\">inline HTML</span>, &amp; &#233; &#xE9; &copy; and a & alone.",
    "*emphasis with a [link](x) inside* and [a link with *emphasis*](y) and `code with *no* emphasis`.",
    "| table | with *em* |\n|---|---|\n| [cell](z) | a_b_c |\n\n- item *one*\n- item <b>two</b>",
    "snake_case_words and 2*3*4 and a lone [ bracket and a lone ` backtick and <not a tag.",
    "<div markdown=\"1\">A *block* of HTML with [Markdown](m) inside.</div>\n\nAfter it.",
    "Term\n:   A definition with `code`.\n\n*[HTML]: Hyper Text Markup Language\n\nSome HTML here.",
]


def python_markdown(text: str) -> str:
    """The page as Python-Markdown's own inline pass renders it, everything else as render_body does."""
    converter = markdown.Markdown(extensions=["extra", "sane_lists", BoundedLinks()], output_format="html")
    assert type(converter.treeprocessors["inline"]) is InlineProcessor
    return render.sanitise_html(converter.convert(render.strip_shortcodes(text)))


def test_the_quick_pass_is_the_one_pages_are_rendered_with():
    render.render_body("x")
    assert type(render._local.markdown.treeprocessors["inline"]) is QuickInline


@pytest.mark.parametrize("text", SAMPLES)
def test_crafted_markup_renders_as_python_markdown_renders_it(text):
    assert render.render_body(text)[0] == python_markdown(text)


def test_every_pattern_it_may_skip_is_registered_under_the_class_named():
    converter = markdown.Markdown(extensions=["extra", "sane_lists", BoundedLinks()], output_format="html")
    for name, kind in NEEDS:
        assert type(converter.inlinePatterns[name]).__name__ == kind, name


def test_a_text_without_markup_is_tried_against_no_pattern(monkeypatch):
    tried = []
    apply = InlineProcessor._InlineProcessor__applyPattern

    def counting(self, pattern, *args):
        tried.append(pattern)
        return apply(self, pattern, *args)

    monkeypatch.setattr(InlineProcessor, "_InlineProcessor__applyPattern", counting)
    render._local.markdown = None  # a converter built here, with the counting
    html = render.render_body("A plain paragraph, with no markup at all.")[0]
    assert html == "<p>A plain paragraph, with no markup at all.</p>"
    assert tried == []
    # a link is tried against the patterns of "[" until one takes it; none after needs a "["
    render.render_body("A paragraph with a [link](x).")
    assert [type(p).__name__ for p in tried] == ["FootnoteInlineProcessor", "_Reference", "_Link"]


def bodies(folder: Path, step: int = 1) -> list[tuple[str, str]]:
    found = []
    for path in sorted(folder.rglob("*.md"))[::step]:
        try:
            found.append((str(path), split_front_matter(path.name, path.read_text(encoding="utf-8"))[1]))
        except (ContentError, UnicodeDecodeError):
            continue  # the readers report these; the rendering is what is compared here
    return found


def test_the_sample_communitys_pages_render_as_python_markdown_renders_them():
    pages = bodies(ROOT / "content")
    assert len(pages) >= 60
    for path, body in pages:
        assert render.render_body(body)[0] == python_markdown(body), path


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED_DATA / "digitalgov").is_dir(), reason="../shared/data/digitalgov is not present")
def test_digitalgovs_pages_render_as_python_markdown_renders_them():
    pages = bodies(SHARED_DATA / "digitalgov" / "content", step=3)
    assert len(pages) > 1000
    differ = [path for path, body in pages if render.render_body(body)[0] != python_markdown(body)]
    assert differ == []
