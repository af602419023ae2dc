"""CPU per event of the bus plumbing, in one process, against a nats-server started here.

    .venv/bin/python scripts/measure_plumbing.py [--events 5000] [--runs 3] [--profile DIR]
    .venv/bin/python scripts/measure_plumbing.py --small-rounds [--rounds 300] [--runs 3]

Each run starts its own nats-server (deploy/nats/region.conf, free ports, a temporary store; the
machine's own servers are never touched), two SQLite stores migrated as a node's (Dalang sends,
Qianfeng receives), and measures, with `time.process_time` (every thread of this process, so
aiosqlite's store thread is in) and `time.thread_time` (the event loop's thread alone):

- `enqueue`: Dalang's `Node.send_many`, 500 events per transaction, and apart the time spent in
  `compose` (sealing, signing: not plumbing), so that `enqueue - compose` is the outbox's part;
- `relay`: `Relay.publish_pending` until the outbox is empty (read the rows, publish, mark);
- `receive`: Qianfeng's `Receiver.receive_batch` until every event is settled (fetch, verify,
  inbox transaction, acks), and apart the time in `Verifier.check` (not plumbing);
- `receipt`: `apply_receipt` for cumulative receipts of 256 events each, as the sender does.

Figures are µs per event; the plumbing is `enqueue - compose`, `relay`, `receive - verify` and
`receipt`. `--profile DIR` also writes a cProfile per phase (main thread only; figures printed
in that mode are inflated by the profiler). The machine is shared: run several times.

`--small-rounds` measures instead what an event costs at a trickle, where each relay round and
each receiving batch carries only one or a few: the CPU of one `Relay.publish_pending` round of
1 and of 10 envelopes (each enqueued in a unit of work of its own just before), and of one
`Receiver.receive_batch` of 1 and of 10, in µs a round or batch.
"""

import argparse
import asyncio
import cProfile
import json
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import nats
from nats.js import JetStreamContext
from sqlalchemy import select

import services.bus.outbox as outbox_module
import services.bus.relay as relay_module
from services.bootstrap import open_node
from services.bus.inbox import Inbox
from services.bus.inbox_batch import Batch
from services.bus.outbox import Outgoing, apply_receipt
from services.bus.receiver import Receiver, consumer_name
from services.bus.relay import Relay
from services.bus.topology import Partner, inbound_stream
from services.bus.transport import DurableConsumer, ensure_inbound_stream, ensure_outbound_stream
from services.node import Node
from services.store.tables import outbox
from tests.chaos.conftest import dispute
from tests.support.live import node_settings, recording_handlers, write_agreement
from tests.support.nats import single_region
from tests.support.trust import Bureau

