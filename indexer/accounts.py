"""Manager accounts and the key that signs web sessions, kept in the data folder.

Passwords are stored only as salted hashes (Werkzeug's scrypt); the file is
written atomically and readable by its owner only.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from indexer.store import write_atomic
from kb.errors import ConfigError, NotFoundError

USERS = "users.json"
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


def add_user(data: Path, name: str, password: str) -> None:
    """Create an account; ConfigError names what is wrong with the name or password."""
    if not NAME.match(name):
        raise ConfigError(f"user name {name!r} must be 2-32 lower-case letters, digits, '.', '_' or '-', "
                          "starting with a letter")
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"the password must be at least {MIN_PASSWORD} characters long")
    users = _load(data)
    if name in users:
        raise ConfigError(f"user {name!r} already exists")
    users[name] = {"hash": generate_password_hash(password),
                   "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    _save(data, users)


def remove_user(data: Path, name: str) -> None:
    users = _load(data)
    if name not in users:
        raise NotFoundError(f"no user {name!r}")
    del users[name]
    _save(data, users)


def list_users(data: Path) -> list[tuple[str, str]]:
    """(name, created) of every account."""
    return sorted((name, info.get("created", "")) for name, info in _load(data).items())


def check_login(data: Path, name: str, password: str) -> bool:
    """True when the name exists and the password matches its hash."""
    info = _load(data).get(name)
    if info is None:
        # Spend the same time as a real check, so response times do not reveal names.
        check_password_hash(generate_password_hash("x"), password)
        return False
    return check_password_hash(info["hash"], password)


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
