"""`fengqiao users add|list|revoke`: who may call this node's API, and with which role."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.cli.console import fail, reporting_input_errors, stdout_console
from gateway.cli.settings_option import ConfigOption, migrated_store, node_settings
from services.settings import NodeSettings
from services.users.accounts import add_user, list_users, revoke_user
from services.users.model import Role, User, UserError

app = typer.Typer(help="Add, list and revoke the users of this node's API.", no_args_is_help=True)
T = TypeVar("T")
NameArgument = Annotated[str, typer.Argument(help="the user's name, e.g. clerk.li")]


@app.command("add")
def add_command(
    name: NameArgument,
    role: Annotated[Role, typer.Option("--role", help="what the user does here")],
    config: ConfigOption = None,
) -> None:
    """Add a user and print their API token: once, it is stored only as a digest."""
    token = _run(config, lambda conn: add_user(conn, name, role, datetime.now(UTC)))
    typer.echo(f"user {name} ({role}) added; their token (shown once, keep it secret):")
    typer.echo(token)


@app.command("list")
def list_command(config: ConfigOption = None) -> None:
    """Every user, with their role and whether their token is revoked."""
    found: list[User] = _run(config, list_users, read_only=True)
    table = Table("name", "role", "created", "revoked")
    for user in found:
        revoked = f"{user.revoked_at:%Y-%m-%d %H:%M}" if user.revoked_at else ""
        table.add_row(user.name, user.role, f"{user.created_at:%Y-%m-%d %H:%M}", revoked)
    stdout_console().print(table)
    typer.echo(f"{len(found)} user{'' if len(found) == 1 else 's'}")


@app.command("revoke")
def revoke_command(name: NameArgument, config: ConfigOption = None) -> None:
    """Revoke a user's token: the API refuses it from now on (the name stays on file)."""
    user = _run(config, lambda conn: revoke_user(conn, name, datetime.now(UTC)))
    typer.echo(f"user {user.name}: token revoked at {user.revoked_at:%Y-%m-%d %H:%M:%S} UTC")


def _run(
    config: ConfigOption, work: Callable[[AsyncConnection], Awaitable[T]], read_only: bool = False
) -> T:
    with reporting_input_errors():
        settings = node_settings(config)
        try:
            return asyncio.run(in_store(settings, work, read_only))
        except UserError as refused:
            fail(str(refused))


async def in_store(
    settings: NodeSettings, work: Callable[[AsyncConnection], Awaitable[T]], read_only: bool = False
) -> T:
    """Run `work` in one transaction on the node's store, migrated first; `read_only` work reads
    a snapshot, not waiting for a running node's write lock. Only the store is opened: users
    can be managed before the node's keys exist, or while the node runs."""
    async with (
        migrated_store(settings) as db,
        db.snapshot() if read_only else db.transaction() as conn,
    ):
        return await work(conn)
