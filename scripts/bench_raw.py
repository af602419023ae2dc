"""The baseline of `make bench`: plain nats-py JetStream on the sender's server, no node at all.

Publish awaited one by one, publish with a bounded number of PubAcks in flight, and a durable
pull consumer fetching batches and acking each message, all with envelope-sized payloads.

And the bus alone (`through`): the path an event takes between the two regions with no node
work at all, as the nodes' transport takes it. Publishes as the sending node's relay does
(`publish_batch` on its `PubAcks`, rounds of `relay_batch`) into an outbound stream of the leaf
region, which the hub region's inbound stream sources over the leaf link (services/bus/
transport.py makes both, as for a node), while another process consumes it there with the
receiving node's own consumer (`DurableConsumer`, 256 a fetch, each acked as the receiver
acks). What no node can do better than on this machine.

    .venv/bin/python -m scripts.bench_raw consume <hub url> <count>   (that other process)
"""

import asyncio
import os
import statistics
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

import nats
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, PubAck, StreamConfig

from scripts.bench_nodes import CpuWatch, per_event_ms
from services.bus.topology import Partner, event_subject, inbound_stream, outbound_stream
from services.bus.transport import (
    DurableConsumer,
    Outgoing,
    ensure_inbound_stream,
    ensure_outbound_stream,
    open_pubacks,
    publish_batch,
)
from services.settings import NodeSettings
from tests.support.nats import NatsServer, connect

STREAM = "BENCH_RAW"
IN_FLIGHT = 256
"""PubAcks outstanding at most when publishing bounded (the baseline of the ratio)."""
ROUNDS = 5
"""Rounds the bounded publish is measured in, the baseline being their median: one round's rate
moves by half from one second to the next here."""
FETCH = 256
"""Messages a fetch asks for: as the baseline consumer and the receiving node (Receiver.batch)."""
RELAY_ROUND: int = NodeSettings.model_fields["relay_batch"].default
"""Messages the bus alone publishes a round: as many as the relay's default."""
SENDER, SINK = "bench-alone", "bench-sink"
"""The bus-alone phase's two ends: streams of their own, apart from the nodes'."""
PUBLISHER, CONSUMER = "publisher (bench)", "consumer"


async def publish_one_by_one(js: JetStreamContext, count: int, payload: bytes) -> float:
    """Publishes per second, each PubAck awaited before the next publish."""
    started = time.perf_counter()
    for n in range(count):
        await js.publish(f"bench.raw.{n % 400}", payload, headers={"Nats-Msg-Id": f"one-{n}"})
    return count / (time.perf_counter() - started)


async def publish_bounded(
    js: JetStreamContext, count: int, payload: bytes, in_flight: int, first: int = 0
) -> float:
    """Publishes per second with at most `in_flight` PubAcks outstanding (a sliding window);
    the messages numbered from `first` (their Msg-Ids must not repeat an earlier round's)."""
    window: deque[asyncio.Future[PubAck]] = deque()
    started = time.perf_counter()
    for n in range(count):
        if len(window) >= in_flight:
            await window.popleft()
        window.append(
            await js.publish_async(
                f"bench.raw.{n % 400}", payload, headers={"Nats-Msg-Id": f"bounded-{first + n}"}
            )
        )
    await asyncio.gather(*window)
    return count / (time.perf_counter() - started)


async def consume(js: JetStreamContext, count: int, batch: int) -> float:
    """Messages per second fetched by a durable pull consumer and acked one by one."""
    await js.add_consumer(STREAM, ConsumerConfig(durable_name="raw", ack_policy=AckPolicy.EXPLICIT))
    psub = await js.pull_subscribe_bind("raw", STREAM)
    taken = 0
    started = time.perf_counter()
    while taken < count:
        messages = await psub.fetch(min(batch, count - taken), timeout=5)
        for message in messages[:-1]:
            await message.ack()
        await messages[-1].ack_sync()
        taken += len(messages)
    return taken / (time.perf_counter() - started)


