"""The audit log of changes managers make to content: who, when, which item, before and after."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from pathlib import Path
from typing import Any, Iterator

AUDIT = "audit.jsonl"


def append(data: Path, who: str, item_id: str, path: str, changes: dict[str, tuple[Any, Any]],
           action: str = "tag") -> dict[str, Any]:
    """Add one entry (one JSON line; appends from several processes are serialised with a lock)."""
    entry = {
        "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "who": who,
        "action": action,
        "item": item_id,
        "path": path,
        "changes": {key: {"before": before, "after": after} for key, (before, after) in changes.items()
                    if before != after},
    }
    data.mkdir(parents=True, exist_ok=True)
    with open(data / AUDIT, "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return entry


def entries(data: Path, item_id: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Entries, newest first, optionally for one item."""
    found = [e for e in _read(data) if item_id is None or e.get("item") == item_id]
    found.reverse()
    return found[:limit] if limit else found


def _read(data: Path) -> Iterator[dict[str, Any]]:
    try:
        handle = open(data / AUDIT, encoding="utf-8")
    except FileNotFoundError:
        return
    with handle:
        for line in handle:
            line = line.strip()
            if line:
                try:
                    yield json.loads(line)
                except ValueError:
                    continue  # a torn line from a crash mid-write: skip it, keep the rest
