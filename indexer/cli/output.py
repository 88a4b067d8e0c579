"""How the command line prints: run summaries, status, search results, reports, the content map."""

from __future__ import annotations

import html
import json
import re
import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from kb.contentmap import ContentMap, TopicValue
    from kb.search import SearchResult


def as_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


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


def describe_run(summary: Any) -> str:
    """One paragraph saying what a reindex run did (or would do)."""
    counts = (f"{len(summary.added)} added, {len(summary.updated)} updated, {len(summary.deleted)} deleted, "
              f"{summary.unchanged} unchanged")
    if summary.dry_run:
        lines = [f"Dry run ({summary.mode}): would index {counts}."]
        for label, paths in (("add", summary.added), ("update", summary.updated), ("delete", summary.deleted)):
            lines.extend(f"  would {label}: {p}" for p in paths)
        return "\n".join(lines)
    embedded = (summary.meaning or {}).get("embedded")
    meaning = f" {embedded} passages embedded for search by meaning." if embedded else ""
    if summary.mode == "full":
        return (f"Full rebuild: indexed {summary.items} items in {summary.seconds:.1f} s; "
                f"now serving generation {summary.generation}.{meaning}")
    if not (summary.added or summary.updated or summary.deleted or summary.rederived):
        return f"Nothing changed: {summary.items} items in generation {summary.generation} ({summary.seconds:.1f} s)."
    extra = f", {summary.rederived} re-derived" if summary.rederived else ""
    return (f"Incremental: {counts}{extra}; {summary.items} items in generation {summary.generation} "
            f"({summary.seconds:.1f} s).{meaning}")


def print_run(summary: Any, quiet: bool) -> None:
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


def run_outcome(last: dict[str, Any]) -> str:
    """How the last run ended, in words: ok, some files failed, or failed and why."""
    failed = len(last.get("failed") or [])
    outcome = last.get("outcome") or ("partial" if failed else "ok")
    if outcome == "failed":
        return f"FAILED: {last.get('error') or 'no reason recorded'} (the previous index still serves)"
    if outcome == "partial":
        return f"ok, but {failed} file{'' if failed == 1 else 's'} failed (run 'kb reindex' or 'kb check' to list them)"
    return "ok"


def print_status(info: dict[str, Any]) -> None:
    last = info["last_run"] or {}
    click.echo(f"generation:  {info['generation'] or 'none'}")
    click.echo(f"built at:    {info['built_at'] or '-'} (updated {info['updated_at'] or '-'})")
    click.echo(f"items:       {info['items'] if info['items'] is not None else '-'}")
    click.echo(f"previous:    {info['previous_generation'] or 'none'}")
    if last:
        took = f", {last['seconds']:.1f} s" if isinstance(last.get("seconds"), (int, float)) else ""
        nice = f" at nice {last['nice']}" if last.get("nice") else ""  # why a run on a busy machine took long
        click.echo(f"last run:    {last.get('mode', '?')} at {last.get('finished_at', '?')}, {run_outcome(last)}"
                   f"{took}{nice}")
    else:
        click.echo("last run:    none")
    click.echo(f"writer lock: {info['lock_holder'] or 'free'}")
    if info.get("readers_held_until"):
        click.echo(f"readers:     kept on the last commit until {info['readers_held_until']} at the latest, "
                   "while a run ranks the searches asked lately, or runs follow each other (KB_READERS_REFRESH)")
    cluster = info.get("typesense")
    if cluster:
        click.echo(f"typesense:   alias {cluster['alias']} -> {cluster['serving'] or 'nothing yet'}")
        for node in cluster["nodes"]:
            click.echo(f"  {node['url']}  {node['role']}{'' if node['healthy'] else ' (not healthy)'}"
                       f"{'  ' + node['version'] if node['version'] else ''}")


def snippet_text(snippet: str) -> str:
    """Turn an HTML snippet into terminal text with matched words in bold."""
    marked = re.sub(r"<mark[^>]*>(.*?)</mark>", lambda m: click.style(m[1], bold=True), snippet)
    return html.unescape(re.sub(r"<[^>]+>", "", marked))


