"""Commands that act on the index: reindex, rollback, status, check."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sys

import click

from indexer.cli import cli
from indexer.cli.edge import EPILOG
from indexer.cli.output import TerminalProgress, as_json, print_run, print_status

if TYPE_CHECKING:
    from indexer.library import Library


@cli.command(epilog=EPILOG)
@click.option("--full", is_flag=True, help="Rebuild from scratch into a new generation, then switch to it.")
@click.option("--dry-run", is_flag=True, help="Only say what would change.")
@click.option("--force", is_flag=True, help="Accept a run that removes more items than --max-drop allows.")
@click.option("--max-drop", type=click.FloatRange(0, 100), default=20, show_default=True,
              help="Refuse (exit 4) a run that would remove more than this percentage of the items.")
@click.option("--min-items", type=click.IntRange(min=0), default=1, show_default=True,
              help="Refuse (exit 4) a full rebuild with fewer items.")
@click.option("--wait", type=click.FloatRange(min=0), default=0, show_default=True,
              help="Seconds to wait for another writer before exiting with code 3.")
@click.option("--json", "json_output", is_flag=True, help="Print the summary as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary line (errors still print).")
@click.pass_obj
def reindex(library: Library, full: bool, dry_run: bool, force: bool, max_drop: float, min_items: int,
            wait: float, json_output: bool, quiet: bool) -> None:
    """Bring the search index up to date with the content folder.

    Incremental by default: only files whose content changed are read again,
    deleted files are removed, and nothing is written when nothing changed.
    --full builds a new index generation beside the serving one, checks it
    (item count, drop against the serving index, canary lookups) and switches
    to it in one step; the previous generation is kept for 'kb rollback'.
    Searches keep working throughout, and a job killed at any point leaves
    the last good index serving; the next run finishes the work. The job
    runs at a lower CPU priority (KB_REINDEX_NICE), so that searches served
    on the same machine come first.

    \b
    Examples:
      kb reindex
      kb reindex --full --json
      kb reindex --dry-run
      kb reindex --wait 60 --quiet      # from cron
    """
    from indexer.reindex import Guards
    from indexer.workers import lower_priority

    lower_priority(library.settings.reindex_nice)
    bar = TerminalProgress(enabled=not (quiet or json_output))
    guards = Guards(min_items=min_items, max_drop=max_drop / 100, force=force)
    if library.settings.backend != "whoosh":
        summary = library.reindex(full=full, dry_run=dry_run, guards=guards, wait=wait, progress=bar)
    elif full or dry_run:
        summary = warming(library).reindex(full=full, dry_run=dry_run, guards=guards, wait=wait, progress=bar)
    else:  # most runs find nothing to do: that is decided before the search engine is loaded
        from indexer.unchanged import reindex_unless_unchanged

        summary = reindex_unless_unchanged(
            library.settings, lambda stale, seen: warming(library).reindex_looked(stale, seen, guards=guards,
                                                                                 progress=bar),
            wait)
    if json_output:
        as_json(summary.to_dict(paths=dry_run))
    else:
        print_run(summary, quiet)
    if summary.failed:
        sys.exit(1)


def warming(library: Library) -> Library:
    """The library of a run that ranks the searches asked lately before the web workers move to its commit or
    generation (KB_REINDEX_WARM, indexer.warming): they are other processes, unlike the watch of kb serve."""
    library.backend.warm_seconds = library.settings.reindex_warm
    library.backend.refresh_seconds = library.settings.readers_refresh
    return library


@cli.command(epilog=EPILOG)
@click.option("--wait", type=click.FloatRange(min=0), default=0, show_default=True,
              help="Seconds to wait for another writer.")
@click.pass_obj
def rollback(library: Library, wait: float) -> None:
    """Serve the previous index generation again.

    The generation replaced by the last full rebuild is kept on disk; this
    switches searches back to it in one step. Run 'kb reindex' afterwards to
    bring it up to date with the content folder.

    \b
    Example:
      kb rollback
    """
    click.echo(f"Now serving generation {library.rollback(wait=wait)}.")


@cli.command(epilog=EPILOG)
@click.option("--json", "json_output", is_flag=True, help="Print the status as JSON.")
@click.pass_obj
def status(library: Library, json_output: bool) -> None:
    """Show which index generation serves, its size, the last run and any lock holder.

    Exits 2 when there is no index yet.

    \b
    Example:
      kb status --json
    """
    info = library.status()
    if json_output:
        as_json(info)
    else:
        print_status(info)
    if info["generation"] is None:
        sys.exit(2)


@cli.command(epilog=EPILOG)
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@click.pass_obj
def check(library: Library, strict: bool) -> None:
    """Check the content folder: front matter, unknown topics, broken links.

    Prints one line per problem as PATH: SEVERITY: MESSAGE and exits 1 when
    there are errors (or warnings, with --strict).

    \b
    Example:
      kb check --strict
    """
    from indexer.writing import WORKERS
    from kb.checks import check_items

    content = library.check(workers=WORKERS)
    lines = [f"{f.path}: error: {f.reason}" for f in content.failed]
    lines += [f"{w.path}: warning: {w.reason}" for w in content.warnings]
    problems = check_items(content.items, content.vocabulary)
    lines += [str(p) for p in problems]
    for line in sorted(lines):
        click.echo(line)
    errors = len(content.failed) + sum(p.severity == "error" for p in problems)
    warnings = len(lines) - errors
    click.echo(f"{len(content.items)} items checked: {errors} errors, {warnings} warnings.", err=True)
    if errors or (strict and warnings):
        sys.exit(1)
