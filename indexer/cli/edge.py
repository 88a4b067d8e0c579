"""The one place where the command line turns errors into messages and exit codes.

    0  success
    1  some files failed (the rest were indexed), `kb check` found errors, a batch line was bad,
       a change was refused because its file changed
    2  usage or configuration error (bad option, missing index or content folder, disk full)
    3  the index is locked by another writer
    4  a new index failed its checks; the previous one still serves
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click

from kb.errors import ConflictError, ContentError, IndexLockedError, KbError, ValidationError

EPILOG = ("Exit codes: 0 ok, 1 some files failed or problems found, 2 usage or configuration error, "
          "3 index locked by another writer, 4 new index failed its checks (the old one still serves).")
# The first class an error is an instance of gives its exit code; every other KbError exits 2.
EXIT_CODES: tuple[tuple[type[KbError], int], ...] = (
    (ContentError, 1),
    (ConflictError, 1),
    (IndexLockedError, 3),
    (ValidationError, 4),
)


def exit_code(exc: KbError) -> int:
    return next((code for kind, code in EXIT_CODES if isinstance(exc, kind)), 2)


def fail(exc: KbError) -> NoReturn:
    """Stop the command with the error's message ("Error: ...") and its exit code."""
    error = click.ClickException(str(exc))
    error.exit_code = exit_code(exc)
    raise error from None


def stdout_closed() -> bool:
    """Whether the reader of our output has gone (a pipe whose other end is closed reports an error)."""
    try:
        import select

        poll = select.poll()  # not on Windows: there any broken pipe is taken for our output's
        poll.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poll.poll(0))
    except (AttributeError, OSError, ValueError):
        return True


class KbGroup(click.Group):
    """The `kb` group: whatever a command raises is reported here, never as a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KbError as exc:
            fail(exc)
        except BrokenPipeError as exc:
            if stdout_closed():  # output piped into `head` and the like: stop quietly
                sys.stderr.close()
                sys.exit(1)
            error = click.ClickException(f"a pipe to a helper process closed: {exc}")
            error.exit_code = 2
            raise error from None
        except OSError as exc:
            error = click.ClickException(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
            error.exit_code = 2
            raise error from None
