"""The search command: one query, or a batch of them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import json
import sys
from typing import Any, TextIO

import click

from indexer.cli import cli
from indexer.cli.edge import EPILOG
from indexer.cli.output import as_json, print_search
from kb.errors import KbError, QueryError
from kb.search import FACETS, SORTS, SearchRequest, hit_to_dict, result_to_dict

if TYPE_CHECKING:
    from indexer.library import Library


@cli.command(epilog=EPILOG)
@click.argument("query", required=False, default="")
@click.option("--limit", type=click.IntRange(1, 1000), help="Number of results (default: KB_PAGE_SIZE, 10).")
@click.option("--sort", type=click.Choice(SORTS), default="relevance", show_default=True)
@click.option("--filter", "filters", multiple=True, metavar="FIELD=VALUE",
              help=f"Facet filter, repeatable; FIELD is one of {', '.join(FACETS)}.")
@click.option("--json", "json_output", is_flag=True, help="Print results and facet counts as JSON.")
@click.option("--batch", type=click.File("r", encoding="utf-8"),
              help='Run one query per line, each JSON {"id": ..., "text": ...}; print one JSON line each.')
@click.option("--as", "role", type=click.Choice(("anonymous", "member", "manager")), default="manager",
              show_default=True, help="Search as this role sees the site (the CLI sees everything by default).")
@click.pass_obj
def search(library: Library, query: str, limit: int | None, sort: str, filters: tuple[str, ...],
           json_output: bool, batch: TextIO | None, role: str) -> None:
    """Search the index.

    Items with every significant word (two thirds of them from three words
    on) are the matches; items with some follow as partial matches. Use
    "quotes" for phrases, -word to exclude, and topic:, type:, activity:,
    kind:, country:, person:, lang:, year:, before:, after:, in:title to filter.

    \b
    Examples:
      kb search "budget flexibility"
      kb search "provider payment topic:covid-19-response after:2020-06" --json
      kb search --batch queries.jsonl --limit 100
      kb search "dashboards" --as anonymous
    """
    limit = limit or library.settings.page_size
    if batch is not None:
        sys.exit(run_batch(library, batch, limit, sort, role))
    if not query.strip() and not filters:
        raise click.UsageError("give a QUERY, --filter or --batch FILE")
    request = SearchRequest(q=query, filters=parse_filters(filters), sort=sort, page=1, page_size=limit, role=role)
    request.validate(max_page_size=1000, max_filter_values=library.settings.max_filter_values)
    result = library.search(request)
    if json_output:
        as_json(result_to_dict(result))
    else:
        print_search(result)


def parse_filters(pairs: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Turn FIELD=VALUE options into a filters mapping; reject unknown fields."""
    filters: dict[str, tuple[str, ...]] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not value:
            raise QueryError(f"--filter {pair!r}: expected FIELD=VALUE")
        if name not in FACETS:
            raise QueryError(f"--filter {pair!r}: {name!r} is not one of {', '.join(FACETS)}")
        filters[name] = filters.get(name, ()) + (value,)
    return filters


def run_batch(library: Library, lines: TextIO, limit: int, sort: str, role: str = "manager") -> int:
    """Run each JSON line as a query; a bad line prints an error object and sets exit code 1.

    A query over the length limit is searched cut to the limit, with a warning
    line on stderr and the note in its JSON line's "messages".
    """
    status = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            if not isinstance(entry, dict) or not isinstance(entry.get("text"), str):
                raise ValueError('expected an object with a "text" string')
            request = SearchRequest(q=entry["text"], sort=sort, page=1, page_size=limit, role=role)
            request.validate(max_page_size=1000)
            result = library.search(request)
        except (ValueError, KbError) as exc:
            click.echo(json.dumps({"id": _entry_id(line), "line": number, "error": str(exc)}))
            status = 1
            continue
        if result.request.q != request.q:
            click.echo(f"warning: line {number}: {result.messages[0]}", err=True)
        hits = [hit_to_dict(h) for h in result.hits]
        click.echo(json.dumps({"id": entry.get("id"), "total": result.total, "partial_total": result.partial_total,
                               "hits": hits, "messages": list(result.messages)}, ensure_ascii=False))
    return status


def _entry_id(line: str) -> Any:
    try:
        return json.loads(line).get("id")
    except (ValueError, AttributeError):
        return None