DALANG, QIANFENG = "dongguan-dalang", "guangan-qianfeng"
SEND_BATCH, RECEIPT_EVERY = 500, 256
SMALL_SIZES = (1, 10)
SUMMARY = (
    "outbox_plumbing_us",
    "relay_cpu_us",
    "receipt_cpu_us",
    "receive_plumbing_us",
    "receive_cpu_us",
    "verify_us",
    "receive_loop_us",
)
"""The figures the summary of a default run gives, min-max over its runs."""
# Composing (sealing, signing) is what the outbox calls of services.bus.compose and envelope.
COMPOSE_PARTS = ["draft", "seal", "seal_batch"]
ORIGINAL_COMPOSE_PARTS = [getattr(outbox_module, n) for n in COMPOSE_PARTS]
# What the relay and an inbox batch do, timed one by one (CPU of every thread while awaited).
RELAY_PARTS = [
    (relay_module, "pending"),
    (relay_module, "publish_batch"),
    (relay_module, "mark_published"),
]
BATCH_PARTS = ["load_seen", "flush"]
ORIGINAL_RELAY_PARTS = [getattr(m, n) for m, n in RELAY_PARTS]
ORIGINAL_BATCH_PARTS = [getattr(Batch, n) for n in BATCH_PARTS]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Meter:
    """CPU seconds per phase: the whole process, the loop's thread, and a named part of it."""

    profile_dir: Path | None
    cpu: dict[str, float] = field(default_factory=dict)
    loop: dict[str, float] = field(default_factory=dict)
    part: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        profiler = cProfile.Profile(time.thread_time) if self.profile_dir else None
        cpu, loop = time.process_time(), time.thread_time()
        if profiler:
            profiler.enable()
        try:
            yield
        finally:
            if profiler:
                profiler.disable()
                assert self.profile_dir is not None
                profiler.dump_stats(str(self.profile_dir / f"{name}.prof"))
            self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - cpu
            self.loop[name] = self.loop.get(name, 0.0) + time.thread_time() - loop

    def timed(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        """`function`, adding the CPU it takes on this thread to part `name`."""

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.part[name] = self.part.get(name, 0.0) + time.thread_time() - started

        return wrapper

    def timed_async(self, name: str, function: Callable[..., Awaitable[Any]]) -> Any:
        """`function`, adding the CPU of every thread while it is awaited to part `name` (only
        the measured loop runs meanwhile, so that is its share)."""

        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return await function(*args, **kwargs)
            finally:
                self.part[name] = self.part.get(name, 0.0) + time.process_time() - started

        return wrapper


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError("the measured system did not get there")
        await asyncio.sleep(0.05)


@dataclass
class TwoNodes:
    """Dalang's node sending, Qianfeng's inbox receiving, on one nats-server started here."""

    sender: Node
    receiving: Inbox
    js: JetStreamContext
    consumer: DurableConsumer
    relay: Relay

    async def send(self, first: int, count: int) -> None:
        """`count` dispute reports to Qianfeng in one unit of work, numbered from `first`."""
        numbers = range(first, first + count)
        out = [Outgoing(dispute(n), QIANFENG, f"case-{n % 400:04d}") for n in numbers]
        async with self.sender.unit_of_work() as conn:
            await self.sender.send_many(conn, out)

    async def until_sourced(self, events: int) -> None:
        """Until Qianfeng's inbound stream holds `events`."""

        async def sourced() -> bool:
            info = await self.js.stream_info(inbound_stream(QIANFENG))
            return int(info.state.messages) >= events

        await until(sourced)


@asynccontextmanager
async def two_nodes(root: Path) -> AsyncIterator[TwoNodes]:
    """Fresh stores and a fresh nats-server (its own ports) under `root`, stopped after."""
    server = single_region(root / "nats", domain="measure")
    nc = None
    try:
        bureaus = [Bureau(DALANG, "大朗"), Bureau(QIANFENG, "前锋")]
        agreement = write_agreement(bureaus, root / "agreement.yaml")
        parts = {}
        for bureau, partner in zip(bureaus, reversed(bureaus), strict=True):
            settings = node_settings(
                bureau,
                root,
                server.url,
                "measure",
                {partner.id: "measure"},
                agreement,
                verify_workers=0,
            )
            parts[bureau.id] = await open_node(
                settings, utc_now, recording_handlers(["dispute.reported"])
            )
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await ensure_outbound_stream(js, DALANG)
        await ensure_inbound_stream(js, QIANFENG, [Partner(DALANG, None)])
        consumer = await DurableConsumer.bind(js, inbound_stream(QIANFENG), consumer_name(QIANFENG))
        sender = parts[DALANG].node
        relay = Relay(
            sender.db,
            js,
            DALANG,
            utc_now,
            asyncio.Event(),
            settings.relay_batch,
            settings.relay_batch_bytes,
        )
        yield TwoNodes(sender, parts[QIANFENG].inbox, js, consumer, relay)
        await consumer.close()
        for p in parts.values():
            await p.node.db.close()
    finally:
        if nc is not None:
            await nc.close()
        server.stop()


async def one_run(root: Path, events: int, profile_dir: Path | None) -> dict[str, float]:
    """Every phase once on fresh servers and stores; µs per event of each figure."""
    try:
        async with two_nodes(root) as nodes:
            figures = await _phases(nodes, events, Meter(profile_dir))
    finally:
        for name, original in zip(COMPOSE_PARTS, ORIGINAL_COMPOSE_PARTS, strict=True):
            setattr(outbox_module, name, original)
        for (module, name), original in zip(RELAY_PARTS, ORIGINAL_RELAY_PARTS, strict=True):
            setattr(module, name, original)
        for name, original in zip(BATCH_PARTS, ORIGINAL_BATCH_PARTS, strict=True):
            setattr(Batch, name, original)
    return figures


async def _phases(nodes: TwoNodes, events: int, meter: Meter) -> dict[str, float]:
    relay, receiving, consumer = nodes.relay, nodes.receiving, nodes.consumer
    receiver = Receiver(consumer, receiving)
    for name in COMPOSE_PARTS:
        setattr(outbox_module, name, meter.timed("compose", getattr(outbox_module, name)))
    # The verifier is frozen; timing its check on this one instance changes nothing else.
    object.__setattr__(receiving.verifier, "check", meter.timed("verify", receiving.verifier.check))

    consumer.fetch = meter.timed_async("fetch", consumer.fetch)  # type: ignore[method-assign]
    settle_all = meter.timed_async("settle", receiving._settle_all)
    receiving._settle_all = settle_all  # type: ignore[method-assign]
    for module, name in RELAY_PARTS:
        setattr(module, name, meter.timed_async(f"relay_{name}", getattr(module, name)))
    for name in BATCH_PARTS:
        setattr(Batch, name, meter.timed_async(f"settle_{name}", getattr(Batch, name)))

    with meter.phase("enqueue"):
        for first in range(0, events, SEND_BATCH):
            await nodes.send(first, min(SEND_BATCH, events - first))
    with meter.phase("relay"):
        while await relay.publish_pending():
            pass

    await nodes.until_sourced(events)
    settled = 0
    with meter.phase("receive"):
        while settled < events:
            settled += await receiver.receive_batch()

    async with nodes.sender.db.transaction() as conn:
        heads = dict((await conn.execute(select(outbox.c.seq, outbox.c.chain_hash))).all())
    with meter.phase("receipt"):
        for up_to in [*range(RECEIPT_EVERY, events, RECEIPT_EVERY), events]:
            async with nodes.sender.db.transaction() as conn:
                await apply_receipt(conn, QIANFENG, up_to, heads[up_to], utc_now())
    per = 1e6 / events
    figures = {f"{name}_cpu_us": cpu * per for name, cpu in meter.cpu.items()}
    figures |= {f"{name}_loop_us": loop * per for name, loop in meter.loop.items()}
    figures |= {f"{name}_us": spent * per for name, spent in meter.part.items()}
    figures["outbox_plumbing_us"] = figures["enqueue_cpu_us"] - figures["compose_us"]
    figures["receive_plumbing_us"] = figures["receive_cpu_us"] - figures["verify_us"]
    return figures


async def small_rounds(root: Path, rounds: int) -> dict[str, float]:
    """CPU of one relay round and of one receiving batch, by size (µs each): what an event
    costs at a trickle, where every round and batch carries only a few."""
    figures: dict[str, float] = {}
    async with two_nodes(root) as nodes:
        sent = 0
        for size in SMALL_SIZES:
            spent = 0.0
            for _ in range(rounds):
                await nodes.send(sent, size)
                sent += size
                started = time.process_time()
                published = await nodes.relay.publish_pending()
                spent += time.process_time() - started
                assert published == size, published
            figures[f"relay_round_of_{size}_cpu_us"] = spent / rounds * 1e6
        await nodes.until_sourced(sent)
        for size in SMALL_SIZES:
            receiver = Receiver(nodes.consumer, nodes.receiving, batch=size)
            started = time.process_time()
            for _ in range(rounds):
                settled = await receiver.receive_batch()
                assert settled == size, settled
            spent = time.process_time() - started
            figures[f"receive_batch_of_{size}_cpu_us"] = spent / rounds * 1e6
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", type=Path, default=None, help="write cProfiles here")
    parser.add_argument("--small-rounds", action="store_true", help="rounds of 1 and 10 instead")
    parser.add_argument("--rounds", type=int, default=300, help="rounds of each size")
    args = parser.parse_args()
    if args.small_rounds:
        _print_runs([_small_run(args.rounds) for _ in range(args.runs)], "µs a round or batch")
        return
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    runs = []
    for n in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="fq-plumbing-") as tmp:
            figures = asyncio.run(one_run(Path(tmp), args.events, args.profile))
        runs.append(figures)
        print(json.dumps({"run": n + 1, **{k: round(v) for k, v in sorted(figures.items())}}))
    _print_runs([{k: r[k] for k in SUMMARY} for r in runs], "µs/event")


def _small_run(rounds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="fq-plumbing-") as tmp:
        figures = asyncio.run(small_rounds(Path(tmp), rounds))
    print(json.dumps({k: round(v) for k, v in figures.items()}))
    return figures


def _print_runs(runs: list[dict[str, float]], unit: str) -> None:
    print(f"{unit} (min-max over runs):")
    for key in runs[0]:
        values = [r[key] for r in runs]
        print(f"  {key:28s} {min(values):8.0f} - {max(values):8.0f}")


if __name__ == "__main__":
    main()
