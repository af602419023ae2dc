"""The inbox settling batches: checked in worker processes, applied without a savepoint each."""

import asyncio
import logging

import pytest
from nats.js import JetStreamContext
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from services.bus.envelope import Envelope
from services.bus.inbox import Inbox, Outcome
from services.bus.receiver import Receiver
from services.bus.topology import Partner, event_subject, inbound_stream
from services.bus.transport import (
    DurableConsumer,
    ensure_inbound_stream,
    ensure_outbound_stream,
    publish,
)
from services.bus.verification_pool import VerificationPool
from services.runtime import supervised
from services.store.database import StoreUnavailable
from services.store.tables import inbound_streams, quarantine
from tests.integration.test_outbox_inbox import (
    DALANG,
    QIANFENG,
    _count,
    _inbox,
    _send,
    effects,
    pair,
)
from tests.support.nats import NatsServer, connect, wait_for_messages

__all__ = ["pair"]


def _pooled(inbox: Inbox) -> Inbox:
    inbox.pool = VerificationPool(inbox.verifier, workers=2, inline_below=1)
    return inbox


async def _published_to_qianfeng(js: JetStreamContext, wires: list[bytes]) -> None:
    """`wires` in Qianfeng's inbound stream, sourced from Dalang's outbound one."""
    await ensure_outbound_stream(js, DALANG.id)
    await ensure_inbound_stream(js, QIANFENG.id, [Partner(DALANG.id)])
    subject = event_subject(DALANG.id, QIANFENG.id, "dispute.reported")
    for n, wire in enumerate(wires, start=1):
        await publish(js, subject, wire, f"event-{n}")
    await wait_for_messages(js, inbound_stream(QIANFENG.id), len(wires), timeout=5)


async def test_a_pooled_batch_applies_quarantines_and_holds_as_one_by_one_would(pair):
    sender, receiver = pair
    wires = [await _send(sender, n) for n in range(1, 41)]
    tampered = wires[9].replace(b"Unpaid wages.", b"Unpaid wages!")
    batch = [(w, n) for n, w in enumerate(wires[:9], start=1)]
    batch += [(wires[0], 10), (tampered, 11)]
    batch += [(w, n) for n, w in enumerate(wires[10:], start=12)]
    inbox = _pooled(_inbox(receiver))
    try:
        assert inbox.pool is not None and await inbox.pool.ready()
        receipts = await inbox.receive_many(batch)
        outcomes = [(r.outcome, r.reason) for r in receipts]
        assert outcomes[:9] == [(Outcome.APPLIED, None)] * 9
        assert outcomes[9:11] == [
            (Outcome.QUARANTINED, "replayed"),
            (Outcome.QUARANTINED, "bad_signature"),
        ]
        assert outcomes[11:] == [(Outcome.HELD, None)] * 30
        assert receipts[11].gap == (10, 10)
        # The missing tenth arrives: it and the thirty held after it are applied, in order.
        assert (await inbox.receive(wires[9], stream_seq=42)).outcome == Outcome.APPLIED
    finally:
        assert inbox.pool is not None
        inbox.pool.close()
    assert await _count(receiver, effects) == 40
    async with receiver.transaction() as conn:
        assert (await conn.execute(select(inbound_streams.c.applied_seq))).scalar_one() == 40
        reasons = (await conn.execute(select(quarantine.c.reason))).scalars().all()
    assert sorted(reasons) == ["bad_signature", "replayed"]


async def test_a_handler_refusing_one_event_of_a_batch_leaves_out_only_its_effects(pair):
    sender, receiver = pair
    wires = [await _send(sender, n) for n in range(1, 6)]
    inbox = _inbox(receiver, fail_on={"DL-00003"})
    receipts = await inbox.receive_many([(w, n) for n, w in enumerate(wires, start=1)])
    assert [(r.outcome, r.reason) for r in receipts] == [
        (Outcome.APPLIED, None),
        (Outcome.APPLIED, None),
        (Outcome.QUARANTINED, "not_applicable"),
        (Outcome.APPLIED, None),
        (Outcome.APPLIED, None),
    ]
    assert await _count(receiver, effects) == 4
    async with receiver.transaction() as conn:
        assert (await conn.execute(select(inbound_streams.c.applied_seq))).scalar_one() == 5
        reasons = (await conn.execute(select(quarantine.c.reason))).scalars().all()
    assert reasons == ["not_applicable"]


