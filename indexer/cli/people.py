"""Who can help: people ranked by what they did on a topic."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from indexer.cli import cli
from indexer.cli.edge import EPILOG
from indexer.cli.output import as_json

if TYPE_CHECKING:
    from indexer.library import Library


@cli.command(epilog=EPILOG)
@click.option("--topic", "topic_id", required=True, metavar="ID", help="The topic (its narrower topics count too).")
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--as", "role", type=click.Choice(("anonymous", "member", "manager")), default="manager",
              show_default=True, help="Count only what this role may see.")
@click.option("--json", "json_output", is_flag=True, help="Print the ranking as JSON.")
@click.pass_obj
def people(library: Library, topic_id: str, limit: int, role: str, json_output: bool) -> None:
    """Who can help with a topic: people ranked by the activities they took part in and the items
    they wrote or spoke in on it and its narrower topics.

    \b
    Example:
      kb people --topic budget-flexibility
    """
    from kb.access import Viewer
    from kb.errors import QueryError

    vocabulary = library.vocabulary()
    if topic_id not in vocabulary.topics:
        raise QueryError(f"--topic: {topic_id!r} is not a topic in the vocabulary")
    found = library.who_can_help(topic_id, Viewer(role), limit)
    if json_output:
        as_json({"topic": topic_id, "people": [{"id": c.person_id, "name": c.name, "activities": c.activities,
                                                "items": c.items} for c in found]})
        return
    for c in found:
        click.echo(f"{c.name:<28} {c.activities:>3} activities {c.items:>4} items  {c.person_id}")
