"""A gap in a partner's stream that does not close by itself is repaired from the partner's own
outbound stream."""

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from services.bus.handlers import Handler
from services.bus.outbox import Outgoing, pending
from services.bus.topology import Partner, event_subject, inbound_stream
from services.bus.transport import ensure_inbound_stream, ensure_outbound_stream
from services.node import Node
from services.runtime import NodeRuntime
from services.settings import NodeSettings
from services.store.tables import held, quarantine
from tests.chaos.conftest import DALANG, QIANFENG, dispute
from tests.support.live import applied, count, node_settings, wait_until, write_agreement
from tests.support.nats import NatsServer, connect, wait_for_messages
from tests.support.probe import probe_handlers, probe_report, start_with_probe


async def test_envelope_missing_from_the_inbound_stream_is_read_again_from_the_sender(
    nats_single: NatsServer, tmp_path: Path
) -> None:
    agreement, handlers, sender = _dalang(nats_single, tmp_path)
    node = await sender.start()
    nc = await connect(nats_single)
    try:
        js = nc.jetstream()
        # The receiver's inbound stream fills before the receiver runs; then one envelope is lost.
        await ensure_inbound_stream(js, QIANFENG.id, [Partner(DALANG.id)])
        async with node.unit_of_work() as conn:
            await node.send_many(
                conn, [Outgoing(dispute(n), QIANFENG.id, "case-1") for n in range(3)]
            )
        await wait_for_messages(js, inbound_stream(QIANFENG.id), 3, timeout=10)
        await js.delete_msg(inbound_stream(QIANFENG.id), 1)
        settings = _receiver_settings(nats_single, tmp_path, agreement)
        await _receives_all(NodeRuntime(settings, handlers), 3)
    finally:
        await nc.close()
        await sender.stop()


def _dalang(
    nats: NatsServer, root: Path
) -> tuple[Path, Callable[[Node], Mapping[str, Handler]], NodeRuntime]:
    """The agreement, the probe's handlers, and Dalang's node (not started) sending under it."""
    agreement = write_agreement([DALANG, QIANFENG], root / "agreement.yaml")
    handlers = probe_handlers(["dispute.reported"])
    settings = node_settings(DALANG, root, nats.url, "dalang", {}, agreement)
    return agreement, handlers, NodeRuntime(settings, handlers)


async def _is(value, expected: int) -> bool:  # type: ignore[no-untyped-def]
    return await value == expected


def _receiver_settings(
    nats: NatsServer, root: Path, agreement: Path, repair_after_s: float = 0.5
) -> NodeSettings:
    """Qianfeng's node, repairing a gap open `repair_after_s`."""
    return node_settings(
        QIANFENG,
        root,
        nats.url,
        "dalang",
        {DALANG.id: "dalang"},
        agreement,
        gap_repair_after_s=repair_after_s,
    )


async def _receives_all(receiver: NodeRuntime, events: int) -> None:
    """`receiver` started applies all `events`, each once, and quarantines nothing."""
    await start_with_probe(receiver)
    try:
        await wait_until(lambda: _is(applied(receiver), events), 20, f"all {events} applied")
        assert (await probe_report(receiver.node.db)).applications == events
        assert await count(receiver, quarantine) == 0
    finally:
        await receiver.stop()


async def test_a_gap_opened_after_one_that_closed_by_itself_is_repaired(
    nats_single: NatsServer, tmp_path: Path
) -> None:
    agreement, handlers, sender = _dalang(nats_single, tmp_path)
    node = await sender.open()  # no relay: the test publishes, in the order a resend leaves
    nc = await connect(nats_single)
    try:
        js = nc.jetstream()
        await ensure_outbound_stream(js, DALANG.id)
        await ensure_inbound_stream(js, QIANFENG.id, [Partner(DALANG.id)])
        async with node.unit_of_work() as conn:
            await node.send_many(
                conn, [Outgoing(dispute(n), QIANFENG.id, f"case-{n}") for n in range(5)]
            )
        async with node.db.snapshot() as conn:
            rows = await pending(conn, 10)
        # A resend put envelope 2 after 3 (a gap that closes by itself); then 4 is lost.
        for row in (rows[0], rows[2], rows[1], rows[3], rows[4]):
            subject = event_subject(DALANG.id, QIANFENG.id, row.type)
            await js.publish(subject, row.envelope, headers={"Nats-Msg-Id": row.event_id})
        await wait_for_messages(js, inbound_stream(QIANFENG.id), 5, timeout=10)
        await js.delete_msg(inbound_stream(QIANFENG.id), 4)
        settings = _receiver_settings(nats_single, tmp_path, agreement)
        await _receives_all(NodeRuntime(settings, handlers), 5)
    finally:
        await nc.close()
        await sender.stop()


async def test_a_restarted_receiver_repairs_what_it_held_from_after_what_it_applied(
    nats_single: NatsServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A restart forgets the open gaps and where the sender's stream was read to: a held
    envelope is still repaired with the sender quiet, and from after the last envelope applied
    (its copy in this node's inbound stream says where that was), not from the first."""
    agreement, handlers, sender = _dalang(nats_single, tmp_path)
    node = await sender.start()

    settings = _receiver_settings(nats_single, tmp_path, agreement, repair_after_s=600)

    def receiver(repair_after_s: float) -> NodeRuntime:
        repairing = settings.model_copy(update={"gap_repair_after_s": repair_after_s})
        return NodeRuntime(repairing, handlers)

    async def send(numbers: range) -> None:
        async with node.unit_of_work() as conn:
            await node.send_many(conn, [Outgoing(dispute(n), QIANFENG.id, "c") for n in numbers])
        await wait_for_messages(js, inbound_stream(QIANFENG.id), numbers.stop, timeout=10)

    nc = await connect(nats_single)
    try:
        js = nc.jetstream()
        await ensure_inbound_stream(js, QIANFENG.id, [Partner(DALANG.id)])
        await send(range(30))
        first = receiver(0.5)
        await start_with_probe(first)
        await wait_until(lambda: _is(applied(first), 30), 20, "thirty applied")
        await first.stop()
        await send(range(30, 32))
        await js.delete_msg(inbound_stream(QIANFENG.id), 31)  # lost: the 32nd is held
        second = receiver(600)
        await start_with_probe(second)
        await wait_until(lambda: _is(count(second, held), 1), 20, "the 32nd held")
        await second.stop()  # before repairing: the sender says nothing more

        third = receiver(0.5)
        with caplog.at_level(logging.INFO, logger="services.bus.gaps"):
            await start_with_probe(third)
            try:
                await wait_until(lambda: _is(applied(third), 32), 20, "all applied")
            finally:
                await third.stop()
    finally:
        await nc.close()
        await sender.stop()
    [repair] = [r.getMessage() for r in caplog.records if "gap repair" in r.getMessage()]
    assert repair.startswith(f"gap repair: re-read 2 envelopes of {DALANG.id} (seq 31..")
    assert not [r for r in caplog.records if "the store is behind" in r.getMessage()]  # held
