"""Form errors: a KbError from a form's work comes back as its page again, the message beside the field.

Unexpected errors are not form errors and still reach the error page (500).
"""

from __future__ import annotations

from dataclasses import dataclass

from kb.errors import ConflictError, ContentError, IndexLockedError, KbError, QueryError, VocabularyError
from kb.notes import message_of

# What a form's work may raise because of what was typed or of what changed meanwhile.
FORM_ERRORS = (QueryError, VocabularyError, ConflictError, ContentError, IndexLockedError)


@dataclass(frozen=True)
class FormError:
    """A message for one form of a page, and for one of its fields (None: the whole form)."""

    message: str
    status: int
    form: str
    field: str | None = None
    fix: tuple[str, tuple[tuple[str, str], ...]] | None = None  # (button text, form fields) that would work

    @property
    def id(self) -> str:
        """The element id of the message, for aria-describedby."""
        return f"{self.form}-{self.field}-error" if self.field else f"{self.form}-error"

    def concerns(self, form: str, field: str | None = None) -> bool:
        return self.form == form and self.field == field


def status_of(exc: KbError) -> int:
    """400 for bad input, 409 when something changed or is busy meanwhile, 422 for a file that cannot be edited."""
    if isinstance(exc, (ConflictError, IndexLockedError)):
        return 409
    if isinstance(exc, ContentError):
        return 422
    return 400


def form_error(exc: KbError, form: str, fields: tuple[str, ...] = (), field: str | None = None) -> FormError:
    """The FormError for `exc` raised by `form`; the field is the error's own when the form has it."""
    named = getattr(exc, "field", None)
    chosen = named if named in fields else field if field in fields else None
    return FormError(message_of(exc), status_of(exc), form, chosen)
