"""The JetStream transport inside one region: streams, publishing, consuming and replay."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from nats.js import JetStreamContext

from services.bus.topology import Partner, event_subject, inbound_stream, outbound_stream
from services.bus.transport import (
    DurableConsumer,
    Outgoing,
    StreamFull,
    StreamMissing,
    ensure_inbound_stream,
    ensure_outbound_stream,
    publish,
    publish_batch,
    replay,
)
from tests.support.nats import NatsServer, connect, wait_for_messages

DALANG = "dongguan-dalang"
QIANFENG = "guangan-qianfeng"
HOUJIE = "dongguan-houjie"


@pytest.fixture
async def js(nats_single: NatsServer) -> AsyncIterator[JetStreamContext]:
    async with await connect(nats_single) as nc:
        yield nc.jetstream()


def outgoing(count: int, recipient: str = QIANFENG, start: int = 0) -> list[Outgoing]:
    subject = event_subject(DALANG, recipient, "dispute.reported")
    return [
        Outgoing(subject, f"event {n}".encode(), f"{recipient}-{n}")
        for n in range(start, start + count)
    ]


async def test_published_events_are_consumed_in_order_with_their_sequences(
    js: JetStreamContext,
) -> None:
    await ensure_outbound_stream(js, DALANG)
    await ensure_inbound_stream(js, QIANFENG, [Partner(DALANG)])
    for event in outgoing(3):
        await publish(js, event.subject, event.payload, event.msg_id)
    await wait_for_messages(js, inbound_stream(QIANFENG), 3, timeout=5)

    inbox = await DurableConsumer.bind(js, inbound_stream(QIANFENG), "inbox")
    deliveries = await inbox.fetch(10, timeout=1)
    for delivery in deliveries:
        await delivery.ack()

    assert [d.msg_id for d in deliveries] == [f"{QIANFENG}-{n}" for n in range(3)]
    assert [d.stream_seq for d in deliveries] == [1, 2, 3]
    assert [(d.origin.stream, d.origin.seq) for d in deliveries if d.origin] == [
        (outbound_stream(DALANG), n) for n in (1, 2, 3)
    ]
    assert [d.attempt for d in deliveries] == [1, 1, 1]
    assert await inbox.fetch(10, timeout=0.3) == []


async def test_publishing_the_same_msg_id_again_is_a_duplicate_stored_once(
    js: JetStreamContext,
) -> None:
    await ensure_outbound_stream(js, DALANG)
    event = outgoing(1)[0]

    first = await publish(js, event.subject, event.payload, event.msg_id)
    again = await publish(js, event.subject, b"a retry after a lost PubAck", event.msg_id)

    assert (first.duplicate, again.duplicate) == (False, True)
    assert again.seq == first.seq
    assert (await js.stream_info(outbound_stream(DALANG))).state.messages == 1


async def test_a_batch_published_again_lands_only_once(js: JetStreamContext) -> None:
    await ensure_outbound_stream(js, DALANG)
    batch = outgoing(200)

    first = await publish_batch(js, batch)
    again = await publish_batch(js, batch)

    assert [p.seq for p in first] == list(range(1, 201))
    assert all(p.duplicate for p in again)
    assert [p.seq for p in again] == [p.seq for p in first]
    assert (await js.stream_info(outbound_stream(DALANG))).state.messages == 200


async def test_a_full_outbound_stream_refuses_new_events_and_keeps_the_old(
    js: JetStreamContext,
) -> None:
    await ensure_outbound_stream(js, DALANG, max_bytes=4096)
    stored = 0
    with pytest.raises(StreamFull):
        for event in outgoing(100):
            await publish(js, event.subject, event.payload * 20, event.msg_id)
            stored += 1

    state = (await js.stream_info(outbound_stream(DALANG))).state
    assert 0 < stored < 100
    assert (state.messages, state.first_seq) == (stored, 1)


async def test_publishing_where_no_outbound_stream_exists_is_stream_missing(
    js: JetStreamContext,
) -> None:
    event = outgoing(1)[0]
    with pytest.raises(StreamMissing):
        await publish(js, event.subject, event.payload, event.msg_id, timeout=1)


async def test_a_delivery_not_acked_comes_again_and_is_marked_last_attempt(
    js: JetStreamContext,
) -> None:
    await ensure_outbound_stream(js, DALANG)
    event = outgoing(1)[0]
    await publish(js, event.subject, event.payload, event.msg_id)
    consumer = await DurableConsumer.bind(
        js, outbound_stream(DALANG), "relay-check", max_deliver=2, backoff=(0.2,)
    )

    first = await consumer.fetch(1, timeout=1)
    await asyncio.sleep(0.3)
    second = await consumer.fetch(1, timeout=1)
    await asyncio.sleep(0.3)
    third = await consumer.fetch(1, timeout=0.5)

    assert [(d.attempt, d.last_attempt) for d in first + second] == [(1, False), (2, True)]
    assert third == []


async def test_a_termed_delivery_is_never_redelivered(js: JetStreamContext) -> None:
    await ensure_outbound_stream(js, DALANG)
    event = outgoing(1)[0]
    await publish(js, event.subject, event.payload, event.msg_id)
    consumer = await DurableConsumer.bind(js, outbound_stream(DALANG), "quarantine-check")

    [delivery] = await consumer.fetch(1, timeout=1)
    await delivery.term()

    assert await consumer.fetch(1, timeout=0.5) == []


async def test_replay_returns_one_recipients_range_from_the_senders_stream(
    js: JetStreamContext,
) -> None:
    await ensure_outbound_stream(js, DALANG)
    interleaved = [e for pair in zip(outgoing(10), outgoing(10, HOUJIE), strict=True) for e in pair]
    await publish_batch(js, interleaved)

    again = await replay(
        js,
        outbound_stream(DALANG),
        first_seq=5,
        last_seq=13,
        filter_subject=f"fq.{DALANG}.{QIANFENG}.>",
    )

    # Odd sequences are Qianfeng's: 5, 7, 9, 11, 13 are its events 2..6.
    assert [m.seq for m in again] == [5, 7, 9, 11, 13]
    assert [m.msg_id for m in again] == [f"{QIANFENG}-{n}" for n in range(2, 7)]
    assert again[0].data == b"event 2"


async def test_ensuring_the_inbound_stream_again_adds_a_new_partner(
    js: JetStreamContext,
) -> None:

    await ensure_inbound_stream(js, QIANFENG, [Partner(DALANG)])
    info = await ensure_inbound_stream(js, QIANFENG, [Partner(DALANG), Partner(HOUJIE)])

    assert sorted(s.name for s in info.config.sources or []) == [
        outbound_stream(DALANG),
        outbound_stream(HOUJIE),
    ]
