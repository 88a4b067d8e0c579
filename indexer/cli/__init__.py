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

Every command gets the Library (indexer.library) built once from the settings. Modules
the commands need are imported inside them, so that the command line starts quickly.
"""

from __future__ import annotations

import logging
import os

import click

from indexer.cli.edge import EPILOG, KbGroup, fail
from kb.errors import KbError
from kb.settings import Settings


@click.group(cls=KbGroup, epilog=EPILOG)
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
    # Imported here: `kb --help` and usage errors stay quick, without loading the search engine.
    from indexer.library import Library

    ctx.obj = Library.open(settings)
    ctx.call_on_close(ctx.obj.close)


# The commands register themselves on `cli` when their modules are imported.
import indexer.cli.imports  # noqa: E402,F401
import indexer.cli.index  # noqa: E402,F401
import indexer.cli.manage  # noqa: E402,F401
import indexer.cli.people  # noqa: E402,F401
import indexer.cli.search  # noqa: E402,F401
import indexer.cli.serve  # noqa: E402,F401
import indexer.cli.topics  # noqa: E402,F401
import indexer.cli.users  # noqa: E402,F401


def main() -> None:
    cli(prog_name="kb")
