"""Outbox and inbox on real databases (SQLite, PostgreSQL), envelopes handed over directly."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import BigInteger, Column, MetaData, String, Table, func, select

from contracts.agreement import AgreementBook, LoadedAgreement
from contracts.events.disputes import DisputeReportedV1
from contracts.registry import ContractRegistry
from services.bus.envelope import Envelope
from services.bus.handlers import NotApplicable
from services.bus.inbox import Inbox, Outcome
from services.bus.outbox import (
    Outgoing,
    ReceiptMismatch,
    apply_receipt,
    enqueue,
    enqueue_many,
    mark_published,
    pending,
)
from services.bus.relay import Relay
from services.bus.topology import outbound_stream
from services.bus.transport import TransportError, ensure_outbound_stream
from services.bus.verification import Verifier
from services.store.database import Database
from services.store.tables import held as held_table
from services.store.tables import inbound_streams, outbound_streams, outbox, quarantine
from services.store.tables import inbox as inbox_table
from tests.support.nats import NatsServer, connect, wait_for_messages
from tests.support.trust import NOW, Bureau, agreement_document, flow, sign_document

DALANG, QIANFENG = Bureau("dongguan-dalang"), Bureau("guangan-qianfeng")
effects_metadata = MetaData()
effects = Table("effects", effects_metadata, Column("event_id", String(36), primary_key=True))


def _agreement(senders=(DALANG, QIANFENG)):
    doc = agreement_document(
        [DALANG, QIANFENG],
        [flow("dispute.reported", list(senders))],
        {"dispute.reported": ["parties[].id_number"]},
    )
    return sign_document(doc, [DALANG, QIANFENG]).agreement


def _dispute(n: int) -> DisputeReportedV1:
    return DisputeReportedV1(
        dispute_id=f"DL-{n:05d}",
        reported_in="dongguan-dalang",
        category="wages_labour",
        risk="low",
        source="walk_in",
        place="Dalang wool-knitting market",
        parties=[
            {
                "name": "Lao Huang",
                "home_jurisdiction": "guangan-qianfeng",
                "id_number": "511602197001010015",
            }
        ],
        narrative="Unpaid wages.",
        occurred_on="2026-03-02",
    )


async def _send(db: Database, n: int, agreement=None) -> bytes:
    async with db.transaction() as conn:
        envelope = await enqueue(
            conn,
            agreement or _agreement(),
            DALANG.signer,
            Outgoing(_dispute(n), QIANFENG.id, f"DL-{n:05d}"),
            NOW,
        )
    return envelope.wire_bytes()


def _inbox(db: Database, agreement=None, fail_on: set[str] | None = None) -> Inbox:
    book = (
        AgreementBook(
            [
                sign_document(
                    agreement_document(
                        [DALANG, QIANFENG],
                        [flow("dispute.reported", [DALANG, QIANFENG])],
                        {"dispute.reported": ["parties[].id_number"]},
                    ),
                    [DALANG, QIANFENG],
                )
            ]
        )
        if agreement is None
        else agreement
    )
    verifier = Verifier(
        QIANFENG.id, book, ContractRegistry([DisputeReportedV1]), {QIANFENG.enc_kid: QIANFENG.enc}
    )

    async def apply(conn, verified):
        await conn.execute(effects.insert().values(event_id=verified.envelope.id))
        if fail_on and verified.event.dispute_id in fail_on:
            raise NotApplicable(f"{verified.event.dispute_id} cannot be applied")

    return Inbox(db, verifier, apply, clock=lambda: NOW + timedelta(seconds=1))


async def _count(db: Database, table) -> int:
    async with db.transaction() as conn:
        return (await conn.execute(select(func.count()).select_from(table))).scalar_one()


@pytest.fixture
async def pair(store: Database, tmp_path):
    """Sender and receiver stores on the same backend (the receiver in its own schema file/db)."""
    from tests.support.databases import drop_postgres, open_store

    backend = "sqlite" if store.is_sqlite else "postgresql"
    (tmp_path / "b").mkdir()
    receiver, url = await open_store(backend, tmp_path / "b")
    async with receiver.transaction() as conn:
        await conn.run_sync(effects_metadata.create_all)
    yield store, receiver
    await receiver.close()
    if backend == "postgresql":
        await drop_postgres(url)


async def test_outbox_assigns_gap_free_seqs_and_chains_each_envelope_to_the_previous(store):
    wires = [await _send(store, n) for n in range(3)]
    async with store.transaction() as conn:
        rows = await pending(conn, 10)
    assert [r.seq for r in rows] == [1, 2, 3]
    from services.bus.envelope import GENESIS, Envelope, parse_document

    envelopes = [Envelope.from_document(parse_document(w)) for w in wires]
    assert envelopes[0].prev == GENESIS
    assert envelopes[1].prev == envelopes[0].chain_hash()
    assert envelopes[2].prev == envelopes[1].chain_hash()


async def test_envelopes_enqueued_together_to_one_recipient_share_a_pdepk_and_open_alone(store):
    huaying = Bureau("guangan-huaying")
    parties = [DALANG, QIANFENG, huaying]
    loaded = sign_document(
        agreement_document(
            parties,
            [flow("dispute.reported", parties)],
            {"dispute.reported": ["parties[].id_number"]},
        ),
        parties,
    )
    batch = [Outgoing(_dispute(n), QIANFENG.id, f"DL-{n:05d}") for n in range(3)]
    batch.insert(1, Outgoing(_dispute(9), huaying.id, "DL-00009"))
    async with store.transaction() as conn:
        together = await enqueue_many(conn, loaded.agreement, DALANG.signer, batch, NOW)
        alone = await enqueue(conn, loaded.agreement, DALANG.signer, batch[0], NOW)
    to_qianfeng = [e for e in together if e.recipient == QIANFENG.id]
    assert len(to_qianfeng) == 3 and len({e.pdepk for e in to_qianfeng}) == 1
    assert together[1].pdepk != to_qianfeng[0].pdepk != alone.pdepk
    for envelope in reversed(to_qianfeng):  # each alone, by a verifier that met none before
        verifier = Verifier(
            QIANFENG.id,
            AgreementBook([loaded]),
            ContractRegistry([DisputeReportedV1]),
            {QIANFENG.enc_kid: QIANFENG.enc},
        )
        opened = verifier.verify(envelope.wire_bytes(), NOW).event.model_dump()
        assert opened["parties"][0]["id_number"] == "511602197001010015"


async def test_rolled_back_transaction_leaves_no_event_and_no_seq_used(store):
    with pytest.raises(RuntimeError):
        async with store.transaction() as conn:
            await enqueue(
                conn, _agreement(), DALANG.signer, Outgoing(_dispute(1), QIANFENG.id, "x"), NOW
            )
            raise RuntimeError("domain change failed")
    assert await _count(store, outbox) == 0
    await _send(store, 2)
    async with store.transaction() as conn:
        assert [r.seq for r in await pending(conn, 10)] == [1]


async def test_redelivered_envelope_is_applied_exactly_once(pair):
    sender, receiver = pair
    wire = await _send(sender, 1)
    inbox = _inbox(receiver)
    assert (await inbox.receive(wire, stream_seq=7)).outcome == Outcome.APPLIED
    assert (await inbox.receive(wire, stream_seq=7)).outcome == Outcome.DUPLICATE
    assert await _count(receiver, effects) == 1


async def test_same_envelope_replayed_under_a_new_stream_position_is_quarantined(pair):
    sender, receiver = pair
    wire = await _send(sender, 1)
    inbox = _inbox(receiver)
    await inbox.receive(wire, stream_seq=1)
    receipt = await inbox.receive(wire, stream_seq=2)
    assert (receipt.outcome, receipt.reason) == (Outcome.QUARANTINED, "replayed")
    assert await _count(receiver, effects) == 1


async def test_out_of_order_envelope_is_held_until_the_gap_is_filled(pair):
    sender, receiver = pair
    first, second, third = [await _send(sender, n) for n in range(3)]
    inbox = _inbox(receiver)
    held = await inbox.receive(third)
    assert held.outcome == Outcome.HELD and held.gap == (1, 2)
    assert (await inbox.receive(second)).outcome == Outcome.HELD
    assert (await inbox.receive(first)).outcome == Outcome.APPLIED
    assert await _count(receiver, effects) == 3
    async with receiver.transaction() as conn:
        assert (await conn.execute(select(inbound_streams.c.applied_seq))).scalar_one() == 3


async def test_a_second_envelope_for_a_held_place_is_quarantined_not_dropped(pair):
    """The sender forked its chain (its store restored from a backup, say): two authentic
    envelopes claim seq 3. The first waits for its predecessors; the second is quarantined
    with its bytes; the first again (a redelivery) is still only held."""
    sender, receiver = pair
    first, second, third, fork = await _forked_at_seq_3(sender)
    inbox = _inbox(receiver)

    assert (await inbox.receive(third)).outcome == Outcome.HELD
    forked = await inbox.receive(fork)
    assert (await inbox.receive(third)).outcome == Outcome.HELD
    assert [(r.outcome, r.reason) for r in await inbox.receive_many([(first, 1), (second, 2)])] == [
        (Outcome.APPLIED, None),
        (Outcome.APPLIED, None),
    ]

    assert (forked.outcome, forked.reason) == (Outcome.QUARANTINED, "chain_break")
    async with receiver.transaction() as conn:
        assert (await conn.execute(select(inbound_streams.c.applied_seq))).scalar_one() == 3
        kept = (await conn.execute(select(quarantine.c.raw, quarantine.c.detail))).one()
    assert bytes(kept.raw) == fork
    assert kept.detail == "another envelope is already held at seq 3 of this stream"
    assert await _count(receiver, effects) == 3


async def _forked_at_seq_3(sender: Database) -> list[bytes]:
    """Envelopes 1-3 of a stream, and a second, different seq 3 (the store restored from a
    backup taken at seq 2)."""
    first, second, third = [await _send(sender, n) for n in range(3)]
    async with sender.transaction() as conn:
        await conn.execute(outbox.delete().where(outbox.c.seq == 3))
        head = Envelope.from_wire(second).chain_hash()
        await conn.execute(outbound_streams.update().values(last_seq=2, head=head))
    fork = await _send(sender, 33)
    assert Envelope.from_wire(fork).seq == 3 and fork != third
    return [first, second, third, fork]


async def test_redriving_a_replayed_or_forked_envelope_keeps_one_entry_with_todays_reason(pair):
    from services.bus.quarantine import list_entries, redrive

    sender, receiver = pair
    first, second, third, fork = await _forked_at_seq_3(sender)
    inbox = _inbox(receiver)
    await inbox.receive(third)
    assert (await inbox.receive(fork)).reason == "chain_break"
    await inbox.receive_many([(first, 1), (second, 2)])
    assert (await inbox.receive(first, stream_seq=4)).reason == "replayed"
    async with receiver.transaction() as conn:
        replayed, forked = await list_entries(conn)

    again = await redrive(inbox, forked.id)
    # Today the stream has moved past seq 3: the fork is an old place taken again.
    assert (again.outcome, again.reason) == (Outcome.QUARANTINED, "replayed")
    assert (await redrive(inbox, replayed.id)).outcome == Outcome.DUPLICATE
    async with receiver.transaction() as conn:
        entries = await list_entries(conn, status=None)
    assert [(e.id, e.status, e.reason) for e in entries] == [
        (replayed.id, "redriven", "replayed"),
        (forked.id, "held", "replayed"),
    ]
    assert await _count(receiver, effects) == 3


async def test_a_long_run_of_held_envelopes_is_settled_a_bounded_number_a_transaction(pair):
    """Seven envelopes held behind the first; it arrives: all are applied, in order, the held
    ones at most three a transaction (as they would be a thousand after a long gap)."""
    from sqlalchemy import event

    sender, receiver = pair
    wires = [await _send(sender, n) for n in range(8)]
    inbox = _inbox(receiver, fail_on={"DL-00005"})  # its handler refuses one on the way
    inbox.held_per_transaction = 3
    for wire in reversed(wires[1:]):
        assert (await inbox.receive(wire)).outcome == Outcome.HELD
    commits: list[int] = []
    event.listen(receiver.engine.sync_engine, "commit", lambda conn: commits.append(1))

    assert (await inbox.receive(wires[0])).outcome == Outcome.APPLIED

    assert len(commits) == 3  # the batch with 3 held, then 3, then the last 1
    assert await _count(receiver, effects) == 7  # eight, less the refused one
    async with receiver.snapshot() as conn:
        assert (await conn.execute(select(inbound_streams.c.applied_seq))).scalar_one() == 8
        assert (await conn.execute(select(func.count()).select_from(held_table))).scalar() == 0
        [refused] = (await conn.execute(select(quarantine.c.reason))).scalars().all()
    assert refused == "not_applicable"


async def test_tampered_envelope_is_quarantined_with_its_bytes_and_not_applied(pair):
    sender, receiver = pair
    wire = (await _send(sender, 1)).replace(b"Unpaid wages.", b"Unpaid wages!")
    receipt = await _inbox(receiver).receive(wire)
    assert (receipt.outcome, receipt.reason) == (Outcome.QUARANTINED, "bad_signature")
    assert await _count(receiver, effects) == 0
    async with receiver.transaction() as conn:
        row = (await conn.execute(select(quarantine.c.reason, quarantine.c.raw))).one()
    assert row.raw == wire and row.reason == "bad_signature"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"id":"\\ud800","source":"dongguan-dalang"}',  # a lone surrogate has no UTF-8 form
        b'{"id":"0","source":"dongguan-dalang\\u0000"}',  # PostgreSQL text holds no NUL
        b'{"\\u0000":1}',  # the member's name is in the refusal's detail
    ],
)
async def test_garbage_claiming_what_no_store_holds_is_quarantined_with_its_bytes(pair, raw):
    _, receiver = pair
    receipt = await _inbox(receiver).receive(raw, stream_seq=1)
    assert (receipt.outcome, receipt.reason) == (Outcome.QUARANTINED, "malformed")
    async with receiver.transaction() as conn:
        assert (await conn.execute(select(quarantine.c.raw))).scalar_one() == raw


async def test_an_authentic_envelope_whose_subject_has_a_nul_is_applied_with_its_bytes(pair):
    from tests.support.envelopes import resign

    sender, receiver = pair
    sent = Envelope.from_wire(await _send(sender, 1))
    wire = resign(sent, DALANG.sig, subject="DL-00001\u0000" * 22)  # 198 characters
    assert (await _inbox(receiver).receive(wire, stream_seq=1)).outcome == Outcome.APPLIED
    assert await _count(receiver, effects) == 1
    async with receiver.transaction() as conn:
        assert (await conn.execute(select(inbox_table.c.envelope))).scalar_one() == wire


amounts_metadata = MetaData()
amounts = Table(
    "amounts",
    amounts_metadata,
    Column("event_id", String(36), primary_key=True),
    Column("fen", BigInteger),
)


@pytest.mark.parametrize(
    "effect",
    [
        {"event_id": "the same key twice", "fen": 0},  # a key that clashes
        {"event_id": "an amount beyond BIGINT", "fen": 10**19},  # a value out of range
    ],
)
async def test_an_event_whose_effects_the_store_refuses_is_quarantined_and_the_stream_goes_on(
    pair, effect
):
    sender, receiver = pair
    async with receiver.transaction() as conn:
        await conn.run_sync(amounts_metadata.create_all)
        await conn.execute(amounts.insert().values(event_id="the same key twice", fen=0))
    wires = [await _send(sender, n) for n in range(1, 4)]
    inbox = _inbox(receiver)
    apply = inbox.apply

    async def apply_writing(conn, verified):  # type: ignore[no-untyped-def]
        await apply(conn, verified)
        if verified.event.dispute_id == "DL-00002":
            await conn.execute(amounts.insert().values(**effect))

    inbox.apply = apply_writing
    receipts = await inbox.receive_many([(w, n) for n, w in enumerate(wires, start=1)])
    assert [(r.outcome, r.reason) for r in receipts] == [
        (Outcome.APPLIED, None),
        (Outcome.QUARANTINED, "store_refused"),
        (Outcome.APPLIED, None),
    ]
    assert await _count(receiver, effects) == 2
    async with receiver.transaction() as conn:
        assert (await conn.execute(select(inbound_streams.c.applied_seq))).scalar_one() == 3
        assert (await conn.execute(select(quarantine.c.raw))).scalar_one() == wires[1]


async def test_authentic_but_unpermitted_envelope_is_quarantined_and_the_stream_goes_on(pair):
    sender, receiver = pair
    receiver_book = AgreementBook(
        [
            sign_document(
                agreement_document(
                    [DALANG, QIANFENG],
                    [flow("dispute.reported", [QIANFENG])],
                    {"dispute.reported": ["parties[].id_number"]},
                ),
                [DALANG, QIANFENG],
            )
        ]
    )
    # The sender's copy permits it; the receiver's (say, older) copy does not.
    first = await _send(sender, 1)
    inbox = _inbox(receiver, agreement=receiver_book)
    receipt = await inbox.receive(first)
    assert (receipt.outcome, receipt.reason) == (Outcome.QUARANTINED, "not_permitted")
    async with receiver.transaction() as conn:
        assert (await conn.execute(select(inbound_streams.c.applied_seq))).scalar_one() == 1
    assert await _count(receiver, effects) == 0


async def test_handler_refusal_rolls_back_its_effects_and_quarantines(pair):
    sender, receiver = pair
    first, second = await _send(sender, 1), await _send(sender, 2)
    inbox = _inbox(receiver, fail_on={"DL-00001"})
    receipt = await inbox.receive(first)
    assert (receipt.outcome, receipt.reason) == (Outcome.QUARANTINED, "not_applicable")
    assert (await inbox.receive(second)).outcome == Outcome.APPLIED
    assert await _count(receiver, effects) == 1


async def test_receipt_marks_delivered_only_when_the_chain_head_matches(store):
    wires = [await _send(store, n) for n in range(3)]
    from services.bus.envelope import Envelope, parse_document

    second = Envelope.from_document(parse_document(wires[1]))
    async with store.transaction() as conn:
        with pytest.raises(ReceiptMismatch):
            await apply_receipt(conn, QIANFENG.id, 2, "f" * 64, NOW)
    async with store.transaction() as conn:
        assert await apply_receipt(conn, QIANFENG.id, 2, second.chain_hash(), NOW) == 2
        statuses = (
            (await conn.execute(select(outbox.c.status).order_by(outbox.c.seq))).scalars().all()
        )
    assert statuses == ["delivered", "delivered", "pending"]


async def _statuses(db: Database) -> list[str]:
    async with db.transaction() as conn:
        query = select(outbox.c.status).order_by(outbox.c.seq)
        return list((await conn.execute(query)).scalars().all())


async def test_marking_a_batch_published_leaves_the_pending_rows_after_it(store):
    for n in range(5):
        await _send(store, n)
    async with store.transaction() as conn:
        batch = await pending(conn, 3)
        await mark_published(conn, batch, NOW)
    assert await _statuses(store) == ["published"] * 3 + ["pending"] * 2
    async with store.transaction() as conn:
        assert [r.seq for r in await pending(conn, 10)] == [4, 5]


async def test_a_round_reads_envelopes_up_to_its_bytes_and_the_first_whatever_its_size(store):
    """Material chunks are ~470 KB each: a relay round of 1,024 must not read half a gigabyte."""
    sizes = [len(await _send(store, n)) for n in range(5)]
    async with store.transaction() as conn:
        assert [r.seq for r in await pending(conn, 10, sizes[0] + sizes[1])] == [1, 2]
        assert [r.seq for r in await pending(conn, 10, sizes[0] + 1)] == [1, 2]
        assert [r.seq for r in await pending(conn, 10, 1)] == [1]
        assert [r.seq for r in await pending(conn, 3, sum(sizes))] == [1, 2, 3]
        assert [r.seq for r in await pending(conn, 10)] == [1, 2, 3, 4, 5]


async def test_the_relay_goes_on_at_once_after_a_round_cut_short_by_its_bytes(
    store: Database, nats_single: NatsServer
) -> None:
    """One envelope a round (a budget of one byte), and a minute between rounds when idle:
    the four still go out at once, one round after the other."""
    for n in range(4):
        await _send(store, n)
    async with await connect(nats_single) as nc:
        js = nc.jetstream()
        await ensure_outbound_stream(js, DALANG.id)
        relay = Relay(store, js, DALANG.id, lambda: NOW, asyncio.Event(), 10, 1, idle_poll_s=60)
        running = asyncio.create_task(relay.run())
        try:
            assert await wait_for_messages(js, outbound_stream(DALANG.id), 4, timeout=10) == 4
            for _ in range(100):
                if await _statuses(store) == ["published"] * 4:
                    break
                await asyncio.sleep(0.05)
        finally:
            running.cancel()
    assert await _statuses(store) == ["published"] * 4


def _count_opened(store: Database, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many transactions and snapshots are opened on `store` from now on."""
    opened = {"transaction": 0, "snapshot": 0}
    for kind in opened:
        original = getattr(store, kind)

        def counted(*args, _kind=kind, _original=original, **kwargs):
            opened[_kind] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(store, kind, counted)
    return opened


