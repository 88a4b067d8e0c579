"""The `kb` command line: one click group, thin commands.

Exit codes: 0 success; 1 some files failed or `kb check` found errors;
2 usage or configuration error (bad option, missing index or content folder);
3 the index is locked by another writer; 4 a new index failed its checks and
the previous one still serves.
"""

from __future__ import annotations

import functools
import html
import logging
import json
import os
import re
import sys
from typing import Any, Callable, TextIO

import click

from kb.errors import KbError, QueryError
from kb.search import FACETS, SORTS, SearchRequest, hit_to_dict, result_to_dict
from kb.settings import Settings

EPILOG = ("Exit codes: 0 ok, 1 some files failed or problems found, 2 usage or configuration error, "
          "3 index locked by another writer, 4 new index failed its checks (the old one still serves).")


def handle_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Print kb errors as 'Error: ...' with their exit code instead of a traceback."""
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except KbError as exc:
            error = click.ClickException(str(exc))
            error.exit_code = exc.exit_code
            raise error from None
        except BrokenPipeError:  # output piped into `head` and the like: stop quietly
            sys.stderr.close()
            sys.exit(1)
        except OSError as exc:
            error = click.ClickException(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
            error.exit_code = 2
            raise error from None
    return wrapper


@click.group(epilog=EPILOG)
@click.option("--content", metavar="PATH", help="Content folder (env KB_CONTENT; default: content).")
@click.option("--index", metavar="PATH", help="Index folder (env KB_INDEX; default: .kb-index).")
@click.option("--data", metavar="PATH",
              help="Folder for accounts, logs and the session key (env KB_DATA; default: .kb-data).")
@click.version_option(package_name="kb", message="kb %(version)s")
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
        ctx.obj = Settings.from_mapping(os.environ).replace(content=content, index=index, data=data)
    except KbError as exc:
        error = click.ClickException(str(exc))
        error.exit_code = exc.exit_code
        raise error from None


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
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary line (errors still print).")
@click.pass_obj
@handle_errors
def reindex(settings: Settings, full: bool, dry_run: bool, force: bool, max_drop: float, min_items: int,
            wait: float, as_json: bool, quiet: bool) -> None:
    """Bring the search index up to date with the content folder.

    Incremental by default: only files whose content changed are read again,
    deleted files are removed, and nothing is written when nothing changed.
    --full builds a new index generation beside the serving one, checks it
    (item count, drop against the serving index, canary lookups) and switches
    to it in one step; the previous generation is kept for 'kb rollback'.
    Searches keep working throughout, and a job killed at any point leaves
    the last good index serving; the next run finishes the work.

    \b
    Examples:
      kb reindex
      kb reindex --full --json
      kb reindex --dry-run
      kb reindex --wait 60 --quiet      # from cron
    """
    from indexer.build import Guards, reindex as run
    from indexer.content import ReadLimits

    bar = TerminalProgress(enabled=not (quiet or as_json))
    guards = Guards(min_items=min_items, max_drop=max_drop / 100, force=force)
    summary = run(settings.content, settings.index, full=full, dry_run=dry_run, guards=guards, wait=wait,
                  limits=ReadLimits.from_settings(settings), progress=bar)
    if as_json:
        click.echo(json.dumps(summary.to_dict(paths=dry_run), indent=2, ensure_ascii=False))
    else:
        for failure in summary.failed:
            click.echo(f"failed: {failure.path}: {failure.reason}", err=True)
        for note in summary.notes:
            click.echo(f"note: {note}", err=True)
        if not quiet:
            click.echo(describe_run(summary))
        if summary.failed:
            click.echo(f"{len(summary.failed)} files failed; the other files were indexed.", err=True)
        if summary.warnings and not quiet:
            click.echo(f"{len(summary.warnings)} warnings; run 'kb check' to list them.", err=True)
    if summary.failed:
        sys.exit(1)


def describe_run(summary: Any) -> str:
    """One paragraph saying what a reindex run did (or would do)."""
    counts = (f"{len(summary.added)} added, {len(summary.updated)} updated, {len(summary.deleted)} deleted, "
              f"{summary.unchanged} unchanged")
    if summary.dry_run:
        lines = [f"Dry run ({summary.mode}): would index {counts}."]
        for label, paths in (("add", summary.added), ("update", summary.updated), ("delete", summary.deleted)):
            lines.extend(f"  would {label}: {p}" for p in paths)
        return "\n".join(lines)
    if summary.mode == "full":
        return (f"Full rebuild: indexed {summary.items} items in {summary.seconds:.1f} s; "
                f"now serving generation {summary.generation}.")
    if not (summary.added or summary.updated or summary.deleted or summary.rederived):
        return f"Nothing changed: {summary.items} items in generation {summary.generation} ({summary.seconds:.1f} s)."
    extra = f", {summary.rederived} re-derived" if summary.rederived else ""
    return (f"Incremental: {counts}{extra}; {summary.items} items in generation {summary.generation} "
            f"({summary.seconds:.1f} s).")


class TerminalProgress:
    """A tqdm progress bar on stderr, shown only on a terminal."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()
        self.bar: Any = None

    def start(self, total: int, label: str) -> None:
        if self.enabled and total:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=label, unit="file", file=sys.stderr, leave=False)

    def advance(self, count: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(count)

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@cli.command(epilog=EPILOG)
@click.option("--wait", type=click.FloatRange(min=0), default=0, show_default=True,
              help="Seconds to wait for another writer.")
@click.pass_obj
@handle_errors
def rollback(settings: Settings, wait: float) -> None:
    """Serve the previous index generation again.

    The generation replaced by the last full rebuild is kept on disk; this
    switches searches back to it in one step. Run 'kb reindex' afterwards to
    bring it up to date with the content folder.

    \b
    Example:
      kb rollback
    """
    from indexer.build import rollback as run

    name = run(settings.index, wait=wait)
    click.echo(f"Now serving generation {name}.")


@cli.command(epilog=EPILOG)
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_obj
@handle_errors
def status(settings: Settings, as_json: bool) -> None:
    """Show which index generation serves, its size, the last run and any lock holder.

    Exits 2 when there is no index yet.

    \b
    Example:
      kb status --json
    """
    from indexer.build import status as read

    info = read(settings.index)
    if as_json:
        click.echo(json.dumps(info, indent=2))
    else:
        last = info["last_run"] or {}
        click.echo(f"generation:  {info['generation'] or 'none'}")
        click.echo(f"built at:    {info['built_at'] or '-'} (updated {info['updated_at'] or '-'})")
        click.echo(f"items:       {info['items'] if info['items'] is not None else '-'}")
        click.echo(f"previous:    {info['previous_generation'] or 'none'}")
        if last:
            click.echo(f"last run:    {last.get('mode', '?')} at {last.get('finished_at', '?')}, {run_outcome(last)}")
        else:
            click.echo("last run:    none")
        click.echo(f"writer lock: {info['lock_holder'] or 'free'}")
    if info["generation"] is None:
        sys.exit(2)


def run_outcome(last: dict[str, Any]) -> str:
    """How the last run ended, in words: ok, some files failed, or failed and why."""
    failed = len(last.get("failed") or [])
    outcome = last.get("outcome") or ("partial" if failed else "ok")
    if outcome == "failed":
        return f"FAILED: {last.get('error') or 'no reason recorded'} (the previous index still serves)"
    if outcome == "partial":
        return f"ok, but {failed} file{'' if failed == 1 else 's'} failed (run 'kb reindex' or 'kb check' to list them)"
    return "ok"


@cli.command(epilog=EPILOG)
@click.argument("query", required=False, default="")
@click.option("--limit", type=click.IntRange(1, 1000), help="Number of results (default: KB_PAGE_SIZE, 10).")
@click.option("--sort", type=click.Choice(SORTS), default="relevance", show_default=True)
@click.option("--filter", "filters", multiple=True, metavar="FIELD=VALUE",
              help=f"Facet filter, repeatable; FIELD is one of {', '.join(FACETS)}.")
@click.option("--json", "as_json", is_flag=True, help="Print results and facet counts as JSON.")
@click.option("--batch", type=click.File("r", encoding="utf-8"),
              help='Run one query per line, each JSON {"id": ..., "text": ...}; print one JSON line each.')
@click.pass_obj
@handle_errors
def search(settings: Settings, query: str, limit: int | None, sort: str, filters: tuple[str, ...],
           as_json: bool, batch: TextIO | None) -> None:
    """Search the index.

    Words are OR-ed and ranked; use "quotes" for phrases, -word to exclude,
    and topic:, type:, activity:, kind:, country:, person:, lang:, year:,
    before:, after:, in:title to filter.

    \b
    Examples:
      kb search "budget flexibility"
      kb search "provider payment topic:covid-19-response after:2020-06" --json
      kb search --batch queries.jsonl --limit 100
    """
    from indexer.searching import search as run
    from indexer.store import IndexStore

    store = IndexStore(settings.index, cache_size=settings.search_cache, time_limit=settings.search_time_limit)
    limit = limit or settings.page_size
    if batch is not None:
        sys.exit(run_batch(store, batch, limit, sort, settings.max_query_length))
    if not query.strip() and not filters:
        raise click.UsageError("give a QUERY, --filter or --batch FILE")
    request = SearchRequest(q=query, filters=parse_filters(filters), sort=sort, page=1, page_size=limit)
    request.validate(max_page_size=1000, max_filter_values=settings.max_filter_values)
    result = run(store, request, max_query_length=settings.max_query_length)
    if as_json:
        click.echo(json.dumps(result_to_dict(result), indent=2, ensure_ascii=False))
        return
    for message in result.messages:
        click.echo(f"note: {message}", err=True)
    if result.suggestion:
        click.echo(f"did you mean: {result.suggestion}", err=True)
    for relaxation in result.relaxations:
        click.echo(f"without {relaxation.name} {' '.join(relaxation.values)}: {relaxation.count} results", err=True)
    if result.nearest_topics:
        click.echo(f"topics close to your search: {', '.join(result.nearest_topics)}", err=True)
    shown = len(result.hits)
    shown_query = result.request.q if len(result.request.q) <= 80 else result.request.q[:77] + "..."
    click.echo(f"{result.total} results for {shown_query!r}" + (f", showing {shown}" if shown < result.total else "")
               + f" ({result.seconds:.3f} s)")
    for rank, hit in enumerate(result.hits, 1):
        item = hit.item
        date = item.date.isoformat() if item.date else "no date"
        click.echo("")
        click.echo(f"{rank:>2}. " + click.style(item.title, bold=True) + f"  [{item.type}, {date}]")
        click.echo(f"    id: {item.id}" + (f"   score: {hit.score:.2f}" if hit.score else ""))
        if item.topics:
            click.echo(f"    topics: {', '.join(item.topics)}")
        click.echo("    " + snippet_text(hit.snippet or html.escape(item.summary)))


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


def snippet_text(snippet: str) -> str:
    """Turn an HTML snippet into terminal text with matched words in bold."""
    marked = re.sub(r"<mark[^>]*>(.*?)</mark>", lambda m: click.style(m[1], bold=True), snippet)
    return html.unescape(re.sub(r"<[^>]+>", "", marked))


def run_batch(store: Any, lines: TextIO, limit: int, sort: str, max_query_length: int) -> int:
    """Run each JSON line as a query; a bad line prints an error object and sets exit code 1.

    A query over the length limit is searched cut to the limit, with a warning
    line on stderr and the note in its JSON line's "messages".
    """
    from indexer.searching import search as run

    status = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            if not isinstance(entry, dict) or not isinstance(entry.get("text"), str):
                raise ValueError('expected an object with a "text" string')
            request = SearchRequest(q=entry["text"], sort=sort, page=1, page_size=limit)
            request.validate(max_page_size=1000)
            result = run(store, request, max_query_length=max_query_length)
        except (ValueError, KbError) as exc:
            click.echo(json.dumps({"id": _entry_id(line), "line": number, "error": str(exc)}))
            status = 1
            continue
        if result.request.q != request.q:
            click.echo(f"warning: line {number}: {result.messages[0]}", err=True)
        hits = [hit_to_dict(h) for h in result.hits]
        click.echo(json.dumps({"id": entry.get("id"), "total": result.total, "hits": hits,
                               "messages": list(result.messages)}, ensure_ascii=False))
    return status


def _entry_id(line: str) -> Any:
    try:
        return json.loads(line).get("id")
    except (ValueError, AttributeError):
        return None


@cli.command(epilog=EPILOG)
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@click.pass_obj
@handle_errors
def check(settings: Settings, strict: bool) -> None:
    """Check the content folder: front matter, unknown topics, broken links.

    Prints one line per problem as PATH: SEVERITY: MESSAGE and exits 1 when
    there are errors (or warnings, with --strict).

    \b
    Example:
      kb check --strict
    """
    from indexer.build import WORKERS
    from indexer.content import ReadLimits, load_content
    from kb.checks import check_items

    content = load_content(settings.content, ReadLimits.from_settings(settings), workers=WORKERS)
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


@cli.command(epilog=EPILOG)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True)
@click.option("--debug", is_flag=True, help="Reload on code changes and show debug pages.")
@click.pass_obj
@handle_errors
def serve(settings: Settings, host: str, port: int, debug: bool) -> None:
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
    app = create_app(settings)
    app.run(host=host, port=port, debug=debug, threaded=True)


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
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
@handle_errors
def report_searches(settings: Settings, days: int, limit: int, as_json: bool) -> None:
    """Top searches and searches with no results, from the anonymous search log.

    The web UI logs each search's normalised words, filters, result count and
    hour, nothing about who searched. Zero-result searches show words to add
    to the vocabulary as alternative labels, or topics to create.

    \b
    Example:
      kb report searches --days 90 --json
    """
    from pathlib import Path

    from indexer import searchlog

    searchlog.prune(Path(settings.data), settings.search_log_days)
    data = searchlog.report(Path(settings.data), days, limit)
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    click.echo(f"{data['searches']} searches since {data['since']}.")
    for title, rows in (("Top searches", data["top"]), ("Searches with no results", data["zero_results"])):
        click.echo(f"\n{title}:")
        if not rows:
            click.echo("  (none)")
        for row in rows:
            filters = " ".join(f"{k}={','.join(v)}" for k, v in row["filters"].items())
            click.echo(f"  {row['count']:>5}  {row['query'] or '(no words)'}" + (f"  [{filters}]" if filters else ""))


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
@handle_errors
def tag(settings: Settings, item_id: str, add_topics: tuple[str, ...], remove_topics: tuple[str, ...],
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
    from pathlib import Path

    from indexer.content import ReadLimits, content_root, load_vocabulary
    from indexer.searching import get_item
    from indexer.store import IndexStore
    from indexer.tagging import Change, plan, tag as run

    change = Change(add_topics=add_topics, remove_topics=remove_topics, add_activities=add_activity,
                    remove_activities=remove_activity, set_type=set_type)
    if dry_run:
        root = content_root(settings.content)
        edit = plan(root, get_item(IndexStore(settings.index), item_id).path, change, load_vocabulary(root))
        result_changes, written = edit.changes, False
    else:
        result = run(settings.content, settings.index, Path(settings.data), item_id, change, who=who, wait=wait,
                     limits=ReadLimits.from_settings(settings))
        result_changes, written = result.changes, result.written
    changed = {k: v for k, v in result_changes.items() if v[0] != v[1]}
    if not changed:
        click.echo(f"{item_id}: nothing to change.")
        return
    for key, (before, after) in changed.items():
        click.echo(f"{item_id}: {key}: {before} -> {after}")
    click.echo("Written and reindexed." if written else "Dry run: nothing written.")


@cli.command("log", epilog=EPILOG)
@click.option("--item", "item_id", help="Only changes to this item.")
@click.option("--limit", type=click.IntRange(1, 100000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print entries as JSON lines.")
@click.pass_obj
@handle_errors
def audit_log(settings: Settings, item_id: str | None, limit: int, as_json: bool) -> None:
    """Show the audit log of changes made to content, newest first.

    \b
    Example:
      kb log --item forum-2020-roundtable-2
    """
    from pathlib import Path

    from indexer import audit

    log = audit.read(Path(settings.data), item_id, limit)
    if log.damaged:
        lines = ", ".join(str(n) for n in log.damaged[:10]) + (" ..." if len(log.damaged) > 10 else "")
        click.echo(f"warning: {Path(settings.data) / audit.AUDIT}: line {lines} cannot be read "
                   "(cut off by a crash or a full disk); skipped", err=True)
    for entry in log.entries:
        if as_json:
            click.echo(json.dumps(entry, ensure_ascii=False))
            continue
        changes = "; ".join(f"{k}: {v['before']} -> {v['after']}" for k, v in entry["changes"].items())
        click.echo(f"{entry['at']}  {entry['who']}  {entry['action']}  {entry['item']}  {changes}")


@report.command("queue", epilog=EPILOG)
@click.option("--json", "as_json", is_flag=True, help="Print the queue as JSON.")
@click.pass_obj
@handle_errors
def report_queue(settings: Settings, as_json: bool) -> None:
    """Items that need a manager: no topics, unknown or deprecated topics, no activity, no date, broken links.

    \b
    Example:
      kb report queue
    """
    from indexer.searching import all_items
    from indexer.store import IndexStore
    from kb.checks import tagging_queue

    store = IndexStore(settings.index)
    print_attention(tagging_queue(all_items(store), store.generation().vocabulary), as_json)


@report.command("stale", epilog=EPILOG)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
@handle_errors
def report_stale(settings: Settings, as_json: bool) -> None:
    """Items past their review_by date, or much older than the newest content of their topics.

    \b
    Example:
      kb report stale --json
    """
    import datetime as dt

    from indexer.searching import all_items
    from indexer.store import IndexStore
    from kb.checks import staleness

    print_attention(staleness(all_items(IndexStore(settings.index)), dt.date.today()), as_json)


def print_attention(rows: list[Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([{"id": r.item.id, "path": r.item.path, "title": r.item.title,
                                "reasons": list(r.reasons)} for r in rows], indent=2, ensure_ascii=False))
        return
    for row in rows:
        click.echo(f"{row.item.path}: {'; '.join(row.reasons)}")
    click.echo(f"{len(rows)} items.", err=True)


@cli.command("map", epilog=EPILOG)
@click.option("--by", type=click.Choice(["kind", "type", "year"]), default="kind", show_default=True,
              help="Columns: activity kinds, item types or years.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv", "html"]), default="text",
              show_default=True)
@click.option("--shared-value", is_flag=True,
              help="Instead of the map: each topic's member demand, priority and supply, what to produce next first.")
@click.pass_obj
@handle_errors
def map_command(settings: Settings, by: str, fmt: str, shared_value: bool) -> None:
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
    from pathlib import Path

    from indexer import mapping
    from indexer.store import IndexStore

    store = IndexStore(settings.index)
    if shared_value:
        rows = mapping.shared_value(store, Path(settings.data))
        if fmt == "json":
            click.echo(json.dumps([r.to_dict() for r in rows], indent=2, ensure_ascii=False))
        elif fmt == "csv":
            from kb.contentmap import shared_value_csv

            click.echo(shared_value_csv(rows), nl=False)
        else:
            click.echo(f"{'topic':40} {'priority':8} {'demand':>6} {'items':>6} {'activities':>10}  missing kinds")
            for r in rows:
                mark = "*" if r.meets else " "
                click.echo(f"{mark}{r.label[:39]:39} {r.priority or '-':8} {r.demand:>6} {r.items:>6} {r.activities:>10}"
                           f"  {', '.join(r.missing)}")
            click.echo("* member demand and organisational priority meet")
        return
    result = mapping.content_map(store, by)
    if fmt == "json":
        click.echo(result.to_json())
    elif fmt == "csv":
        click.echo(result.to_csv(), nl=False)
    elif fmt == "html":
        click.echo(result.to_html())
    else:
        width = max((len(label) + 2 * depth for _, label, depth in result.rows), default=10)
        click.echo(" " * width + "   all " + " ".join(f"{c[:10]:>10}" for c, _ in result.columns))
        for topic, label, depth in result.rows:
            counts = " ".join(f"{result.cells.get((topic, c), 0) or '.':>10}" for c, _ in result.columns)
            click.echo(f"{'  ' * depth + label:{width}} {result.totals.get(topic, 0):>5} {counts}")
        click.echo(f"{len(result.gaps)} gaps (empty cells of topics that have items).")


@cli.group(epilog=EPILOG)
def topics() -> None:
    """Rename, merge and split vocabulary topics, in the vocabulary and every tagged file.

    \b
    Examples:
      kb topics rename results-based-financing performance-based-financing --dry-run
      kb topics merge covid-financing covid-19-response
      kb topics split health-taxes --into tobacco-taxes="Tobacco taxes" --into sugar-taxes="Sugar taxes"
    """


def run_topics(settings: Settings, operation: str, source: str, dry_run: bool, who: str, **options: Any) -> None:
    from pathlib import Path

    from indexer.content import ReadLimits
    from indexer.vocabedit import apply_operation, plan_operation

    plan = plan_operation(settings.content, operation, source, limits=ReadLimits.from_settings(settings), **options)
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
    skipped = apply_operation(settings.content, settings.index, Path(settings.data), plan, who=who,
                              limits=ReadLimits.from_settings(settings))
    for path, reason in plan.refused[planned:]:  # files that could not be written after all
        click.echo(f"{path}: not changed: {reason}", err=True)
    click.echo(f"Written: the vocabulary and {len(plan.edits) - len(plan.refused[planned:])} files; reindexed.")
    if skipped:
        click.echo(f"{len(skipped)} files were not changed (see above); fix them and tag them by hand.", err=True)
        sys.exit(1)


TOPIC_OPTIONS = [
    click.option("--dry-run", is_flag=True, help="List every file that would change; write nothing."),
    click.option("--who", envvar="USER", default="cli", show_default=True, help="Name written to the audit log."),
]


def topic_options(command: Any) -> Any:
    for option in reversed(TOPIC_OPTIONS):
        command = option(command)
    return command


@topics.command("rename", epilog=EPILOG)
@click.argument("old")
@click.argument("new")
@click.option("--label", default="", help="A new preferred label (the old one is kept as an alternative).")
@topic_options
@click.pass_obj
@handle_errors
def topics_rename(settings: Settings, old: str, new: str, label: str, dry_run: bool, who: str) -> None:
    """Give a topic a new id (and label); OLD stays as a deprecated alias.

    \b
    Example:
      kb topics rename results-based-financing performance-based-financing --label "Performance-based financing"
    """
    run_topics(settings, "rename", old, dry_run, who, target=new, label=label)


@topics.command("merge", epilog=EPILOG)
@click.argument("source")
@click.argument("target")
@topic_options
@click.pass_obj
@handle_errors
def topics_merge(settings: Settings, source: str, target: str, dry_run: bool, who: str) -> None:
    """Merge SOURCE into TARGET: items move to TARGET, SOURCE's labels become TARGET's alternative labels.

    \b
    Example:
      kb topics merge covid-financing covid-19-response --dry-run
    """
    run_topics(settings, "merge", source, dry_run, who, target=target)


@topics.command("split", epilog=EPILOG)
@click.argument("source")
@click.option("--into", "parts", multiple=True, required=True, metavar='ID="LABEL"',
              help="A new topic (repeat, at least twice).")
@topic_options
@click.pass_obj
@handle_errors
def topics_split(settings: Settings, source: str, parts: tuple[str, ...], dry_run: bool, who: str) -> None:
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
    run_topics(settings, "split", source, dry_run, who, parts=pairs)


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
        click.option("--json", "as_json", is_flag=True, help="Print the report as JSON."),
    ]):
        command = option(command)
    return command


