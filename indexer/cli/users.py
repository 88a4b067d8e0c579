"""Accounts for the web UI: members, who read members' content, and managers, who read all and write."""

from __future__ import annotations

import csv
import io
import secrets
from typing import TYPE_CHECKING, TextIO

import click

from indexer.cli import cli
from indexer.cli.edge import EPILOG

if TYPE_CHECKING:
    from indexer.library import Library


@cli.group(epilog=EPILOG)
def user() -> None:
    """Accounts for the web UI: members and managers.

    \b
    Examples:
      kb user add ama --role manager
      kb user import members.csv > passwords.csv
    """


@user.command("add", epilog=EPILOG)
@click.argument("name")
@click.option("--role", type=click.Choice(("member", "manager")), default="manager", show_default=True,
              help="A member reads public and members' content; a manager reads everything and may write.")
@click.password_option(help="The password (asked for, twice, when not given).")
@click.pass_obj
def user_add(library: Library, name: str, role: str, password: str) -> None:
    """Create an account; the password is stored only as a salted hash.

    \b
    Example:
      kb user add ama --role member
    """
    from indexer.accounts import add_user

    add_user(library.data, name, password, role)
    click.echo(f"Created {role} {name}.")


@user.command("import", epilog=EPILOG)
@click.argument("members", type=click.File("r", encoding="utf-8-sig"))
@click.pass_obj
def user_import(library: Library, members: TextIO) -> None:
    """Create accounts from a membership list (CSV with a `name` column, and optionally `role`:
    member, the default, or manager). Each new account gets a random password; the names and
    passwords are printed as CSV, once, for you to pass on. Names that exist already are skipped.

    \b
    Example:
      kb user import members.csv > passwords.csv
    """
    from indexer.accounts import add_users, check_account
    from kb.errors import ConfigError

    reader = csv.DictReader(members)
    if reader.fieldnames is None or "name" not in [f.strip().lower() for f in reader.fieldnames]:
        raise ConfigError(f"{members.name}: expected a CSV file with a 'name' column")
    accounts = []
    for number, row in enumerate(reader, 2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        if not row.get("name"):
            raise ConfigError(f"{members.name}: line {number}: the name is empty")
        accounts.append((row["name"], secrets.token_urlsafe(12), row.get("role") or "member", number))
    names = [a[0] for a in accounts]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"{members.name}: {', '.join(twice)} listed more than once")
    for name, password, role, number in accounts:
        try:
            check_account(name, password, role)
        except ConfigError as exc:
            raise ConfigError(f"{members.name}: line {number}: {exc}") from None
    existing = add_users(library.data, [(name, password, role) for name, password, role, _ in accounts])
    table = io.StringIO()
    out = csv.writer(table, lineterminator="\n")
    out.writerow(["name", "role", "password"])
    out.writerows([name, role, password] for name, password, role, _ in accounts if name not in existing)
    click.echo(table.getvalue(), nl=False)
    for name in existing:
        click.echo(f"warning: {name} exists already; left as it is", err=True)


@user.command("list", epilog=EPILOG)
@click.pass_obj
def user_list(library: Library) -> None:
    """List accounts with their roles.

    \b
    Example:
      kb user list
    """
    from indexer.accounts import list_users

    for name, role, created in list_users(library.data):
        click.echo(f"{name}  {role}  (created {created})")


@user.command("remove", epilog=EPILOG)
@click.argument("name")
@click.pass_obj
def user_remove(library: Library, name: str) -> None:
    """Delete an account; its web sessions end with it.

    \b
    Example:
      kb user remove ama
    """
    from indexer.accounts import remove_user

    remove_user(library.data, name)
    click.echo(f"Removed user {name}.")
