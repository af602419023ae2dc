"""Two regions, each its own JetStream domain, joined by a leaf link: delivery survives outages.

Qianfeng's server is the hub (it listens); Dalang's is the leaf (it dials). Qianfeng publishes
into its own OUT stream; Dalang's IN stream sources it across the link.
"""

import time

from nats.aio.client import Client as NatsClient

from services.bus.topology import Partner, event_subject, inbound_stream, outbound_stream
from services.bus.transport import (
    DurableConsumer,
    Outgoing,
    ensure_inbound_stream,
    ensure_outbound_stream,
    publish,
    publish_batch,
    replay,
)
from tests.support.nats import TwoRegions, connect, wait_for_messages

DALANG = "dongguan-dalang"
QIANFENG = "guangan-qianfeng"
IN_DALANG = inbound_stream(DALANG)


def to_dalang(count: int, start: int = 0) -> list[Outgoing]:
    subject = event_subject(QIANFENG, DALANG, "registry.requested")
    return [Outgoing(subject, b"x" * 200, f"event-{n}") for n in range(start, start + count)]


async def link_streams(hub: NatsClient, leaf: NatsClient) -> None:
    await ensure_outbound_stream(hub.jetstream(), QIANFENG)
    await ensure_inbound_stream(leaf.jetstream(), DALANG, [Partner(QIANFENG, "qianfeng")])


async def drain(leaf: NatsClient, expected: int) -> list[str | None]:
    """Every msg id in Dalang's IN stream, in stream order, read by a durable consumer."""
    inbox = await DurableConsumer.bind(leaf.jetstream(), IN_DALANG, "inbox")
    seen: list[str | None] = []
    while len(seen) < expected and (batch := await inbox.fetch(500, timeout=1)):
        for delivery in batch:
            seen.append(delivery.msg_id)
            await delivery.ack()
    await inbox.close()
    return seen


async def test_events_published_while_the_recipient_was_down_all_arrive_once(
    two_regions: TwoRegions,
) -> None:
    async with await connect(two_regions.hub) as hub:
        async with await connect(two_regions.leaf) as leaf:
            await link_streams(hub, leaf)
            [first] = to_dalang(1)
            await publish(hub.jetstream(), first.subject, first.payload, first.msg_id)
            assert await wait_for_messages(leaf.jetstream(), IN_DALANG, 1, timeout=5) == 1

        two_regions.leaf.stop()
        await publish_batch(hub.jetstream(), to_dalang(2000, start=1))
        started = time.monotonic()
        two_regions.leaf.start()

        async with await connect(two_regions.leaf) as leaf:
            held = await wait_for_messages(leaf.jetstream(), IN_DALANG, 2001, timeout=10)
            caught_up = time.monotonic() - started
            seen = await drain(leaf, 2001)
            final = (await leaf.jetstream().stream_info(IN_DALANG)).state.messages

    assert held == final == 2001
    assert seen == [f"event-{n}" for n in range(2001)]
    assert caught_up < 5, f"catching up took {caught_up:.1f}s"


async def test_events_published_while_the_link_is_cut_arrive_once_it_is_restored(
    two_regions: TwoRegions,
) -> None:
    async with await connect(two_regions.hub) as hub:
        async with await connect(two_regions.leaf) as leaf:
            await link_streams(hub, leaf)
            await publish_batch(hub.jetstream(), to_dalang(10))
            assert await wait_for_messages(leaf.jetstream(), IN_DALANG, 10, timeout=5) == 10

        two_regions.leaf.cut_link()
        await publish_batch(hub.jetstream(), to_dalang(50, start=10))
        async with await connect(two_regions.leaf) as leaf:
            during_cut = await wait_for_messages(leaf.jetstream(), IN_DALANG, 60, timeout=0.5)

        two_regions.leaf.restore_link()
        async with await connect(two_regions.leaf) as leaf:
            after = await wait_for_messages(leaf.jetstream(), IN_DALANG, 60, timeout=10)
            seen = await drain(leaf, 60)
            final = (await leaf.jetstream().stream_info(IN_DALANG)).state.messages

    assert during_cut == 10
    assert after == final == 60
    assert seen == [f"event-{n}" for n in range(60)]


async def test_a_gap_is_read_again_from_the_senders_stream_across_the_link(
    two_regions: TwoRegions,
) -> None:
    async with await connect(two_regions.hub) as hub:
        await ensure_outbound_stream(hub.jetstream(), QIANFENG)
        await publish_batch(hub.jetstream(), to_dalang(20))

    async with await connect(two_regions.leaf) as leaf:
        senders_domain = leaf.jetstream(domain="qianfeng")
        again = await replay(senders_domain, outbound_stream(QIANFENG), first_seq=8, last_seq=11)

    assert [m.seq for m in again] == [8, 9, 10, 11]
    assert [m.msg_id for m in again] == [f"event-{n}" for n in range(7, 11)]


async def test_each_region_receives_what_the_other_addresses_to_it(
    two_regions: TwoRegions,
) -> None:
    async with await connect(two_regions.hub) as hub, await connect(two_regions.leaf) as leaf:
        await ensure_outbound_stream(hub.jetstream(), QIANFENG)
        await ensure_outbound_stream(leaf.jetstream(), DALANG)
        await ensure_inbound_stream(hub.jetstream(), QIANFENG, [Partner(DALANG, "dalang")])
        await ensure_inbound_stream(leaf.jetstream(), DALANG, [Partner(QIANFENG, "qianfeng")])

        reply = event_subject(DALANG, QIANFENG, "receipt.cumulative")
        await publish_batch(hub.jetstream(), to_dalang(5))
        await publish_batch(
            leaf.jetstream(), [Outgoing(reply, b"r", f"receipt-{n}") for n in range(3)]
        )

        at_dalang = await wait_for_messages(leaf.jetstream(), IN_DALANG, 5, timeout=5)
        at_qianfeng = await wait_for_messages(
            hub.jetstream(), inbound_stream(QIANFENG), 3, timeout=5
        )
        own_copy = (await hub.jetstream().stream_info(outbound_stream(QIANFENG))).state.messages

    assert (at_dalang, at_qianfeng, own_copy) == (5, 3, 5)