def print_search(result: SearchResult) -> None:
    """Notes on stderr, then a ranked list: title, type, date, id, topics and the snippet of each hit."""
    for message in result.messages:
        click.echo(f"note: {message}", err=True)
    if result.suggestion:
        click.echo(f"did you mean: {result.suggestion}", err=True)
    for relaxation in result.relaxations:
        click.echo(f"without {relaxation.name} {' '.join(relaxation.values)}: {relaxation.count} results", err=True)
    if result.nearest_topics:
        click.echo(f"topics close to your search: {', '.join(result.nearest_topics)}", err=True)
    shown = sum(1 for hit in result.hits if not hit.partial)
    query = result.request.q if len(result.request.q) <= 80 else result.request.q[:77] + "..."
    partial = f", and {result.partial_total} partial matches" if result.partial_total else ""
    click.echo(f"{result.total} results for {query!r}{partial}" + (f", showing {shown}" if shown < result.total else "")
               + f" ({result.seconds:.3f} s)")
    for rank, hit in enumerate(result.hits, 1):
        if hit.partial and (rank == 1 or not result.hits[rank - 2].partial):
            click.echo(f"\nPartial matches (some of the words, not enough of them): {result.partial_total}")
        item = hit.item
        date = item.date.isoformat() if item.date else "no date"
        click.echo("")
        click.echo(f"{rank:>2}. " + click.style(item.title, bold=True) + f"  [{item.type}, {date}]")
        click.echo(f"    id: {item.id}" + (f"   score: {hit.score:.2f}" if hit.score else ""))
        if item.topics:
            click.echo(f"    topics: {', '.join(item.topics)}")
        click.echo("    " + snippet_text(hit.snippet or html.escape(item.summary)))


def print_attention(rows: list[Any], json_output: bool) -> None:
    if json_output:
        as_json([{"id": r.item.id, "path": r.item.path, "title": r.item.title, "reasons": list(r.reasons)}
                 for r in rows])
        return
    for row in rows:
        click.echo(f"{row.item.path}: {'; '.join(row.reasons)}")
    click.echo(f"{len(rows)} items.", err=True)


def print_searches(data: dict[str, Any]) -> None:
    click.echo(f"{data['searches']} searches since {data['since']}.")
    for title, rows in (("Top searches", data["top"]), ("Searches with no results", data["zero_results"])):
        click.echo(f"\n{title}:")
        if not rows:
            click.echo("  (none)")
        for row in rows:
            filters = " ".join(f"{k}={','.join(v)}" for k, v in row["filters"].items())
            click.echo(f"  {row['count']:>5}  {row['query'] or '(no words)'}" + (f"  [{filters}]" if filters else ""))


def print_map(result: ContentMap) -> None:
    width = max((len(label) + 2 * depth for _, label, depth in result.rows), default=10)
    # Columns named by their labels ("Conference session"), as wide as the label needs.
    widths = {c: max(5, len(label)) for c, label in result.columns}
    click.echo(" " * width + "   all " + " ".join(f"{label:>{widths[c]}}" for c, label in result.columns))
    for topic, label, depth in result.rows:
        counts = " ".join(f"{result.cells.get((topic, c), 0) or '.':>{widths[c]}}" for c, _ in result.columns)
        click.echo(f"{'  ' * depth + label:{width}} {result.totals.get(topic, 0):>5} {counts}")
    click.echo(f"{len(result.gaps)} gaps (empty cells of topics that have items).")


def print_shared_value(rows: list[TopicValue]) -> None:
    click.echo(f"{'status':13} {'topic':38} {'priority':8} {'demand':>7} {'level':6} {'items':>5} {'activities':>10}")
    for r in rows:
        click.echo(f"{r.status or '-':13} {r.label[:38]:38} {r.priority or '-':8} {r.demand:>7g} {r.level:6} "
                   f"{r.items:>5} {r.activities:>10}")
        if r.status:
            click.echo(f"{'':14}because: {'; '.join(r.reasons())}")
    click.echo("gap: demand high and supply low; shared value: demand and priority both high")
