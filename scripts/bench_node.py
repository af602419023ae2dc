"""One node of `make bench` as its own OS process, driven over stdin/stdout one JSON line a time.

    python scripts/bench_node.py SETTINGS.json

It serves the node's HTTP API on a free loopback port, as `fengqiao node run` does, and answers
`{"ready": true, "api": URL, "token": T}` once started (T: a mediator's token), then for each
command line one reply line:
`{"send": N, "batch": B, "rate": R|null, "first": K}` enqueues events K..K+N-1 to the partner
through `Node.send_many`, B per transaction, as fast as it can or at R events/s, and replies with
the wall-clock time each batch committed (`accepted`: [[event_id, t], ...] when asked with
`"stamps": true`). `{"stop": true}` stops the node. The node applies nothing beyond the inbox row:
the bus is what is measured.
"""

import asyncio
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.cli.node import http_server, listen
from services.bus.outbox import Outgoing
from services.collector import settle_collector
from services.node import Node
from services.runtime import NodeRuntime
from services.settings import NodeSettings
from services.users.accounts import add_user
from services.users.model import Role
from tests.chaos.conftest import dispute
from tests.support.live import recording_handlers

CASES = 400


async def send(node: Node, recipient: str, command: dict[str, Any]) -> dict[str, Any]:
    """Enqueue the events a `send` command asks for; the commit time of each batch."""
    first, count, batch = int(command["first"]), int(command["send"]), int(command["batch"])
    rate: float | None = command.get("rate")
    stamps: list[tuple[str, float]] = []
    started = time.time()
    for offset in range(0, count, batch):
        if rate:
            # Paced from the start so that a slow batch is caught up, not the load lowered.
            await asyncio.sleep(max(0.0, started + offset / rate - time.time()))
        numbers = range(first + offset, first + min(offset + batch, count))
        outgoing = [Outgoing(dispute(n), recipient, f"case-{n % CASES:04d}") for n in numbers]
        async with node.unit_of_work() as conn:
            sent = await node.send_many(conn, outgoing)
        committed = time.time()
        if command.get("stamps"):
            stamps.extend((s.envelope.id, committed) for s in sent)
        await asyncio.sleep(0)
    return {"sent": count, "started": started, "ended": time.time(), "accepted": stamps}


def reply(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def main(settings_file: Path) -> None:
    settings = NodeSettings.model_validate(json.loads(settings_file.read_text()))
    runtime = NodeRuntime(settings, recording_handlers(["dispute.reported"]))
    node = await runtime.start()
    async with node.db.transaction() as conn:
        # A user of this start's own: a node restarted (the backlog phase) adds another.
        token = await add_user(conn, f"bench.mediator.{os.getpid()}", Role.MEDIATOR, node.clock())
    listener = listen("127.0.0.1", 0)  # as `fengqiao node run` listens and serves
    server = http_server(runtime)
    http = asyncio.create_task(server.serve(sockets=[listener]), name="http")
    settle_collector()  # as `fengqiao node run` does
    partner = settings.partners[0].jurisdiction
    api = f"http://127.0.0.1:{listener.getsockname()[1]}"
    reply({"ready": True, "api": api, "token": token})
    try:
        while line := await asyncio.to_thread(sys.stdin.readline):
            command = json.loads(line)
            if command.get("stop"):
                break
            reply(await send(node, partner, command))
    finally:
        server.should_exit = True
        await http
        listener.close()
        await runtime.stop()


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    asyncio.run(main(Path(sys.argv[1])))
