"""Notes for people (what a search did with a query, why something was refused) that can be translated.

A Note is the English sentence itself, so the CLI, the JSON API and the logs use it as any string;
it also keeps its message template and values, so the web interface shows it in the page's language
from the catalogues (`pybabel extract` finds the templates through the `Note` keyword).
"""

from __future__ import annotations

from typing import Any


class Note(str):
    """An English sentence made from `template % values`, that remembers both."""

    template: str
    values: dict[str, Any]
    plural: str = ""  # the plural form of a counted note (plural_note); `values["num"]` is its count

    def __new__(cls, template: str, **values: Any) -> Note:
        note = super().__new__(cls, template % values if values else template)
        note.template = template
        note.values = values
        return note

    def __reduce__(self) -> tuple[Any, ...]:  # cached results are pickled between processes
        return (_rebuild, (self.template, self.plural, self.values))


def plural_note(singular: str, plural: str, num: int, **values: Any) -> Note:
    """A counted note ("1 persona", "3 personas"): its values include `num`, the count."""
    note = Note(singular if num == 1 else plural, num=num, **values)
    note.template, note.plural = singular, plural
    return note


def message_of(exc: BaseException) -> str:
    """What an error says: its Note when it was raised with one (so a page can translate it), else its text."""
    return exc.args[0] if exc.args and isinstance(exc.args[0], Note) else str(exc)


def _rebuild(template: str, plural: str, values: dict[str, Any]) -> Note:
    if plural:
        return plural_note(template, plural, **values)
    return Note(template, **values)