def finish_import(settings: Settings, report: Any, items: list[Any], as_json: bool) -> None:
    from pathlib import Path

    from indexer.imports.common import write_items

    write_items(settings.content, Path(settings.data), items, report)
    if as_json:
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
@handle_errors
def import_stackexchange(settings: Settings, dump_dir: str, site: str, mapping: str | None, community: str,
                         dry_run: bool, as_json: bool) -> None:
    """Import a Stack Exchange data dump: one discussion per question, with its answers and comments.

    \b
    Example:
      kb import stackexchange ../shared/data/beer-stackexchange --mapping tags.yml
    """
    from pathlib import Path

    from indexer.content import content_root
    from indexer.imports.common import ImportReport, load_mapping
    from indexer.imports.stackexchange import read_dump, site_of

    folder = Path(dump_dir)
    report = ImportReport(source=str(folder), dry_run=dry_run)
    tags = load_mapping(mapping, content_root(settings.content))
    items = read_dump(folder, site or site_of(folder), community, tags, report)
    finish_import(settings, report, items, as_json)


@import_group.command("discourse", epilog=EPILOG)
@click.argument("export", type=click.Path(exists=True, dir_okay=False))
@click.option("--site", default="discourse", show_default=True, help="Forum name for ids and folders.")
@import_options
@click.pass_obj
@handle_errors
def import_discourse(settings: Settings, export: str, site: str, mapping: str | None, community: str,
                     dry_run: bool, as_json: bool) -> None:
    """Import Discourse topics (a JSON list of topics with their posts, as the API gives them).

    \b
    Example:
      kb import discourse forum-export.json --site hfr-forum --mapping tags.yml
    """
    from pathlib import Path

    from indexer.content import content_root
    from indexer.imports.common import ImportReport, load_mapping
    from indexer.imports.others import read_discourse

    report = ImportReport(source=export, dry_run=dry_run)
    items = read_discourse(Path(export), site, community, load_mapping(mapping, content_root(settings.content)), report)
    finish_import(settings, report, items, as_json)


