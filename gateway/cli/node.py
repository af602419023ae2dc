"""`fengqiao node run`: one jurisdiction's node, until Ctrl-C or SIGTERM."""

import asyncio
import logging
import signal

import typer

from gateway.cli.console import reporting_input_errors
from gateway.cli.settings_option import ConfigOption, node_settings
from services.keyring import KeysMissing
from services.runtime import NodeRuntime

app = typer.Typer(help="Run this jurisdiction's node.", no_args_is_help=True)


@app.command("run")
def run(config: ConfigOption = None) -> None:
    """Start the node: store, NATS (embedded when no URL is set), relay, receiver, receipts."""
    with reporting_input_errors():
        settings = node_settings(config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        asyncio.run(_serve(NodeRuntime(settings)))
    except KeysMissing as missing:
        typer.echo(f"error: {missing}", err=True)
        raise typer.Exit(2) from None


async def _serve(runtime: NodeRuntime) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    node = await runtime.start()
    typer.echo(
        f"node {node.jurisdiction} running (store {runtime.settings.store_url}); Ctrl-C stops it"
    )
    try:
        await stop.wait()
    finally:
        await runtime.stop()
        typer.echo(f"node {node.jurisdiction} stopped")
