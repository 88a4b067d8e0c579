"""Importers: forum, mail and spreadsheet exports into the content folder as Markdown items."""

from __future__ import annotations

from typing import TYPE_CHECKING

import json
import sys
from pathlib import Path
from typing import Any

import click

from indexer.cli import cli
from indexer.cli.edge import EPILOG

if TYPE_CHECKING:
    from indexer.library import Library


@cli.group("import", epilog=EPILOG)
def import_group() -> None:
    """Bring exports (forums, mail, spreadsheets) into the content folder as Markdown items.

    Each importer writes ordinary Markdown files with front matter; run 'kb reindex'
    afterwards. Re-importing the same export updates the same files; a file edited
    since kb wrote it is kept and reported, never overwritten.

    \b
    Example:
      kb import stackexchange ../dumps/beer.stackexchange.com --mapping tags.yml --dry-run
    """


def import_options(command: Any) -> Any:
    for option in reversed([
        click.option("--mapping", type=click.Path(exists=True, dir_okay=False),
                     help="YAML file mapping forum tags to vocabulary topics ({tags: {brewing: [topic-id]}})."),
        click.option("--community", default="", help="Community id written on every item."),
        click.option("--dry-run", is_flag=True, help="List what would be written; write nothing."),
        click.option("--json", "json_output", is_flag=True, help="Print the report as JSON."),
    ]):
        command = option(command)
    return command


def finish_import(library: Library, report: Any, items: list[Any], json_output: bool) -> None:
    from indexer.imports.common import write_items

    write_items(library.root, library.data, items, report)
    if json_output:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        verb = "would write" if report.dry_run else "wrote"
        click.echo(f"{report.source}: {verb} {len(report.written)} new, {len(report.updated)} updated, "
                   f"{len(report.unchanged)} unchanged items.")
        for path in report.written + report.updated if report.dry_run else []:
            click.echo(f"  {path}")
        for path in report.kept_local_edits:
            click.echo(f"kept: {path} was edited since the last import; not overwritten", err=True)
        for reason, count in report.skipped.items():
            click.echo(f"skipped: {count} {reason}", err=True)
        if report.unmapped_tags:
            tags = ", ".join(f"{t} ({n})" for t, n in report.unmapped_tags.most_common(20))
            click.echo(f"unmapped tags: {tags}" + (" …" if len(report.unmapped_tags) > 20 else ""), err=True)
        for problem in report.problems:
            click.echo(f"problem: {problem}", err=True)
        if not report.dry_run and (report.written or report.updated):
            click.echo("Run 'kb reindex' to make them searchable.")
    if report.problems:
        sys.exit(1)


@import_group.command("stackexchange", epilog=EPILOG)
@click.argument("dump_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--site", default="", help="Site name for ids and links (default: from the folder name).")
@import_options
@click.pass_obj
def import_stackexchange(library: Library, dump_dir: str, site: str, mapping: str | None, community: str,
                         dry_run: bool, json_output: bool) -> None:
    """Import a Stack Exchange data dump: one discussion per question, with its answers and comments.

    \b
    Example:
      kb import stackexchange ../shared/data/beer-stackexchange --mapping tags.yml
    """
    from indexer.imports.common import ImportReport, load_mapping
    from indexer.imports.stackexchange import read_dump, site_of


    folder = Path(dump_dir)
    report = ImportReport(source=str(folder), dry_run=dry_run)
    tags = load_mapping(mapping, library.root)
    items = read_dump(folder, site or site_of(folder), community, tags, report)
    finish_import(library, report, items, json_output)


@import_group.command("discourse", epilog=EPILOG)
@click.argument("export", type=click.Path(exists=True, dir_okay=False))
@click.option("--site", default="discourse", show_default=True, help="Forum name for ids and folders.")
@import_options
@click.pass_obj
def import_discourse(library: Library, export: str, site: str, mapping: str | None, community: str,
                     dry_run: bool, json_output: bool) -> None:
    """Import Discourse topics (a JSON list of topics with their posts, as the API gives them).

    \b
    Example:
      kb import discourse forum-export.json --site hfr-forum --mapping tags.yml
    """
    from indexer.imports.common import ImportReport, load_mapping
    from indexer.imports.others import read_discourse


    report = ImportReport(source=export, dry_run=dry_run)
    items = read_discourse(Path(export), site, community, load_mapping(mapping, library.root), report)
    finish_import(library, report, items, json_output)


@import_group.command("mbox", epilog=EPILOG)
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@click.option("--site", default="mail", show_default=True, help="List name for ids and folders.")
@click.option("--community", default="", help="Community id written on every item.")
@click.option("--dry-run", is_flag=True, help="List what would be written; write nothing.")
@click.option("--json", "json_output", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def import_mbox(library: Library, archive: str, site: str, community: str, dry_run: bool, json_output: bool) -> None:
    """Import a mail archive (mbox): one discussion per thread, messages in date order.

    \b
    Example:
      kb import mbox hfr-list.mbox --site hfr-list
    """
    from indexer.imports.common import ImportReport
    from indexer.imports.others import read_mbox


    report = ImportReport(source=archive, dry_run=dry_run)
    finish_import(library, report, read_mbox(Path(archive), site, community, report), json_output)


@import_group.command("csv", epilog=EPILOG)
@click.argument("table", type=click.Path(exists=True, dir_okay=False))
@click.option("--type", "item_type", default="activity", show_default=True, help="Type of every item.")
@click.option("--community", default="", help="Community id written on every item.")
@click.option("--dry-run", is_flag=True, help="List what would be written; write nothing.")
@click.option("--json", "json_output", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def import_csv(library: Library, table: str, item_type: str, community: str, dry_run: bool, json_output: bool) -> None:
    """Import a spreadsheet saved as CSV, one item per row.

    Columns: title (required), id, date, kind, topics, activities, countries,
    people (lists separated by ; or ,), description (the body); other columns
    are kept as metadata.

    \b
    Example:
      kb import csv activities-2021.csv --type activity
    """
    from indexer.imports.common import ImportReport
    from indexer.imports.others import read_csv


    report = ImportReport(source=table, dry_run=dry_run)
    finish_import(library, report, read_csv(Path(table), item_type, community, report), json_output)
