"""Typed errors; the CLI (indexer/cli/edge.py: exit codes) and the web app (webui/errors.py: HTTP
statuses) each translate them in one table at their edge."""

from kb.notes import Note


class KbError(Exception):
    """Base class of every error kb reports to a user."""


class ConfigError(KbError):
    """A setting, option or path is missing or invalid."""


class ContentError(KbError):
    """A content file cannot be read as an item."""

    def __init__(self, path: str, reason: str):
        super().__init__(Note("%(path)s: %(reason)s", path=path, reason=reason))
        self.path = path
        self.reason = reason


class VocabularyError(KbError):
    """The vocabulary file is malformed."""


class QueryError(KbError):
    """A request (a search, a tag edit) has a parameter or value that cannot be used."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field  # the parameter or form field at fault, when one is


class IndexMissingError(KbError):
    """No index has been built yet at the configured location."""


class IndexLockedError(KbError):
    """Another process is writing the index."""


class NotFoundError(KbError):
    """An item, topic or activity id does not exist."""


class ValidationError(KbError):
    """A new index failed its checks; the previous one keeps serving."""


class ConflictError(KbError):
    """A file changed since it was read; the change was not written."""


class StorageError(KbError):
    """A file kb keeps (the audit log, accounts, the index) cannot be written: a full disk, a read-only folder."""
