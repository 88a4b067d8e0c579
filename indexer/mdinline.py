"""Python-Markdown's inline pass, trying on each text only the patterns it could match.

Python-Markdown tries every inline pattern (code, escapes, footnotes, the six link patterns,
autolinks, line breaks, HTML, entities, emphasis) on every text of a page: a regular expression
search and several Python calls each, for a paragraph with no markup at all as for one full of it.
That was about a quarter of rendering the corpus's pages. Each of those patterns needs a character
that the text must hold for its expression to match (every link a "[", emphasis a "*" or "_", HTML
a "<"), so a pattern is skipped on a text without it: the page is the same, made sooner.

The skip is only for the patterns named here, of the classes named here (Python-Markdown's own, and
indexer.mdlinks' bounded links); any other pattern an extension adds is always tried.
`tests/test_mdinline.py` compares the output with Python-Markdown's own pass.
"""

from __future__ import annotations

from typing import Any

from markdown import Extension, Markdown, util
from markdown.treeprocessors import InlineProcessor

# (pattern's name, its class's name): strings one of which a text must contain for the pattern to match
NEEDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("backtick", "BacktickInlineProcessor"): ("`",),
    ("escape", "EscapeInlineProcessor"): ("\\",),
    ("footnote", "FootnoteInlineProcessor"): ("[",),
    ("reference", "_Reference"): ("[",),
    ("link", "_Link"): ("[",),
    ("image_link", "_Image"): ("[",),
    ("image_reference", "_ImageReference"): ("[",),
    ("short_reference", "_ShortReference"): ("[",),
    ("short_image_ref", "_ShortImageReference"): ("[",),
    ("autolink", "AutolinkInlineProcessor"): ("<",),
    ("automail", "AutomailInlineProcessor"): ("<",),
    ("linebreak", "SubstituteTagInlineProcessor"): ("  \n",),
    ("html", "HtmlInlineProcessor"): ("<",),
    ("entity", "HtmlInlineProcessor"): ("&",),
    ("em_strong", "DelimiterProcessor"): ("*", "_"),
}


class QuickInline(InlineProcessor):
    """Python-Markdown's InlineProcessor, passing over the patterns a text lacks the characters of."""

    needs: list[tuple[str, ...] | None] = []

    def run(self, tree: Any, ancestors: list[str] | None = None) -> Any:
        patterns = self.inlinePatterns
        self.needs = [None] * len(patterns)
        for (name, kind), strings in NEEDS.items():
            if name in patterns and type(patterns[name]).__name__ == kind:
                self.needs[patterns.get_index_for_name(name)] = strings
        return super().run(tree, ancestors)

    # Python-Markdown's own loop (InlineProcessor.__handleInline, 3.11), with the skip added.
    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:  # noqa: N802, N803
        if isinstance(data, util.AtomicString):
            return data
        start = 0
        count = len(self.inlinePatterns)
        while patternIndex < count:
            needed = self.needs[patternIndex]
            if needed is not None and not holds(data, needed):
                patternIndex += 1
                start = 0  # as after a pattern that did not match
                continue
            data, matched, start = self._InlineProcessor__applyPattern(  # type: ignore[attr-defined]
                self.inlinePatterns[patternIndex], data, patternIndex, start)
            if not matched:
                patternIndex += 1
        return data


def holds(data: str, strings: tuple[str, ...]) -> bool:
    for string in strings:
        if string in data:
            return True
    return False


class QuickInlinePass(Extension):
    """Replaces Python-Markdown's inline pass with QuickInline (same name, same priority)."""

    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 - Python-Markdown's name
        md.treeprocessors.register(QuickInline(md), "inline", 20)
