"""Commands for community managers: tag, log, report, map."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import json

import click

from indexer.cli import cli
from indexer.cli.edge import EPILOG
from indexer.cli.output import as_json, print_attention, print_map, print_searches, print_shared_value
from indexer.mapping import BY

if TYPE_CHECKING:
    from indexer.library import Library


@cli.command(epilog=EPILOG)
@click.argument("item_id")
@click.option("--add", "add_topics", multiple=True, metavar="TOPIC", help="Topic to add (repeatable).")
@click.option("--remove", "remove_topics", multiple=True, metavar="TOPIC", help="Topic to remove (repeatable).")
@click.option("--add-activity", multiple=True, metavar="ID", help="Activity to link (repeatable).")
@click.option("--remove-activity", multiple=True, metavar="ID", help="Activity to unlink (repeatable).")
@click.option("--type", "set_type", metavar="TYPE", help="New item type.")
@click.option("--dry-run", is_flag=True, help="Show the change without writing it.")
@click.option("--wait", type=click.FloatRange(min=0), default=10, show_default=True,
              help="Seconds to wait for another writer.")
@click.option("--who", envvar="USER", default="cli", show_default=True, help="Name written to the audit log.")
@click.pass_obj
def tag(library: Library, item_id: str, add_topics: tuple[str, ...], remove_topics: tuple[str, ...],
        add_activity: tuple[str, ...], remove_activity: tuple[str, ...], set_type: str | None, dry_run: bool,
        wait: float, who: str) -> None:
    """Change an item's topics, activities or type in its own file, then reindex it.

    Only the changed front-matter keys are rewritten; the rest of the file
    stays byte for byte. Unknown and deprecated topics are refused. The change
    is added to the audit log ('kb log').

    \b
    Examples:
      kb tag discussions/data-dashboards-health-spending --add health-financing-data
      kb tag forum-2020-roundtable-2 --remove budget-execution --add-activity working-group-budget-flexibility
    """
    from indexer.tagging import Change

    change = Change(add_topics=add_topics, remove_topics=remove_topics, add_activities=add_activity,
                    remove_activities=remove_activity, set_type=set_type)
    if dry_run:
        changes, written = library.plan_tag(item_id, change).changes, False
    else:
        result = library.tag(item_id, change, who=who, wait=wait)
        changes, written = result.changes, result.written
    changed = {k: v for k, v in changes.items() if v[0] != v[1]}
    if not changed:
        click.echo(f"{item_id}: nothing to change.")
        return
    for key, (before, after) in changed.items():
        click.echo(f"{item_id}: {key}: {before} -> {after}")
    click.echo("Written and reindexed." if written else "Dry run: nothing written.")


@cli.command("log", epilog=EPILOG)
@click.option("--item", "item_id", help="Only changes to this item.")
@click.option("--limit", type=click.IntRange(1, 100000), default=50, show_default=True)
@click.option("--json", "json_output", is_flag=True, help="Print entries as JSON lines.")
@click.pass_obj
def audit_log(library: Library, item_id: str | None, limit: int, json_output: bool) -> None:
    """Show the audit log of changes made to content, newest first.

    \b
    Example:
      kb log --item forum-2020-roundtable-2
    """
    from indexer.audit import AUDIT

    log = library.audit_log(item_id, limit)
    if log.damaged:
        lines = ", ".join(str(n) for n in log.damaged[:10]) + (" ..." if len(log.damaged) > 10 else "")
        click.echo(f"warning: {library.data / AUDIT}: line {lines} cannot be read "
                   "(cut off by a crash or a full disk); skipped", err=True)
    for entry in log.entries:
        if json_output:
            click.echo(json.dumps(entry, ensure_ascii=False))
            continue
        changes = "; ".join(f"{k}: {v['before']} -> {v['after']}" for k, v in entry["changes"].items())
        click.echo(f"{entry['at']}  {entry['who']}  {entry['action']}  {entry['item']}  {changes}")


@cli.group(epilog=EPILOG)
def report() -> None:
    """Reports for community managers.

    \b
    Example:
      kb report searches --days 30
    """


@report.command("searches", epilog=EPILOG)
@click.option("--days", type=click.IntRange(min=1), default=30, show_default=True, help="Period to report on.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="Rows per list.")
@click.option("--json", "json_output", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def report_searches(library: Library, days: int, limit: int, json_output: bool) -> None:
    """Top searches and searches with no results, from the anonymous search log.

    The web UI logs each search's normalised words, filters, result count and
    hour, nothing about who searched. Zero-result searches show words to add
    to the vocabulary as alternative labels, or topics to create.

    \b
    Example:
      kb report searches --days 90 --json
    """
    data = library.search_report(days, limit)
    if json_output:
        as_json(data)
    else:
        print_searches(data)


@report.command("health", epilog=EPILOG)
@click.option("--json", "json_output", is_flag=True, help="Print the figures as JSON.")
@click.option("--csv", "csv_output", is_flag=True, help="Print the figures as CSV (one row per figure).")
@click.pass_obj
def report_health(library: Library, json_output: bool, csv_output: bool) -> None:
    """Community health from the content: participants per quarter (new and returning), the share of
    items written by members, languages of content against membership, days from an activity to its
    notes, items per topic per quarter.

    \b
    Example:
      kb report health --csv > health.csv
    """
    from kb.contentmap import write_csv

    health = library.health()
    if json_output:
        as_json(health.to_dict())
    elif csv_output:
        click.echo(write_csv(["figure", "key", "value"], health_rows(health)), nl=False)
    else:
        for figure, key, value in health_rows(health):
            click.echo(f"{figure:28} {key:30} {value}")


def health_rows(health: Any) -> list[list[Any]]:
    """Every health figure as (figure, key, value) rows."""
    rows: list[list[Any]] = []
    for quarter, people, new, returning in health.quarters:
        rows += [["participants", quarter, people], ["new participants", quarter, new],
                 ["returning participants", quarter, returning]]
    done, of = health.by_members
    rows.append(["written by members", f"{done} of {of} items", f"{health.member_share:.0%}"])
    for lang, items, share, members in health.languages:
        rows.append(["language of content", lang, f"{items} items ({share:.0%}); members {members:.0%}"])
    rows.append(["days to notes, median", f"{len(health.days_to_notes)} activities", health.median_days_to_notes])
    for topic, quarters in sorted(health.topics_by_quarter.items()):
        rows += [["items per topic per quarter", f"{topic} {quarter}", n] for quarter, n in sorted(quarters.items())]
    return rows


@report.command("queue", epilog=EPILOG)
@click.option("--json", "json_output", is_flag=True, help="Print the queue as JSON.")
@click.pass_obj
def report_queue(library: Library, json_output: bool) -> None:
    """Items that need a manager: no topics, unknown or deprecated topics, no activity, no date, broken links.

    \b
    Example:
      kb report queue
    """
    print_attention(library.tagging_queue(), json_output)


@report.command("stale", epilog=EPILOG)
@click.option("--json", "json_output", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def report_stale(library: Library, json_output: bool) -> None:
    """Items past their review_by date, or much older than the newest content of their topics.

    \b
    Example:
      kb report stale --json
    """
    print_attention(library.staleness(), json_output)


@cli.command("map", epilog=EPILOG)
@click.option("--by", type=click.Choice(BY), default="kind", show_default=True,
              help="Columns: activity kinds, item types or years.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv", "html"]), default="text",
              show_default=True)
@click.option("--shared-value", is_flag=True,
              help="Instead of the map: each topic's member demand, priority and supply, what to produce next first.")
@click.pass_obj
def map_command(library: Library, by: str, fmt: str, shared_value: bool) -> None:
    """The content map: how many items each topic has per activity kind, type or year, and its gaps.

    A topic counts the items tagged with it or with a narrower topic. Gaps are
    empty cells of topics that have items. With --shared-value, topics are
    listed with what members ask for (surveys, personas, searches), the
    organisation's priority (vocabulary) and what exists, sorted so that what
    to produce next comes first.

    \b
    Examples:
      kb map
      kb map --by year --format csv > map.csv
      kb map --shared-value --format json
    """
    from kb.contentmap import shared_value_csv

    if shared_value:
        rows = library.shared_value()
        if fmt == "json":
            as_json([r.to_dict() for r in rows])
        elif fmt == "csv":
            click.echo(shared_value_csv(rows), nl=False)
        else:
            print_shared_value(rows)
        return
    result = library.content_map(by)
    if fmt == "json":
        click.echo(result.to_json())
    elif fmt == "csv":
        click.echo(result.to_csv(), nl=False)
    elif fmt == "html":
        click.echo(result.to_html())
    else:
        print_map(result)
