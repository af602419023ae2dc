"""The baseline of `make bench`: plain nats-py JetStream on the sender's server, no node at all.

Publish awaited one by one, publish with a bounded number of PubAcks in flight, and a durable
pull consumer fetching batches and acking each message, all with envelope-sized payloads.
"""

import asyncio
import time
from collections import deque

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, PubAck, StreamConfig

from tests.support.nats import NatsServer, connect

STREAM = "BENCH_RAW"


async def publish_one_by_one(js: JetStreamContext, count: int, payload: bytes) -> float:
    """Publishes per second, each PubAck awaited before the next publish."""
    started = time.perf_counter()
    for n in range(count):
        await js.publish(f"bench.raw.{n % 400}", payload, headers={"Nats-Msg-Id": f"one-{n}"})
    return count / (time.perf_counter() - started)


async def publish_bounded(
    js: JetStreamContext, count: int, payload: bytes, in_flight: int
) -> float:
    """Publishes per second with at most `in_flight` PubAcks outstanding (a sliding window)."""
    window: deque[asyncio.Future[PubAck]] = deque()
    started = time.perf_counter()
    for n in range(count):
        if len(window) >= in_flight:
            await window.popleft()
        window.append(
            await js.publish_async(
                f"bench.raw.{n % 400}", payload, headers={"Nats-Msg-Id": f"bounded-{n}"}
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


async def measure(server: NatsServer, count: int, payload: bytes) -> dict[str, float]:
    """The three baseline rates on `server`, in a stream of its own deleted afterwards."""
    nc = await connect(server)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name=STREAM, subjects=["bench.raw.>"]))
    try:
        one_by_one = await publish_one_by_one(js, max(count // 10, 200), payload)
        bounded = await publish_bounded(js, count, payload, in_flight=256)
        consumed = await consume(js, count, batch=256)
    finally:
        await js.delete_stream(STREAM)
        await nc.close()
    return {
        "raw_js_publish_one_by_one_per_s": one_by_one,
        "raw_js_publish_per_s": bounded,
        "raw_js_consume_per_s": consumed,
    }