@import_group.command("mbox", epilog=EPILOG)
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@click.option("--site", default="mail", show_default=True, help="List name for ids and folders.")
@click.option("--community", default="", help="Community id written on every item.")
@click.option("--dry-run", is_flag=True, help="List what would be written; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
@handle_errors
def import_mbox(settings: Settings, archive: str, site: str, community: str, dry_run: bool, as_json: bool) -> None:
    """Import a mail archive (mbox): one discussion per thread, messages in date order.

    \b
    Example:
      kb import mbox hfr-list.mbox --site hfr-list
    """
    from pathlib import Path

    from indexer.imports.common import ImportReport
    from indexer.imports.others import read_mbox

    report = ImportReport(source=archive, dry_run=dry_run)
    finish_import(settings, report, read_mbox(Path(archive), site, community, report), as_json)


@import_group.command("csv", epilog=EPILOG)
@click.argument("table", type=click.Path(exists=True, dir_okay=False))
@click.option("--type", "item_type", default="activity", show_default=True, help="Type of every item.")
@click.option("--community", default="", help="Community id written on every item.")
@click.option("--dry-run", is_flag=True, help="List what would be written; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
@handle_errors
def import_csv(settings: Settings, table: str, item_type: str, community: str, dry_run: bool, as_json: bool) -> None:
    """Import a spreadsheet saved as CSV, one item per row.

    Columns: title (required), id, date, kind, topics, activities, countries,
    people (lists separated by ; or ,), description (the body); other columns
    are kept as metadata.

    \b
    Example:
      kb import csv activities-2021.csv --type activity
    """
    from pathlib import Path

    from indexer.imports.common import ImportReport
    from indexer.imports.others import read_csv

    report = ImportReport(source=table, dry_run=dry_run)
    finish_import(settings, report, read_csv(Path(table), item_type, community, report), as_json)


@cli.group(epilog=EPILOG)
def user() -> None:
    """Manager accounts for the web UI.

    \b
    Example:
      kb user add ama
    """


@user.command("add", epilog=EPILOG)
@click.argument("name")
@click.password_option(help="The password (asked for, twice, when not given).")
@click.pass_obj
@handle_errors
def user_add(settings: Settings, name: str, password: str) -> None:
    """Create a manager account; the password is stored only as a salted hash.

    \b
    Example:
      kb user add ama
    """
    from pathlib import Path

    from indexer.accounts import add_user

    add_user(Path(settings.data), name, password)
    click.echo(f"Created user {name}.")


@user.command("list", epilog=EPILOG)
@click.pass_obj
@handle_errors
def user_list(settings: Settings) -> None:
    """List manager accounts.

    \b
    Example:
      kb user list
    """
    from pathlib import Path

    from indexer.accounts import list_users

    for name, created in list_users(Path(settings.data)):
        click.echo(f"{name}  (created {created})")


@user.command("remove", epilog=EPILOG)
@click.argument("name")
@click.pass_obj
@handle_errors
def user_remove(settings: Settings, name: str) -> None:
    """Delete a manager account.

    \b
    Example:
      kb user remove ama
    """
    from pathlib import Path

    from indexer.accounts import remove_user

    remove_user(Path(settings.data), name)
    click.echo(f"Removed user {name}.")


def main() -> None:
    cli(prog_name="kb")
