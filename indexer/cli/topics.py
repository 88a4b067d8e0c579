"""Vocabulary topics: rename, merge and split, in the vocabulary and every tagged file."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sys
from typing import Any

import click

from indexer.cli import cli
from indexer.cli.edge import EPILOG
from kb.errors import QueryError

if TYPE_CHECKING:
    from indexer.library import Library


@cli.group(epilog=EPILOG)
def topics() -> None:
    """Rename, merge and split vocabulary topics, in the vocabulary and every tagged file.

    \b
    Examples:
      kb topics rename results-based-financing performance-based-financing --dry-run
      kb topics merge covid-financing covid-19-response
      kb topics split health-taxes --into tobacco-taxes="Tobacco taxes" --into sugar-taxes="Sugar taxes"
    """


def run_topics(library: Library, operation: str, source: str, dry_run: bool, who: str, **options: Any) -> None:
    plan = library.plan_topics(operation, source, **options)
    for line in plan.summary:
        click.echo(line + ".")
    click.echo(f"{plan.vocabulary_file}: updated")
    for edit in plan.edits:
        before, after = edit.changes["topics"]
        click.echo(f"{edit.path}: topics: {before} -> {after}")
    for path, reason in plan.refused:
        click.echo(f"{path}: not changed: {reason}", err=True)
    if dry_run:
        click.echo(f"Dry run: {len(plan.edits)} files and the vocabulary would change; nothing written.")
        return
    planned = len(plan.refused)
    skipped = library.apply_topics(plan, who=who)
    for path, reason in plan.refused[planned:]:  # files that could not be written after all
        click.echo(f"{path}: not changed: {reason}", err=True)
    click.echo(f"Written: the vocabulary and {len(plan.edits) - len(plan.refused[planned:])} files; reindexed.")
    if skipped:
        click.echo(f"{len(skipped)} files were not changed (see above); fix them and tag them by hand.", err=True)
        sys.exit(1)


def topic_options(command: Any) -> Any:
    command = click.option("--who", envvar="USER", default="cli", show_default=True,
                           help="Name written to the audit log.")(command)
    return click.option("--dry-run", is_flag=True, help="List every file that would change; write nothing.")(command)


@topics.command("rename", epilog=EPILOG)
@click.argument("old")
@click.argument("new")
@click.option("--label", default="", help="A new preferred label (the old one is kept as an alternative).")
@topic_options
@click.pass_obj
def topics_rename(library: Library, old: str, new: str, label: str, dry_run: bool, who: str) -> None:
    """Give a topic a new id (and label); OLD stays as a deprecated alias.

    \b
    Example:
      kb topics rename results-based-financing performance-based-financing --label "Performance-based financing"
    """
    run_topics(library, "rename", old, dry_run, who, target=new, label=label)


@topics.command("merge", epilog=EPILOG)
@click.argument("source")
@click.argument("target")
@topic_options
@click.pass_obj
def topics_merge(library: Library, source: str, target: str, dry_run: bool, who: str) -> None:
    """Merge SOURCE into TARGET: items move to TARGET, SOURCE's labels become TARGET's alternative labels.

    \b
    Example:
      kb topics merge covid-financing covid-19-response --dry-run
    """
    run_topics(library, "merge", source, dry_run, who, target=target)


@topics.command("split", epilog=EPILOG)
@click.argument("source")
@click.option("--into", "parts", multiple=True, required=True, metavar='ID="LABEL"',
              help="A new topic (repeat, at least twice).")
@topic_options
@click.pass_obj
def topics_split(library: Library, source: str, parts: tuple[str, ...], dry_run: bool, who: str) -> None:
    """Split SOURCE into new topics; each item gets those whose labels its text mentions (all if none).

    \b
    Example:
      kb topics split health-taxes --into tobacco-taxes="Tobacco taxes" --into sugar-taxes="Sugar taxes"
    """
    pairs = []
    for part in parts:
        part_id, sep, part_label = part.partition("=")
        if not sep or not part_id or not part_label:
            raise QueryError(f"--into {part!r}: expected ID=LABEL")
        pairs.append((part_id.strip(), part_label.strip()))
    run_topics(library, "split", source, dry_run, who, parts=pairs)
