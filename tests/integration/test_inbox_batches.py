"""The inbox settling batches: checked in worker processes, applied without a savepoint each."""

from sqlalchemy import select

from services.bus.inbox import Inbox, Outcome
from services.bus.verification_pool import VerificationPool
from services.store.tables import inbound_streams, quarantine
from tests.integration.test_outbox_inbox import _count, _inbox, _send, effects, pair

__all__ = ["pair"]


def _pooled(inbox: Inbox) -> Inbox:
    inbox.pool = VerificationPool(inbox.verifier, workers=2, inline_below=1)
    return inbox


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