async def test_the_receiver_checks_the_next_batch_while_one_settles_and_applies_all_in_order(
    pair, nats_single: NatsServer
):
    sender, receiver = pair
    wires = [await _send(sender, n) for n in range(1, 41)]
    inbox = _pooled(_inbox(receiver))
    steps: list[str] = []
    check, settle = inbox.check, inbox.settle

    async def checking(raws):  # type: ignore[no-untyped-def]
        steps.append("check")
        return await check(raws)

    async def settling(items, checks):  # type: ignore[no-untyped-def]
        steps.append("settle")
        await asyncio.sleep(0.05)  # a slow store: the next batch is fetched meanwhile
        return await settle(items, checks)

    inbox.check, inbox.settle = checking, settling  # type: ignore[method-assign]
    async with await connect(nats_single) as nc:
        js = nc.jetstream()
        await _published_to_qianfeng(js, wires)
        consumer = await DurableConsumer.bind(js, inbound_stream(QIANFENG.id), "inbox")
        running = asyncio.create_task(Receiver(consumer, inbox, batch=8, idle_s=0.2).run())
        try:
            assert inbox.pool is not None and await inbox.pool.ready()
            while await _count(receiver, effects) < 40:
                await asyncio.sleep(0.05)
        finally:
            running.cancel()
            inbox.pool.close()
        assert await consumer.fetch(10, timeout=0.3) == []  # every delivery was acked
    # Five batches of eight, each checked before the one ahead of it had settled.
    assert steps[:3] == ["check", "check", "settle"]
    assert steps.count("check") == steps.count("settle") == 5
    async with receiver.transaction() as conn:
        assert (await conn.execute(select(inbound_streams.c.applied_seq))).scalar_one() == 40
        assert (await conn.execute(select(func.count()).select_from(quarantine))).scalar() == 0


@pytest.mark.parametrize(
    "failure",
    [
        OperationalError("COMMIT", {}, Exception("server closed the connection")),
        StoreUnavailable("cannot open the store: connection refused"),
    ],
)
async def test_a_batch_outlasting_the_store_outage_is_applied_once_the_store_answers(
    pair, nats_single: NatsServer, failure: Exception
):
    """The store is down for longer than the consumer's deliveries would last: the batch is
    still applied when it answers again, not given up on by the server."""
    sender, receiver = pair
    wires = [await _send(sender, n) for n in range(1, 4)]
    inbox = _inbox(receiver)
    settle = inbox.settle
    failures = 0

    async def store_down_for_a_while(items, checks):  # type: ignore[no-untyped-def]
        nonlocal failures
        if failures < 6:
            failures += 1
            raise failure
        return await settle(items, checks)

    inbox.settle = store_down_for_a_while  # type: ignore[method-assign]
    async with await connect(nats_single) as nc:
        js = nc.jetstream()
        await _published_to_qianfeng(js, wires)
        consumer = await DurableConsumer.bind(
            js, inbound_stream(QIANFENG.id), "inbox", max_deliver=3, backoff=(0.2, 0.2)
        )
        receiving = Receiver(consumer, inbox, idle_s=0.2, store_retry_s=0.1)
        running = asyncio.create_task(supervised("receiver", receiving.run))
        try:
            async with asyncio.timeout(10):
                while await _count(receiver, effects) < 3:
                    await asyncio.sleep(0.05)
        finally:
            running.cancel()
        assert await consumer.fetch(10, timeout=0.5) == []  # every delivery was acked
    assert failures == 6


async def test_a_quarantined_envelope_is_logged_with_its_sender_reason_and_case_thread(
    pair, nats_single: NatsServer, caplog: pytest.LogCaptureFixture
):
    sender, receiver = pair
    wires = [await _send(sender, n) for n in range(1, 4)]
    wires[2] = wires[2].replace(b"Unpaid wages.", b"Unpaid wages!")
    inbox = _inbox(receiver, fail_on={"DL-00002"})
    async with await connect(nats_single) as nc:
        js = nc.jetstream()
        await _published_to_qianfeng(js, wires)
        consumer = await DurableConsumer.bind(js, inbound_stream(QIANFENG.id), "inbox")
        with caplog.at_level(logging.WARNING, logger="services.bus.receiver"):
            assert await Receiver(consumer, inbox, idle_s=0.2).receive_batch() == 3

    refused, tampered = [r for r in caplog.records if "quarantined" in r.getMessage()]
    authentic = Envelope.from_wire(wires[1])
    assert refused.getMessage() == "inbox: quarantined stream seq 2: not_applicable"
    assert (refused.sender, refused.reason) == (DALANG.id, "not_applicable")  # type: ignore[attr-defined]
    assert (refused.event_id, refused.correlation) == (authentic.id, authentic.correlation)  # type: ignore[attr-defined]
    assert (tampered.sender, tampered.reason) == (DALANG.id, "bad_signature")  # type: ignore[attr-defined]
    assert not hasattr(tampered, "event_id")  # its claims are not authentic
