"""The audit log of changes managers make to content: who, when, which item, before and after.

A change is recorded before it is made: callers append the entry, then write the
file, so a change is never made without its record (a full disk stops the
change, with a clear error, instead of leaving an unlogged edit). An append
never leaves half a line behind: a failed write is cut off again, and a line
torn by a crash in the past is closed before the next entry, so later entries
stay readable.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer.locking import lock
from kb.errors import StorageError

AUDIT = "audit.jsonl"


def append(data: Path, who: str, item_id: str, path: str, changes: dict[str, tuple[Any, Any]],
           action: str = "tag", reason: str = "") -> dict[str, Any]:
    """Add one entry as one JSON line; StorageError (and nothing written) if the log cannot take it."""
    entry = {
        "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "who": who,
        "action": action,
        "item": item_id,
        "path": path,
        "changes": {key: {"before": before, "after": after} for key, (before, after) in changes.items()
                    if before != after},
    }
    if reason:
        entry["reason"] = reason
    line = (json.dumps(entry, ensure_ascii=False, default=str) + "\n").encode("utf-8")
    log = data / AUDIT
    try:
        data.mkdir(parents=True, exist_ok=True)
        handle = open(log, "a+b", buffering=0)  # unbuffered: a failed write is known at once
    except OSError as exc:
        raise StorageError(f"the audit log {log} cannot be written ({exc.strerror or exc}); "
                           "the change was not made") from None
    with handle:
        lock(handle)  # appends from several processes, one at a time
        size = os.fstat(handle.fileno()).st_size
        handle.seek(max(0, size - 1))
        if size and handle.read(1) != b"\n":
            line = b"\n" + line  # a line torn in the past stays alone on its line
        try:
            written = 0
            while written < len(line):
                written += handle.write(line[written:]) or 0
            os.fsync(handle.fileno())
        except OSError as exc:
            handle.truncate(size)  # no half line left behind
            raise StorageError(f"the audit log {log} cannot be written ({exc.strerror or exc}); "
                               "the change was not made") from None
    return entry


def not_applied(data: Path, entry: dict[str, Any], reason: str) -> None:
    """Record that a logged change could not be made after all (best effort)."""
    try:
        append(data, entry["who"], entry["item"], entry["path"], {}, action=f"{entry['action']}-not-applied",
               reason=reason)
    except StorageError:
        pass


@dataclass
class Log:
    """The entries of the audit log and the numbers of lines that could not be read."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    damaged: list[int] = field(default_factory=list)


def read(data: Path, item_id: str | None = None, limit: int | None = None) -> Log:
    """Entries, newest first, optionally for one item; damaged lines are counted, not hidden."""
    log = Log()
    try:
        handle = open(data / AUDIT, encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return log
    with handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if not line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                log.damaged.append(number)  # torn by a crash or a full disk in the past
                continue
            if item_id is None or entry.get("item") == item_id:
                log.entries.append(entry)
    log.entries.reverse()
    if limit:
        log.entries = log.entries[:limit]
    return log


def entries(data: Path, item_id: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Entries, newest first, optionally for one item."""
    return read(data, item_id, limit).entries