async def measure(server: NatsServer, count: int, payload: bytes) -> dict[str, Any]:
    """The three baseline rates on `server`, in a stream of its own deleted afterwards; the
    bounded publish's in ROUNDS rounds of a ROUNDS-th of `count` messages, and their median."""
    nc = await connect(server)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name=STREAM, subjects=["bench.raw.>"]))
    try:
        one_by_one = await publish_one_by_one(js, max(count // 10, 200), payload)
        per_round = count // ROUNDS
        rounds = [
            await publish_bounded(js, per_round, payload, IN_FLIGHT, first=k * per_round)
            for k in range(ROUNDS)
        ]
        consumed = await consume(js, per_round * ROUNDS, FETCH)
    finally:
        await js.delete_stream(STREAM)
        await nc.close()
    return {
        "raw_js_publish_one_by_one_per_s": one_by_one,
        "raw_js_publish_per_s": statistics.median(rounds),
        "raw_js_publish_rounds_per_s": rounds,
        "raw_js_consume_per_s": consumed,
    }


async def through(
    leaf: NatsServer, leaf_domain: str, hub: NatsServer, count: int, payload: bytes
) -> dict[str, Any]:
    """The bus alone (see the module's docstring): events/s from the first publish to the last
    ack at the hub, and the CPU an event of each process (the publisher is this one)."""
    sender, receiver = await connect(leaf), await connect(hub)
    out_js, in_js = sender.jetstream(), receiver.jetstream()
    await ensure_outbound_stream(out_js, SENDER)
    await ensure_inbound_stream(in_js, SINK, [Partner(SENDER, leaf_domain)])
    consumer = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "scripts.bench_raw", "consume", hub.url, str(count),
        stdout=asyncio.subprocess.PIPE, cwd=Path(__file__).resolve().parents[1],
    )  # fmt: skip
    try:
        await _said(consumer, "ready", 30)
        pids: dict[str, int | None] = {
            f"nats-server {s.name}": s.process.pid for s in (leaf, hub) if s.process
        }
        # This process alone: the servers and the consumer are its children.
        with CpuWatch(pids | {PUBLISHER: os.getpid()}, frozenset({PUBLISHER})) as cpu:
            started = time.time()
            await publish_as_relay(out_js, count, payload)
            acked_at, consumer_cpu = await _said(consumer, "done", 600)
    finally:
        if consumer.returncode is None:
            consumer.kill()
        await consumer.wait()
        await in_js.delete_stream(inbound_stream(SINK))
        await out_js.delete_stream(outbound_stream(SENDER))
        await sender.close()
        await receiver.close()
    # The consumer has ended: it says its own CPU.
    by_process = per_event_ms(cpu.used | {CONSUMER: consumer_cpu}, count)
    return {
        "raw_js_through_per_s": count / (acked_at - started),
        "raw_js_through_events": count,
        "raw_js_through_cpu_ms_per_event": by_process["total"],
        "raw_js_through_cpu_ms_per_event_by_process": by_process,
    }


async def publish_as_relay(js: JetStreamContext, count: int, payload: bytes) -> None:
    """`count` messages to SINK published as the relay publishes: a round at a time, each
    round's PubAcks gathered on one subscription before the next."""
    subject = event_subject(SENDER, SINK, "dispute.reported")
    acks = await open_pubacks(js)
    try:
        for first in range(0, count, RELAY_ROUND):
            numbers = range(first, min(first + RELAY_ROUND, count))
            await publish_batch(
                js, [Outgoing(subject, payload, f"a-{n}") for n in numbers], acks=acks
            )
    finally:
        await acks.close()


async def _said(consumer: asyncio.subprocess.Process, word: str, timeout: float) -> list[float]:
    """The numbers on the consumer's next line, which must start with `word`, within `timeout`
    seconds; RuntimeError naming what it said instead."""
    assert consumer.stdout is not None
    try:
        line = await asyncio.wait_for(consumer.stdout.readline(), timeout)
    except TimeoutError:
        raise RuntimeError(f"the bus-alone consumer did not say {word!r} in {timeout} s") from None
    said = line.decode().split()
    if said[:1] != [word]:
        raise RuntimeError(f"the bus-alone consumer said {line!r}, not {word!r}")
    return [float(number) for number in said[1:]]


async def consume_through(url: str, count: int) -> None:
    """The bus-alone consumer: says `ready` once bound, then `done <time> <CPU s>` after
    acking the `count`-th message."""
    nc = await nats.connect(url)
    consumer = await DurableConsumer.bind(nc.jetstream(), inbound_stream(SINK), "bench-alone")
    print("ready", flush=True)
    started, taken = time.process_time(), 0
    while taken < count:
        deliveries = await consumer.fetch(FETCH, 1.0)
        for delivery in deliveries[:-1]:
            await delivery.ack_nowait()
        if deliveries:
            await deliveries[-1].ack()
        taken += len(deliveries)
    print("done", time.time(), time.process_time() - started, flush=True)
    await nc.close()


if __name__ == "__main__":
    if sys.argv[1:2] != ["consume"] or len(sys.argv) != 4:
        sys.exit(f"usage: {sys.argv[0]} consume <hub url> <count>")
    asyncio.run(consume_through(sys.argv[2], int(sys.argv[3])))
