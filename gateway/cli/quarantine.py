"""`fengqiao quarantine list|redrive`: what the node received and did not apply, and why."""

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gateway.cli.console import BadInput, reporting_input_errors
from gateway.cli.settings_option import ConfigOption, migrated_store, node_settings
from services.bootstrap import open_node
from services.bus.inbox import Receipt
from services.bus.quarantine import (
    QuarantineEntry,
    UnknownQuarantineEntry,
    list_entries,
    redrive,
)
from services.runtime import utc_now
from services.settings import NodeSettings

app = typer.Typer(help="List and re-drive quarantined envelopes.", no_args_is_help=True)


@app.command("list")
def list_command(
    config: ConfigOption = None,
    all_entries: Annotated[bool, typer.Option("--all", help="also re-driven entries")] = False,
    limit: Annotated[int, typer.Option(min=1)] = 100,
) -> None:
    """Quarantined envelopes, newest first, with their reasons."""
    with reporting_input_errors():
        settings = node_settings(config)
        entries = asyncio.run(_entries(settings, None if all_entries else "held", limit))
    table = Table("id", "received", "reason", "sender", "event", "status", "detail")
    for e in entries:
        table.add_row(
            str(e.id),
            f"{e.received_at:%Y-%m-%d %H:%M:%S}",
            e.reason,
            e.sender or "?",
            e.event_id or "?",
            e.status,
            e.detail[:80],
        )
    Console().print(table)
    typer.echo(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}")


@app.command("redrive")
def redrive_command(
    entry: Annotated[int, typer.Argument(help="the entry's id (see `quarantine list`)")],
    config: ConfigOption = None,
) -> None:
    """Try an entry again with the agreements and contracts in force now."""
    with reporting_input_errors():
        settings = node_settings(config)
        try:
            receipt = asyncio.run(_redrive(settings, entry))
        except UnknownQuarantineEntry as unknown:
            raise BadInput(str(unknown)) from None
    if receipt.reason:
        typer.echo(f"entry {entry}: still {receipt.outcome} ({receipt.reason})")
        raise typer.Exit(1)
    typer.echo(f"entry {entry}: {receipt.outcome}")


async def _entries(settings: NodeSettings, status: str | None, limit: int) -> list[QuarantineEntry]:
    """Read from the store alone (no keys needed), beside the running node."""
    async with migrated_store(settings) as db, db.snapshot() as conn:
        return await list_entries(conn, status, limit)


async def _redrive(settings: NodeSettings, entry: int) -> Receipt:
    parts = await open_node(settings, utc_now)
    try:
        return await redrive(parts.inbox, entry)
    finally:
        await parts.node.db.close()
