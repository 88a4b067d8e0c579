"""Accounts (members and managers) and the key that signs web sessions, kept in the data folder.

An account has a role (kb.access): a member reads members' content, a manager
also reads everything else and may write. Accounts made before roles existed
were all managers' and stay so.

Passwords are stored only as salted hashes (Werkzeug's scrypt); the file is
written atomically and readable by its owner only. Each account also holds a
random session token: a web session carries the token it was given at login and
is valid only while the account exists and still has that token, so logging out
(which draws a new token) or removing the account ends every session at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import re
import secrets
from pathlib import Path
from typing import Iterator

from werkzeug.security import check_password_hash, generate_password_hash

from indexer import locking
from indexer.files import write_atomic
from kb.errors import ConfigError, NotFoundError

USERS = "users.json"
USERS_LOCK = ".users.lock"
SECRET = "secret_key"
NAME = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
MIN_PASSWORD = 10


def _load(data: Path) -> dict[str, dict[str, str]]:
    try:
        return json.loads((data / USERS).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise ConfigError(f"{data / USERS} is not valid JSON: {exc}") from None


def _save(data: Path, users: dict[str, dict[str, str]]) -> None:
    data.mkdir(parents=True, exist_ok=True)
    write_atomic(data / USERS, json.dumps(users, indent=2, sort_keys=True))
    os.chmod(data / USERS, 0o600)


@contextlib.contextmanager
def _changing(data: Path) -> Iterator[dict[str, dict[str, str]]]:
    """Read the accounts for a change and save them after, one process at a time (web workers, CLI)."""
    data.mkdir(parents=True, exist_ok=True)
    with open(data / USERS_LOCK, "a") as lock:
        locking.lock(lock)
        users = _load(data)
        yield users
        _save(data, users)


ACCOUNT_ROLES = ("member", "manager")


def check_account(name: str, password: str, role: str) -> None:
    """ConfigError naming what is wrong with a new account's name, password or role."""
    if not NAME.match(name):
        raise ConfigError(f"user name {name!r} must be 2-32 lower-case letters, digits, '.', '_' or '-', "
                          "starting with a letter")
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"the password must be at least {MIN_PASSWORD} characters long")
    if role not in ACCOUNT_ROLES:
        raise ConfigError(f"role {role!r} is not one of {', '.join(ACCOUNT_ROLES)}")


def new_account(password: str, role: str) -> dict[str, str]:
    return {"hash": generate_password_hash(password), "role": role,
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "session": secrets.token_urlsafe(16)}


def add_user(data: Path, name: str, password: str, role: str = "manager") -> None:
    """Create an account; ConfigError names what is wrong with the name, password or role."""
    check_account(name, password, role)
    account = new_account(password, role)
    with _changing(data) as users:
        if name in users:
            raise ConfigError(f"user {name!r} already exists")
        users[name] = account


def add_users(data: Path, accounts: list[tuple[str, str, str]]) -> list[str]:
    """Create several accounts (name, password, role) at once, all or none; the names that already
    existed are skipped and returned. ConfigError names the first bad entry."""
    for name, password, role in accounts:
        check_account(name, password, role)
    made = {name: new_account(password, role) for name, password, role in accounts}
    with _changing(data) as users:
        existing = [name for name in made if name in users]
        users.update({name: account for name, account in made.items() if name not in users})
    return existing


def role_of(data: Path, name: str) -> str | None:
    """The account's role (an account from before roles is a manager's); None when there is no such account."""
    info = _load(data).get(name)
    return None if info is None else info.get("role", "manager")


def remove_user(data: Path, name: str) -> None:
    """Delete an account; its web sessions end with it."""
    with _changing(data) as users:
        if name not in users:
            raise NotFoundError(f"no user {name!r}")
        del users[name]


def list_users(data: Path) -> list[tuple[str, str, str]]:
    """(name, role, created) of every account."""
    return sorted((name, info.get("role", "manager"), info.get("created", "")) for name, info in _load(data).items())


@functools.cache
def dummy_hash() -> str:
    """A hash to check unknown names against, made once per process with the same method as real ones."""
    return generate_password_hash(secrets.token_hex(16))


def check_login(data: Path, name: str, password: str) -> bool:
    """True when the name exists and the password matches its hash.

    An unknown name costs one hash check too, so response times do not reveal which names exist.
    """
    info = _load(data).get(name)
    if info is None:
        check_password_hash(dummy_hash(), password)
        return False
    return check_password_hash(info["hash"], password)


def session_token(data: Path, name: str) -> str | None:
    """The token a valid session of `name` carries; None when there is no such account."""
    info = _load(data).get(name)
    if info is None:
        return None
    return info.get("session", "")


def end_sessions(data: Path, name: str) -> None:
    """End every session of an account (at logout): it gets a new session token."""
    if session_token(data, name) is None:
        return
    with _changing(data) as users:
        if name in users:
            users[name]["session"] = secrets.token_urlsafe(16)


def secret_key(data: Path) -> str:
    """The key signing web sessions: created once and kept, so every worker and restart shares it."""
    path = data / SECRET
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise ConfigError(f"cannot read the session key {path}: {exc}") from None
    data.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker created it first: use theirs
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
