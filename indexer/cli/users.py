"""Manager accounts for the web UI."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from indexer.cli import cli
from indexer.cli.edge import EPILOG

if TYPE_CHECKING:
    from indexer.library import Library


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
def user_add(library: Library, name: str, password: str) -> None:
    """Create a manager account; the password is stored only as a salted hash.

    \b
    Example:
      kb user add ama
    """
    from indexer.accounts import add_user

    add_user(library.data, name, password)
    click.echo(f"Created user {name}.")


@user.command("list", epilog=EPILOG)
@click.pass_obj
def user_list(library: Library) -> None:
    """List manager accounts.

    \b
    Example:
      kb user list
    """
    from indexer.accounts import list_users

    for name, created in list_users(library.data):
        click.echo(f"{name}  (created {created})")


@user.command("remove", epilog=EPILOG)
@click.argument("name")
@click.pass_obj
def user_remove(library: Library, name: str) -> None:
    """Delete a manager account.

    \b
    Example:
      kb user remove ama
    """
    from indexer.accounts import remove_user

    remove_user(library.data, name)
    click.echo(f"Removed user {name}.")
