"""`fengqiao demo`: two regions, the Dalang and Qianfeng nodes and the seed cases on this
machine, told step by step; then it serves both nodes until Ctrl-C (or, with --once, exits)."""

import asyncio
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Annotated

import httpx
import typer

from gateway.demo.desk import StepRefused
from gateway.demo.nodes import NodeFailed
from gateway.demo.seed import DALANG, QIANFENG
from gateway.demo.stage import two_bureaus
from gateway.demo.story import access, play
from services.embedded_nats import NatsServerUnavailable

app = typer.Typer(help="The two-bureau demo.")


def say(line: str) -> None:
    """One line of the narration, on stdout at once."""
    typer.echo(line)


@app.callback(invoke_without_command=True)
def demo(
    once: Annotated[
        bool,
        typer.Option("--once", "--no-serve", help="exit after the scenarios instead of serving"),
    ] = False,
    keep: Annotated[
        bool, typer.Option("--keep", help="keep the stores, configs and logs afterwards")
    ] = False,
) -> None:
    """Start two NATS regions and the Dalang and Qianfeng nodes, replay the seed cases over the
    HTTP API, print what happens and the consoles and logins, and serve until Ctrl-C."""
    root = Path(tempfile.mkdtemp(prefix="fengqiao-demo-"))
    say(f"Fengqiao 枫桥 demo: {DALANG.zh} {DALANG.en} <-> {QIANFENG.zh} {QIANFENG.en}")
    try:
        finished = asyncio.run(_until_stopped(root, once))
    except (StepRefused, NodeFailed, NatsServerUnavailable, httpx.HTTPError) as failed:
        typer.echo(f"error: the demo stopped: {failed}", err=True)
        raise typer.Exit(1) from None
    finally:
        _tidy(root, keep)
    if not finished:
        raise typer.Exit(130)


def _tidy(root: Path, keep: bool) -> None:
    if keep:
        say(f"Both nodes and both NATS servers are stopped; their files are kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
        say(f"Both nodes and both NATS servers are stopped; {root} is removed.")


async def _until_stopped(root: Path, once: bool) -> bool:
    """Run the demo until it is done (--once) or SIGINT/SIGTERM; False if stopped midway."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    serving = asyncio.Event()
    work = asyncio.create_task(_run(root, once, stop, serving))
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({work, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if not work.done() and not serving.is_set():
        say("\nStopped midway: stopping the nodes, then the NATS servers.")
        work.cancel()
        try:
            await work
        except asyncio.CancelledError:
            return False
    return await work


async def _run(root: Path, once: bool, stop: asyncio.Event, serving: asyncio.Event) -> bool:
    async with two_bureaus(root, say) as stage:
        await play(stage, say)
        if once:
            return True
        for line in access(stage):
            say(line)
        say("\nBoth nodes keep serving. Ctrl-C stops them and the NATS servers.")
        serving.set()
        await stop.wait()
        say("\nStopping: the nodes, then the NATS servers.")
    return True
