"""Serving the web UI."""

from __future__ import annotations

from typing import TYPE_CHECKING

import logging

import click

from indexer.cli import cli
from indexer.cli.edge import EPILOG

if TYPE_CHECKING:
    from indexer.library import Library
    from indexer.watching import Watch


@cli.command(epilog=EPILOG)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True)
@click.option("--debug", is_flag=True, help="Reload on code changes and show debug pages.")
@click.option("--watch", is_flag=True, help="Reindex the files of the content folder as they change (see kb watch).")
@click.pass_obj
def serve(library: Library, host: str, port: int, debug: bool, watch: bool) -> None:
    """Serve the web UI.

    \b
    Examples:
      kb serve --port 8000
      kb serve --watch          # saved files are searchable a moment later
    """
    from webui import create_app

    # One line per request, as the development server writes them, not as kb's warnings.
    access = logging.getLogger("werkzeug")
    access.setLevel(logging.INFO)
    access.propagate = False
    access.addHandler(logging.StreamHandler())
    app = create_app(library.settings)
    watching = start_watch(library) if watch and not is_reloader_parent(debug) else None
    try:
        app.run(host=host, port=port, debug=debug, threaded=True)
    finally:
        if watching is not None:
            watching.stop()


@cli.command(epilog=EPILOG)
@click.pass_obj
def watch(library: Library) -> None:
    """Reindex the files of the content folder as they change, until stopped.

    The kernel says which files changed (inotify), so a quiet folder costs
    nothing and a saved file is read again on its own, without the walk of
    every file a 'kb reindex' does. Folders moved or deleted, the vocabulary
    and the people registry run the ordinary incremental job. Runs take the
    writer lock like any job, at the lower CPU priority of 'kb reindex'
    (KB_REINDEX_NICE); keep a nightly 'kb reindex' from cron as well.

    \b
    Examples:
      kb watch
      kb serve --watch          # the same, beside the web UI
    """
    import threading

    from indexer.workers import lower_priority

    lower_priority(library.settings.reindex_nice)
    watching = start_watch(library)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        watching.stop()


def start_watch(library: Library) -> Watch:
    from indexer.cli.output import print_run
    from indexer.watching import Watch

    watching = Watch(library, reported=lambda summary: print_run(summary, quiet=False)).start()
    # said once the kernel reports changes: a file saved after the message is never missed
    click.echo(f"Watching {library.settings.content} for changes.", err=True)
    return watching


def is_reloader_parent(debug: bool) -> bool:
    """With --debug, Werkzeug runs the app in a child process it restarts; only that child watches."""
    import os

    return debug and os.environ.get("WERKZEUG_RUN_MAIN") != "true"
