"""`fengqiao node run`: one jurisdiction's node and its HTTP API, until Ctrl-C or SIGTERM."""

import asyncio
import logging
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import typer
import uvicorn

from gateway.app import create_app
from gateway.cli.console import reporting_input_errors
from gateway.cli.settings_option import ConfigOption, migrated_store, node_settings
from gateway.node_api import NodeApi
from services.collector import settle_collector
from services.logs import configure_logging
from services.runtime import NodeRuntime
from services.settings import NodeSettings, without_password

app = typer.Typer(help="Run this jurisdiction's node.", no_args_is_help=True)
log = logging.getLogger("fengqiao.node")


class NodeHttpServer(uvicorn.Server):
    """uvicorn in the node's event loop; the node's own signal handlers stop it."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn would swap SIGINT/SIGTERM for its own handlers and re-raise them afterwards;
        # the node must first stop HTTP, then drain NATS and close the store, in that order.
        yield


def http_server(runtime: NodeRuntime) -> NodeHttpServer:
    """The node's API served in its own event loop, logging through the node's logging."""
    return NodeHttpServer(
        uvicorn.Config(
            create_app(
                NodeApi.from_runtime(runtime),
                timedelta(minutes=runtime.settings.console_idle_minutes),
            ),
            log_config=None,
            lifespan="off",
            server_header=False,
        )
    )


@app.command("run")
def run(config: ConfigOption = None) -> None:
    """Start the node: store, NATS (embedded when no URL is set), relay, receiver, receipts,
    and the HTTP API on http_host:http_port."""
    with reporting_input_errors():
        settings = node_settings(config)
    configure_logging(settings.log_format, settings.log_level)
    try:
        listener = listen(settings.http_host, settings.http_port)
    except OSError as exc:
        typer.echo(
            f"error: cannot listen on {settings.http_host}:{settings.http_port}: {exc}", err=True
        )
        raise typer.Exit(2) from None
    try:
        with reporting_input_errors(files=False):  # its keys, agreements and store
            asyncio.run(_serve(NodeRuntime(settings), listener))
    finally:
        listener.close()


def listen(host: str, port: int) -> socket.socket:
    """The API's listening socket, bound before the node starts so a taken port fails fast.

    Made with its protocol named (IPPROTO_TCP), which the connections it accepts inherit:
    asyncio turns Nagle's algorithm off only on sockets that name it, and with it on, a
    response written in two parts (uvicorn writes the head, then the body) waits for the
    client's delayed ACK of the first on a kept-alive connection, ~40 ms on Linux.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


async def _serve(runtime: NodeRuntime, listener: socket.socket) -> None:
    """The API from the moment the store is open; NATS, the streams and the loops as soon as
    NATS answers (the outbox takes the work meanwhile). Until Ctrl-C or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    node = await runtime.open()  # keys, agreements, store: a setup error is raised here
    settle_collector()
    server = http_server(runtime)
    http = asyncio.create_task(server.serve(sockets=[listener]), name="http")
    bus = asyncio.create_task(runtime.start(), name="bus")
    stopping = asyncio.create_task(stop.wait())
    try:
        host, port = listener.getsockname()[:2]
        store = without_password(runtime.settings.store_url)
        log.info(
            "node %s running (store %s), API on http://%s:%s (interactive docs at /docs); "
            "Ctrl-C stops it",
            node.jurisdiction,
            store,
            host,
            port,
        )
        done, _ = await asyncio.wait({http, stopping, bus}, return_when=asyncio.FIRST_COMPLETED)
        if done == {bus}:
            bus.result()  # the bus failing to start ends the node, with its error
            await asyncio.wait({http, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        bus.cancel()  # still waiting for NATS, perhaps
        server.should_exit = True
        await asyncio.wait({bus, http})
        await runtime.stop()
        log.info("node %s stopped", node.jurisdiction)


@app.command("migrate")
def migrate(config: ConfigOption = None) -> None:
    """Create the store or bring it to the newest schema (back it up first); `node run` does
    the same at start."""
    with reporting_input_errors():
        settings = node_settings(config)
        asyncio.run(_migrate(settings))
    typer.echo(f"store {without_password(settings.store_url)} is at the newest schema")


async def _migrate(settings: NodeSettings) -> None:
    """Opening the store alone migrates it."""
    async with migrated_store(settings):
        pass
