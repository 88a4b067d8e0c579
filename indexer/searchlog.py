"""The search log: what members search for, without who searched.

Each web search is recorded as its normalised query, its filters, its result count
and the hour it happened; no address, no user, no session. Entries older than the
retention period are deleted. Managers read it through `kb report searches` to see
which words to add as synonyms and which topics are missing.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from indexer.connections import SharedConnections

log = logging.getLogger(__name__)
LOG_FILE = "searches.sqlite"


def normalise(query: str) -> str:
    return " ".join(query.casefold().split())


def _connect(index: Path, shared: bool = False) -> sqlite3.Connection:
    index.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(index / LOG_FILE, timeout=5, check_same_thread=not shared)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE IF NOT EXISTS searches(hour TEXT, query TEXT, filters TEXT, results INTEGER)")
    conn.execute("CREATE INDEX IF NOT EXISTS searches_hour ON searches(hour)")
    return conn


# One connection per log for the whole process (opening one per search cost more than the search).
_writers = SharedConnections(lambda index: _connect(index, shared=True))


def hour_of(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:00")


def record(index: Path, query: str, filters: dict[str, tuple[str, ...]], results: int,
           when: dt.datetime | None = None) -> None:
    """Add one search; a log that cannot be written never breaks the search itself."""
    when = when or dt.datetime.now(dt.timezone.utc)
    try:
        with _writers.using(index, reopen=not (index / LOG_FILE).exists()) as conn, conn:
            conn.execute("INSERT INTO searches VALUES (?, ?, ?, ?)",
                         (hour_of(when), normalise(query), json.dumps(dict(sorted(filters.items()))), results))
    except sqlite3.Error as exc:
        log.warning("search log %s not written: %s", index / LOG_FILE, exc)


def prune(index: Path, keep_days: int, today: dt.date | None = None) -> int:
    """Delete entries older than `keep_days`; return how many."""
    if not (index / LOG_FILE).is_file():
        return 0
    cutoff = (today or dt.date.today()) - dt.timedelta(days=keep_days)
    with closing(_connect(index)) as conn, conn:
        return conn.execute("DELETE FROM searches WHERE hour < ?", (cutoff.isoformat(),)).rowcount


def report(index: Path, days: int, limit: int = 20, today: dt.date | None = None) -> dict[str, Any]:
    """Top queries and zero-result queries of the last `days` days."""
    since = ((today or dt.date.today()) - dt.timedelta(days=days)).isoformat()
    if not (index / LOG_FILE).is_file():
        return {"since": since, "searches": 0, "top": [], "zero_results": []}
    with closing(_connect(index)) as conn:
        total = conn.execute("SELECT count(*) FROM searches WHERE hour >= ?", (since,)).fetchone()[0]
        top = conn.execute(
            "SELECT query, filters, count(*), avg(results) FROM searches WHERE hour >= ? "
            "GROUP BY query, filters ORDER BY count(*) DESC, query LIMIT ?", (since, limit)).fetchall()
        zero = conn.execute(
            "SELECT query, filters, count(*) FROM searches WHERE hour >= ? AND results = 0 "
            "GROUP BY query, filters ORDER BY count(*) DESC, query LIMIT ?", (since, limit)).fetchall()
    return {
        "since": since,
        "searches": total,
        "top": [{"query": q, "filters": json.loads(f), "count": n, "average_results": round(r, 1)}
                for q, f, n, r in top],
        "zero_results": [{"query": q, "filters": json.loads(f), "count": n} for q, f, n in zero],
    }
