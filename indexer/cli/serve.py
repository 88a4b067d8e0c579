"""Serving the web UI."""

from __future__ import annotations

from typing import TYPE_CHECKING

import logging

import click

from indexer.cli import cli
from indexer.cli.edge import EPILOG

if TYPE_CHECKING:
    from indexer.library import Library


@cli.command(epilog=EPILOG)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True)
@click.option("--debug", is_flag=True, help="Reload on code changes and show debug pages.")
@click.pass_obj
def serve(library: Library, host: str, port: int, debug: bool) -> None:
    """Serve the web UI.

    \b
    Example:
      kb serve --port 8000
    """
    from webui import create_app

    # One line per request, as the development server writes them, not as kb's warnings.
    access = logging.getLogger("werkzeug")
    access.setLevel(logging.INFO)
    access.propagate = False
    access.addHandler(logging.StreamHandler())
    app = create_app(library.settings)
    app.run(host=host, port=port, debug=debug, threaded=True)
