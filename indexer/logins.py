"""Failed logins, counted per account and per address, so passwords cannot be guessed quickly.

After `attempts` failures within `window` seconds for one account name, or from one
address, further logins for that name or from that address are refused without
checking the password, until the oldest of those failures is `window` seconds old.
A refused login is not counted, so whoever keeps trying cannot extend the wait:
the real user waits `window` seconds at most. A successful login clears the
account's failures (not the address's: logging in to one's own account must not
reset the count of guesses at others).

The failures live in a small SQLite file in the data folder, so every worker of a
deployment shares them; rows older than the window are deleted, so addresses are
kept no longer than that. A file that cannot be used (a read-only data folder) is
logged and does not stop logins.
"""

from __future__ import annotations

import logging
import math
import os
import sqlite3
import time
from contextlib import closing
from pathlib import Path

log = logging.getLogger(__name__)
LOGINS_FILE = "logins.sqlite"


def _connect(data: Path) -> sqlite3.Connection:
    data.mkdir(parents=True, exist_ok=True)
    path = data / LOGINS_FILE
    if not path.exists():  # it holds addresses: readable by its owner only, like the accounts
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    conn = sqlite3.connect(path, timeout=5)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE IF NOT EXISTS failures(key TEXT, at REAL)")
    conn.execute("CREATE INDEX IF NOT EXISTS failures_key ON failures(key, at)")
    return conn


def _keys(name: str, address: str) -> tuple[str, str]:
    return "user:" + name.strip().casefold(), "addr:" + (address or "unknown")


def wait_seconds(data: Path, name: str, address: str, *, attempts: int, window: int,
                 now: float | None = None) -> int:
    """Seconds before a login for `name` from `address` may be tried again; 0 when it may be tried now."""
    now = time.time() if now is None else now
    wait = 0.0
    try:
        with closing(_connect(data)) as conn, conn:
            conn.execute("DELETE FROM failures WHERE at <= ?", (now - window,))
            for key in _keys(name, address):
                recent = conn.execute("SELECT at FROM failures WHERE key = ? AND at > ? "
                                      "ORDER BY at DESC LIMIT 1 OFFSET ?", (key, now - window, attempts - 1)).fetchone()
                if recent is not None:  # `attempts` failures in the window: wait until the oldest of them ages out
                    wait = max(wait, recent[0] + window - now)
    except (sqlite3.Error, OSError) as exc:
        log.warning("failed logins cannot be counted in %s: %s", data / LOGINS_FILE, exc)
    return math.ceil(wait) if wait > 0 else 0


def record_failure(data: Path, name: str, address: str, now: float | None = None) -> None:
    """Count one failed login against the account name and the address."""
    now = time.time() if now is None else now
    try:
        with closing(_connect(data)) as conn, conn:
            conn.executemany("INSERT INTO failures VALUES (?, ?)", [(key, now) for key in _keys(name, address)])
    except (sqlite3.Error, OSError) as exc:
        log.warning("failed login not counted in %s: %s", data / LOGINS_FILE, exc)


def record_success(data: Path, name: str) -> None:
    """Forget the account's failures after a successful login."""
    if not (data / LOGINS_FILE).is_file():
        return
    try:
        with closing(_connect(data)) as conn, conn:
            conn.execute("DELETE FROM failures WHERE key = ?", (_keys(name, "")[0],))
    except (sqlite3.Error, OSError) as exc:
        log.warning("failed logins of %s not cleared in %s: %s", name, data / LOGINS_FILE, exc)
