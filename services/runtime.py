"""A running node: store, NATS, streams, the relay, the receiver and the receipts, from settings.

Nothing is built at import time; `NodeRuntime(settings).start()` builds everything and `stop()`
ends it, draining NATS so that acknowledged work is not cut off.
"""

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import nats
from nats.aio.client import Client as NatsClient

from services.bootstrap import RENUMBERED, HandlerTables, NodeParts, flow_handlers, open_node
from services.bus.catch_up import catch_up
from services.bus.gaps import GapRepair
from services.bus.receipts import issue_receipts
from services.bus.receiver import Receiver, consumer_name
from services.bus.relay import Relay
from services.bus.topology import Partner, inbound_stream
from services.bus.transport import (
    DurableConsumer,
    consumed_through,
    ensure_inbound_stream,
    ensure_outbound_stream,
    patiently,
    stop_if_cancelled,
)
from services.embedded_nats import EmbeddedNats
from services.nats_events import NatsEvents
from services.node import Node
from services.settings import NodeSettings

log = logging.getLogger(__name__)

STOP_WAIT_S = 10.0
"""How long stop() waits for each of its steps (the loops to end, NATS to close)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


async def supervised(name: str, loop: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a node loop for ever: an unexpected failure is logged with its traceback and the
    loop restarted after a pause, so one bad moment never silently stops delivery."""
    while True:
        try:
            await loop()
        except asyncio.CancelledError:
            raise
        except Exception:
            stop_if_cancelled()  # a cancel swallowed on the way is not a failure to restart
            log.exception("%s loop failed; restarting in 1 s", name)
            await asyncio.sleep(1.0)


class NodeRuntime:
    """One jurisdiction's node, running."""

    def __init__(
        self,
        settings: NodeSettings,
        flow_handlers: HandlerTables = flow_handlers,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self.flow_handlers = flow_handlers
        self.clock = clock
        self.embedded: EmbeddedNats | None = None
        self.nc: NatsClient | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self._node: Node | None = None
        self.parts: NodeParts | None = None  # the store, keys and inbox, once opened
        self.stop_wait_s = STOP_WAIT_S

    @property
    def node(self) -> Node:
        if self._node is None:
            raise RuntimeError("the node is not started")
        return self._node

    async def open(self) -> Node:
        """Open the store, read the agreements and keys, assemble the inbox: all the API needs
        (the outbox takes work without NATS). Once; `start()` opens first if not yet."""
        if self.parts is None:
            self.parts = await open_node(self.settings, self.clock, self.flow_handlers)
            self._node = self.parts.node
        return self.parts.node

    async def start(self) -> Node:
        """Open, connect to NATS (waiting for it as long as it takes), declare the streams and
        start the loops."""
        s = self.settings
        node = await self.open()
        assert self.parts is not None
        db, inbox = node.db, self.parts.inbox
        nc = await self._connect()
        js = nc.jetstream()
        partners = [
            Partner(p.jurisdiction, None if p.domain == s.js_domain else p.domain)
            for p in s.partners
        ]
        replicas = s.stream_replicas
        await patiently(
            "declaring the outbound stream",
            lambda: ensure_outbound_stream(js, s.jurisdiction, replicas=replicas),
        )
        # Before the relay signs on from where the store stands (a store restored from a backup).
        recipients = [p.jurisdiction for p in s.partners]
        await catch_up(node, nc, recipients, RENUMBERED, tail=2 * s.relay_batch)
        await patiently(
            "declaring the inbound stream",
            lambda: ensure_inbound_stream(js, s.jurisdiction, partners, replicas=replicas),
        )
        consumer = await patiently(
            "binding the inbox consumer",
            lambda: DurableConsumer.bind(
                js, inbound_stream(s.jurisdiction), consumer_name(s.jurisdiction)
            ),
        )
        relay = Relay(
            db, js, s.jurisdiction, self.clock, node.published, s.relay_batch, s.relay_batch_bytes
        )
        gaps = GapRepair(
            nc,
            s.jurisdiction,
            {p.jurisdiction: p.domain for p in partners},
            inbox,
            asyncio.get_running_loop().time,
            s.gap_repair_after_s,
        )
        await gaps.resume(
            await patiently("reading the inbox consumer", lambda: consumed_through(js, consumer))
        )
        receiver = Receiver(consumer, inbox, gaps)
        self.tasks = [
            asyncio.create_task(supervised("relay", relay.run), name="relay"),
            asyncio.create_task(supervised("receiver", receiver.run), name="receiver"),
            asyncio.create_task(
                supervised("receipts", lambda: self._receipts(node)), name="receipts"
            ),
        ]
        log.info(
            "%s: NATS connected, streams declared, relay and receiver running", node.jurisdiction
        )
        return node

    async def _connect(self) -> NatsClient:
        s = self.settings
        url = s.nats_url
        if url is None:
            # Its own process group: Ctrl-C on `make run` reaches the node, which drains its
            # connection before it stops the server, instead of both at once.
            self.embedded = EmbeddedNats(
                s.data_dir / "nats", s.js_domain or s.jurisdiction, own_process_group=True
            )
            await self.embedded.start()
            url = self.embedded.url
        events = NatsEvents(url)
        self.nc = await nats.connect(
            servers=[u.strip() for u in url.split(",")],
            name=f"fengqiao-{s.jurisdiction}",
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            error_cb=events.error,
            disconnected_cb=events.disconnected,
            reconnected_cb=events.reconnected,
        )
        return self.nc

    async def _receipts(self, node: Node) -> None:
        while True:
            await asyncio.sleep(self.settings.receipt_interval_s)
            async with node.unit_of_work() as conn:
                await issue_receipts(conn, node.book, node.signer, self.clock())

    async def stop(self) -> None:
        """Stop the loops, drain NATS, close the store, stop an embedded server.

        Each wait is bounded by `stop_wait_s`: a loop that does not end on its cancel, or a
        connection that does not close, is logged by name and left behind, so that stopping a
        node always ends and says what it could not stop."""
        for task in self.tasks:
            task.cancel()
        if self.tasks:
            _, pending = await asyncio.wait(self.tasks, timeout=self.stop_wait_s)
            for task in pending:
                log.error(
                    "the %s loop did not end within %g s of its cancel; left behind",
                    task.get_name(),
                    self.stop_wait_s,
                )
        self.tasks = []
        if self.nc is not None and not self.nc.is_closed:
            # The loops are stopped and every ack was confirmed: nothing is left to drain.
            try:
                await asyncio.wait_for(self.nc.close(), self.stop_wait_s)
            except TimeoutError:
                log.error("the NATS connection did not close within %g s", self.stop_wait_s)
        if self.parts is not None and self.parts.inbox.pool is not None:
            self.parts.inbox.pool.close()
        if self._node is not None:
            await self._node.db.close()
        if self.embedded is not None:
            self.embedded.stop()
