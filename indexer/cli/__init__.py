"""The `kb` command line: one click group, thin commands grouped by what they act on.

    index.py     reindex, rollback, status, check
    search.py    search
    manage.py    tag, log, report, map
    topics.py    topics rename | merge | split
    imports.py   import stackexchange | discourse | mbox | csv
    users.py     user add | list | remove
    serve.py     serve
    output.py    how results, summaries and reports are printed
    edge.py      typed errors to messages and exit codes, in one place

Every command gets the Library (indexer.library) built once from the settings, when it first
uses it. Modules the commands need are imported inside them, and only the invoked command's
module is imported (COMMANDS), so that the command line starts quickly.
"""

from __future__ import annotations

import importlib
import logging
import os
from typing import Any

import click

from indexer.cli.edge import EPILOG, KbGroup, fail
from kb.errors import KbError
from kb.settings import Settings


class CommandsOnDemand(KbGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            importlib.import_module(f"indexer.cli.{COMMANDS[cmd_name]}")
        return super().get_command(ctx, cmd_name)


@click.group(cls=CommandsOnDemand, epilog=EPILOG)
@click.option("--content", metavar="PATH", help="Content folder (env KB_CONTENT; default: content).")
@click.option("--index", metavar="PATH", help="Index folder (env KB_INDEX; default: .kb-index).")
@click.option("--data", metavar="PATH",
              help="Folder for accounts, logs and the session key (env KB_DATA; default: .kb-data).")
@click.version_option(package_name="cop-kb", message="kb %(version)s")
@click.pass_context
def cli(ctx: click.Context, content: str | None, index: str | None, data: str | None) -> None:
    """kb: search and map a community of practice's knowledge.

    Every setting can also be given in the environment (KB_PAGE_SIZE,
    KB_MAX_FILE_BYTES, ... see the README); options win over the environment.

    \b
    Examples:
      kb reindex
      kb search "budget flexibility" --limit 5
      kb --content ~/community check
    """
    logging.basicConfig(level=logging.WARNING, format="warning: %(message)s")
    try:
        settings = Settings.from_mapping(os.environ).replace(content=content, index=index, data=data)
    except KbError as exc:
        fail(exc)
    ctx.obj = LibraryOnDemand(settings)
    ctx.call_on_close(ctx.obj.close)


class LibraryOnDemand:
    """The Library (indexer.library) of the settings, opened when a command first uses more than its
    settings: `kb --help`, usage errors and a reindex that finds nothing to do stay quick, without
    loading the search engine."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._library: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._library is None:
            from indexer.library import Library

            self._library = Library.open(self.settings)
        return getattr(self._library, name)

    def close(self) -> None:
        if self._library is not None:
            self._library.close()


# Which module defines each command. A run imports only the module of the command it
# invokes (`kb --help` imports them all); each module registers its commands on `cli`.
COMMANDS = {"reindex": "index", "rollback": "index", "status": "index", "check": "index", "search": "search",
            "tag": "manage", "log": "manage", "report": "manage", "map": "manage", "people": "people",
            "serve": "serve", "watch": "serve", "topics": "topics", "import": "imports", "user": "users"}


def main() -> None:
    cli(prog_name="kb")
