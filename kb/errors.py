"""Typed errors; the CLI and the web app translate them at their edges."""


class KbError(Exception):
    """Base class of every error kb reports to a user."""

    exit_code = 2


class ConfigError(KbError):
    """A setting, option or path is missing or invalid."""

    exit_code = 2


class ContentError(KbError):
    """A content file cannot be read as an item."""

    exit_code = 1

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class VocabularyError(KbError):
    """The vocabulary file is malformed."""

    exit_code = 2


class QueryError(KbError):
    """A request (a search, a tag edit) has a parameter or value that cannot be used."""

    exit_code = 2

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field  # the parameter or form field at fault, when one is


class IndexMissingError(KbError):
    """No index has been built yet at the configured location."""

    exit_code = 2


class IndexLockedError(KbError):
    """Another process is writing the index."""

    exit_code = 3


class NotFoundError(KbError):
    """An item, topic or activity id does not exist."""

    exit_code = 2


class ValidationError(KbError):
    """A new index failed its checks; the previous one keeps serving."""

    exit_code = 4


class ConflictError(KbError):
    """A file changed since it was read; the change was not written."""

    exit_code = 1


class StorageError(KbError):
    """A file kb keeps (the audit log, accounts, the index) cannot be written: a full disk, a read-only folder."""

    exit_code = 2
