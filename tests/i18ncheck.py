"""What the interface says that no catalogue translates: text written straight into a template,
and messages of the code (`_()`/`gettext()` in webui and kb) that a catalogue lacks.

    python tests/i18ncheck.py            # lists both; exit 1 if there is any
"""

from __future__ import annotations

import re
import sys
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po
from jinja2 import Environment

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "webui" / "templates"
TRANSLATIONS = ROOT / "webui" / "translations"
MASK = " "  # a space keeps a tag whole: <li{% if x %} class="on"{% endif %}> still parses as a tag
# Attributes a member reads or hears; the others (href, class, name, id ...) are for the machine.
SPOKEN_ATTRIBUTES = {"placeholder", "aria-label", "title", "alt", "aria-description", "aria-roledescription"}
NOT_WORDS = {"kb"}  # the product's name
# The keywords `make translations` gives pybabel: lazy messages (_l) and kb.notes.Note.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "Note": None, "plural_note": (1, 2)}
LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


def masked_template(source: str) -> str:
    """The template with every Jinja tag, expression, comment and {% trans %} block replaced by MASK."""
    env = Environment(extensions=["jinja2.ext.i18n"])
    out: list[str] = []
    depth = 0  # inside {% trans %} ... {% endtrans %}
    in_block, block_words = False, []
    for _, token, value in env.lex(source):
        if token == "block_begin":
            in_block, block_words = True, []
        elif token == "block_end":
            in_block = False
            if block_words[:1] == ["trans"]:
                depth += 1
            elif block_words[:1] == ["endtrans"]:
                depth -= 1
        elif in_block and token == "name":
            block_words.append(value)
        if token == "data" and depth == 0:
            out.append(value)
        elif not out or out[-1] != MASK:
            out.append(MASK)
    return "".join(out)


# What is typed as it is (query syntax in the search help) is not translated.
LITERAL_TAGS = {"code", "kbd", "samp"}


class _Words(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.literal = 0

    def handle_endtag(self, tag: str) -> None:
        if tag in LITERAL_TAGS and self.literal:
            self.literal -= 1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in LITERAL_TAGS:
            self.literal += 1
        for name, value in attrs:
            if name in SPOKEN_ATTRIBUTES or (tag == "input" and name == "value" and ("type", "submit") in attrs):
                self._check(value or "")

    def handle_data(self, data: str) -> None:
        if not self.literal:
            self._check(data)

    def _check(self, text: str) -> None:
        words = [w for w in text.split() if LETTER.search(w) and w.lower() not in NOT_WORDS]
        if words:
            self.found.append(" ".join(words))


def bare_text(path: Path) -> list[str]:
    """Text of a template that reaches the page without going through a catalogue."""
    parser = _Words()
    parser.feed(masked_template(path.read_text(encoding="utf-8")))
    parser.close()
    return parser.found


@cache
def code_messages() -> frozenset[str]:
    """Every message the templates and the code mark for translation (singular and plural forms)."""
    method_map = [("webui/**.py", "python"), ("kb/**.py", "python"), ("indexer/**.py", "python"), ("webui/templates/**.html", "jinja2")]
    options = {"webui/templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}
    found: set[str] = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map=options, keywords=KEYWORDS):
        for text in (message if isinstance(message, tuple) else (message,)):
            if text:
                found.add(text)
    return frozenset(found)


def catalogue_gaps(code: str) -> list[str]:
    """Messages of the code that the language's catalogue lacks, has empty or marks fuzzy."""
    with open(TRANSLATIONS / code / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalogue = read_po(handle)
    done: set[str] = set()
    for message in catalogue:
        if not message.id or message.fuzzy:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if all(strings):
            done.update(message.id if isinstance(message.id, tuple) else (message.id,))
    return sorted(code_messages() - done)


def languages() -> list[str]:
    return sorted(p.name for p in TRANSLATIONS.iterdir() if (p / "LC_MESSAGES" / "messages.po").exists())


if __name__ == "__main__":
    bad = 0
    for template in sorted(TEMPLATES.glob("*.html")):
        for text in bare_text(template):
            bad += 1
            print(f"{template.relative_to(ROOT)}: not translated: {text!r}")
    for code in languages():
        for message in catalogue_gaps(code):
            bad += 1
            print(f"{code}: missing from the catalogue: {message!r}")
    sys.exit(1 if bad else 0)