async def test_a_busy_relay_marks_a_round_and_reads_the_next_in_one_transaction(
    store: Database, nats_single: NatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(5):
        await _send(store, n)
    async with await connect(nats_single) as nc:
        js = nc.jetstream()
        await ensure_outbound_stream(js, DALANG.id)
        relay = Relay(store, js, DALANG.id, lambda: NOW, asyncio.Event(), 2, 1 << 20)
        opened = _count_opened(store, monkeypatch)
        rounds = [await relay.publish_pending() for _ in range(4)]
        held = await wait_for_messages(js, outbound_stream(DALANG.id), 5, timeout=10)
    assert rounds == [2, 2, 1, 0]
    # The first round and the last (nothing left) read in a snapshot; the ones between read
    # where the round before them was marked published.
    assert opened == {"transaction": 3, "snapshot": 2}
    assert held == 5
    assert await _statuses(store) == ["published"] * 5


async def test_a_round_that_fails_leaves_its_envelopes_pending_and_the_next_reads_them_again(
    store: Database, nats_single: NatsServer
) -> None:
    for n in range(4):
        await _send(store, n)
    async with await connect(nats_single) as nc:
        js = nc.jetstream()
        stream = outbound_stream(DALANG.id)
        await ensure_outbound_stream(js, DALANG.id)
        relay = Relay(store, js, DALANG.id, lambda: NOW, asyncio.Event(), 2, 1 << 20)
        assert await relay.publish_pending() == 2
        assert relay.more
        await js.delete_stream(stream)  # nothing takes the next round's envelopes
        with pytest.raises(TransportError):
            await relay.publish_pending()
        assert not relay.more
        assert await _statuses(store) == ["published"] * 2 + ["pending"] * 2
        await ensure_outbound_stream(js, DALANG.id)
        assert await relay.publish_pending() == 2
        assert await wait_for_messages(js, stream, 2, timeout=10) == 2
    assert await _statuses(store) == ["published"] * 4


async def test_receipts_in_turn_mark_each_range_once_and_a_late_one_changes_nothing(store):
    wires = [await _send(store, n) for n in range(4)]
    from services.bus.envelope import Envelope, parse_document

    heads = [Envelope.from_document(parse_document(w)).chain_hash() for w in wires]
    async with store.transaction() as conn:
        assert await apply_receipt(conn, QIANFENG.id, 2, heads[1], NOW) == 2
        assert await apply_receipt(conn, QIANFENG.id, 3, heads[2], NOW) == 1
        assert await apply_receipt(conn, QIANFENG.id, 2, heads[1], NOW) == 0
    assert await _statuses(store) == ["delivered"] * 3 + ["pending"]


async def test_cumulative_receipt_travels_back_and_marks_the_senders_envelopes_delivered(pair):
    from contracts.events.bus import CumulativeReceiptV1
    from services.bus.handlers import dispatcher
    from services.bus.receipts import issue_receipts, receipt_handler

    sender, receiver = pair
    parties = [DALANG, QIANFENG]
    book = AgreementBook(
        [
            sign_document(
                agreement_document(
                    parties,
                    [flow("dispute.reported", parties), flow("bus.receipt", parties)],
                    {"dispute.reported": ["parties[].id_number"]},
                ),
                parties,
            )
        ]
    )
    wires = [
        await _send(sender, n, book.in_force("test-agreement", NOW.date()).agreement)
        for n in range(3)
    ]
    contracts = ContractRegistry([DisputeReportedV1, CumulativeReceiptV1])
    at_receiver = Inbox(
        receiver,
        Verifier(QIANFENG.id, book, contracts, {QIANFENG.enc_kid: QIANFENG.enc}),
        dispatcher({"dispute.reported": lambda conn, v: _noop()}),
        clock=lambda: NOW,
    )
    for wire in wires:
        assert (await at_receiver.receive(wire)).outcome == Outcome.APPLIED
    async with receiver.transaction() as conn:
        [receipt] = await issue_receipts(conn, book, QIANFENG.signer, NOW)
        assert await issue_receipts(conn, book, QIANFENG.signer, NOW) == []
    at_sender = Inbox(
        sender,
        Verifier(DALANG.id, book, contracts, {DALANG.enc_kid: DALANG.enc}),
        dispatcher({"bus.receipt": receipt_handler(DALANG.id, lambda: NOW)}),
        clock=lambda: NOW,
    )
    assert (await at_sender.receive(receipt.wire_bytes())).outcome == Outcome.APPLIED
    async with sender.transaction() as conn:
        statuses = (await conn.execute(select(outbox.c.status))).scalars().all()
    assert statuses == ["delivered"] * 3


async def _noop() -> None:
    return None


def _dalang_to_qianfeng_then_both_ways() -> list[LoadedAgreement]:
    """Version 1 lets only Qianfeng receive disputes; version 2, both sides."""
    parties = [DALANG, QIANFENG]
    personal = {"dispute.reported": ["parties[].id_number"]}
    return [
        sign_document(
            agreement_document(parties, [flow("dispute.reported", to)], personal, version=v),
            parties,
        )
        for v, to in ((1, [QIANFENG]), (2, parties))
    ]


async def test_unpermitted_event_is_redriven_and_applied_after_the_agreement_is_amended(pair):
    from services.bus.quarantine import list_entries, redrive

    sender, receiver = pair
    v1, v2 = _dalang_to_qianfeng_then_both_ways()
    wire = await _send(sender, 1)
    assert (await _inbox(receiver, agreement=AgreementBook([v1])).receive(wire)).reason == (
        "not_permitted"
    )
    async with receiver.transaction() as conn:
        [entry] = await list_entries(conn)
    assert (entry.reason, entry.status) == ("not_permitted", "held")
    still = await redrive(_inbox(receiver, agreement=AgreementBook([v1])), entry.id)
    assert still.outcome == Outcome.QUARANTINED
    amended = await redrive(_inbox(receiver, agreement=AgreementBook([v1, v2])), entry.id)
    assert amended.outcome == Outcome.APPLIED
    assert await _count(receiver, effects) == 1
    async with receiver.transaction() as conn:
        assert await list_entries(conn) == []
        assert [e.status for e in await list_entries(conn, status=None)] == ["redriven"]


async def test_an_entry_readmitted_after_an_amendment_and_refused_again_keeps_todays_reason(pair):
    """Permitted by the amendment, the event is refused by its handler: the same entry, held,
    says so (it went on saying `not_permitted`)."""
    from services.bus.quarantine import list_entries, redrive

    sender, receiver = pair
    v1, v2 = _dalang_to_qianfeng_then_both_ways()
    await _inbox(receiver, agreement=AgreementBook([v1])).receive(await _send(sender, 1))
    async with receiver.transaction() as conn:
        [entry] = await list_entries(conn)

    amended = _inbox(receiver, agreement=AgreementBook([v1, v2]), fail_on={"DL-00001"})
    again = await redrive(amended, entry.id)
    async with receiver.transaction() as conn:
        [after] = await list_entries(conn, status=None)
    assert (entry.reason, again.outcome, again.reason) == (
        "not_permitted",
        Outcome.QUARANTINED,
        "not_applicable",
    )
    assert (after.id, after.status, after.reason) == (entry.id, "held", "not_applicable")


async def test_redriving_a_forged_envelope_changes_nothing(pair):
    from services.bus.quarantine import list_entries, redrive

    sender, receiver = pair
    wire = (await _send(sender, 1)).replace(b"Unpaid wages.", b"Unpaid wages!")
    inbox = _inbox(receiver)
    await inbox.receive(wire)
    async with receiver.transaction() as conn:
        [entry] = await list_entries(conn)
    assert (await redrive(inbox, entry.id)).reason == "bad_signature"
    async with receiver.transaction() as conn:
        assert len(await list_entries(conn, status=None)) == 1
    assert await _count(receiver, effects) == 0


async def test_exchange_log_verifies_on_both_sides_and_a_tampered_row_is_found(pair):
    from services.bus.audit import audit_store

    sender, receiver = pair
    book = AgreementBook(
        [
            sign_document(
                agreement_document(
                    [DALANG, QIANFENG],
                    [flow("dispute.reported", [DALANG, QIANFENG])],
                    {"dispute.reported": ["parties[].id_number"]},
                ),
                [DALANG, QIANFENG],
            )
        ]
    )
    inbox = _inbox(receiver, agreement=book)
    for n in range(4):
        await inbox.receive(await _send(sender, n))
    async with sender.transaction() as conn:
        [sent] = await audit_store(conn, book)
    async with receiver.transaction() as conn:
        [received] = await audit_store(conn, book)
    assert (sent.problems, received.problems) == ([], [])
    assert (sent.envelopes, sent.head) == (received.envelopes, received.head) == (4, sent.head)
    from services.store.tables import inbox as inbox_table

    async with receiver.transaction() as conn:
        await conn.execute(inbox_table.delete().where(inbox_table.c.seq == 2))
    async with receiver.transaction() as conn:
        [broken] = await audit_store(conn, book)
    assert any("expected seq 2" in p for p in broken.problems)


def _batch_book() -> AgreementBook:
    document = agreement_document(
        [DALANG, QIANFENG],
        [flow("dispute.reported", [DALANG, QIANFENG])],
        {"dispute.reported": ["parties[].id_number"]},
        batch_signing=4,
    )
    return AgreementBook([sign_document(document, [DALANG, QIANFENG])])


async def _enqueue_ten(sender: Database, book: AgreementBook) -> list[Envelope]:
    """Ten disputes to Qianfeng enqueued in one transaction, under `book`'s agreement."""
    agreement = book.in_force("test-agreement", NOW.date()).agreement
    outgoing = [Outgoing(_dispute(n), QIANFENG.id, f"DL-{n:05d}") for n in range(10)]
    async with sender.transaction() as conn:
        return await enqueue_many(conn, agreement, DALANG.signer, outgoing, NOW)


async def test_a_batch_of_envelopes_is_signed_in_chunks_applied_in_order_and_audits_clean(pair):
    from services.bus.audit import audit_store

    sender, receiver = pair
    book = _batch_book()
    envelopes = await _enqueue_ten(sender, book)
    assert [e.batch_size for e in envelopes] == [4] * 8 + [2] * 2
    assert len({e.signature for e in envelopes}) == 3
    async with sender.transaction() as conn:
        wires = [row.envelope for row in await pending(conn, 20)]
    assert [Envelope.from_wire(w).id for w in wires] == [e.id for e in envelopes]
    inbox = _inbox(receiver, agreement=book)
    receipts = await inbox.receive_many([(w, n + 1) for n, w in enumerate(wires)])
    assert {r.outcome for r in receipts} == {Outcome.APPLIED}
    assert await _count(receiver, effects) == 10
    async with receiver.transaction() as conn:
        head = (await conn.execute(select(inbound_streams.c.head))).scalar_one()
        received = await audit_store(conn, book)
    async with sender.transaction() as conn:
        sent = await audit_store(conn, book)
    assert head == envelopes[-1].chain_hash()
    assert [(a.envelopes, a.problems, a.head) for a in sent + received] == [(10, [], head)] * 2


async def test_the_audit_reads_in_chunks_tells_its_progress_and_checks_each_batch_signature(pair):
    """Ten envelopes under three batch signatures, read three at a time; one stored envelope
    given another batch's (valid) signature is the only one found: the batch it belongs to
    is checked once for the others, never taken on trust for it."""
    from services.bus.audit import audit_store
    from services.store.tables import inbox as inbox_table

    sender, receiver = pair
    book = _batch_book()
    envelopes = await _enqueue_ten(sender, book)
    async with sender.transaction() as conn:
        wires = [row.envelope for row in await pending(conn, 20)]
    await _inbox(receiver, agreement=book).receive_many([(w, n + 1) for n, w in enumerate(wires)])
    first, sixth = envelopes[0].signature, envelopes[5].signature
    forged = wires[5].replace(sixth.encode(), first.encode())
    async with receiver.transaction() as conn:
        await conn.execute(
            inbox_table.update().where(inbox_table.c.seq == 6).values(envelope=forged)
        )

    seen: list[tuple[int, int]] = []
    async with receiver.snapshot() as conn:
        [received] = await audit_store(
            conn, book, lambda done, total: seen.append((done, total)), 3
        )

    assert seen == [(3, 10), (6, 10), (9, 10), (10, 10)]
    assert received.envelopes == 10 and received.head == envelopes[-1].chain_hash()
    assert received.problems == [
        f"seq 6 ({envelopes[5].id}): signature does not verify with {envelopes[5].kid}"
    ]
