"""Each stored envelope keeps its time and chain hash, so a report reads a stream's head by the
index; the head it finds is the one a walk of the whole chain finds (SQLite and PostgreSQL)."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Table, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.canonical import sha256_hex
from services.bus.envelope import GENESIS, Envelope
from services.bus.inbox import Inbox, Outcome
from services.bus.outbox import Outgoing, enqueue
from services.bus.verification import VerifiedEvent
from services.reports.counting import chain_heads
from services.reports.period import Period
from services.store.database import Database
from services.store.tables import inbox, outbox
from tests.support.databases import BACKENDS, drop_postgres, fresh_postgres_url
from tests.support.envelopes import Exchange, seed_dispute
from tests.support.migrations import migrate

H1 = Period.parse("2026-H1")
END = H1.end.astimezone(UTC)  # 2026-06-30T16:00:00Z
# Seq 4 carries an earlier time than seq 3 (two transactions that took their clocks in one
# order and their seqs in the other): times need not follow seqs near the period's end.
SENT = [
    END - timedelta(hours=2),
    END - timedelta(milliseconds=1),
    END + timedelta(minutes=30),
    END - timedelta(minutes=5),
    END + timedelta(hours=1),
]


async def _ignore(conn: AsyncConnection, verified: VerifiedEvent) -> None:
    """Nothing to apply beyond the inbox row."""


async def _exchange(store: Database) -> Exchange:
    """Dalang sends SENT's envelopes through its outbox; Qianfeng's inbox (same store) takes
    them."""
    ex = Exchange()
    wires = []
    for n, when in enumerate(SENT):
        event = seed_dispute(dispute_id=f"DL-2026-{n:04d}")
        async with store.transaction() as conn:
            outgoing = Outgoing(event, ex.qianfeng.id, f"DL-2026-{n:04d}")
            envelope = await enqueue(conn, ex.loaded.agreement, ex.dalang.signer, outgoing, when)
        wires.append(envelope.wire_bytes())
    receiving = Inbox(store, ex.verifier(), _ignore, clock=lambda: SENT[-1] + timedelta(hours=1))
    for seq, wire in enumerate(wires, start=1):
        assert (await receiving.receive(wire, stream_seq=seq)).outcome == Outcome.APPLIED
    return ex


async def _walked_head(
    conn: AsyncConnection, table: Table, stream: str, partner: str, at: int | None
) -> tuple[int, str]:
    """The head as found by reading every envelope of the stream in seq order."""
    rows = await conn.execute(
        select(table.c.seq, table.c.envelope)
        .where(table.c[stream] == partner)
        .order_by(table.c.seq)
    )
    seq, head = 0, GENESIS
    for row in rows:
        sent = Envelope.from_wire(row.envelope).sent_at
        if (at is None and sent >= END) or (at is not None and row.seq > at):
            break
        seq, head = row.seq, sha256_hex(row.envelope)
    return seq, head


async def test_outbox_and_inbox_rows_keep_their_envelope_time_and_chain_hash(store: Database):
    await _exchange(store)
    async with store.transaction() as conn:
        for table in (outbox, inbox):
            rows = (
                await conn.execute(
                    select(table.c.seq, table.c.sent_at, table.c.chain_hash, table.c.envelope)
                )
            ).all()
            assert sorted(r.seq for r in rows) == [1, 2, 3, 4, 5]
            for row in rows:
                envelope = Envelope.from_wire(row.envelope)
                assert _utc(row.sent_at) == envelope.sent_at == SENT[row.seq - 1]
                assert row.chain_hash == sha256_hex(row.envelope) == envelope.chain_hash()


async def test_chain_head_found_by_the_index_is_the_head_found_by_walking_the_chain(
    store: Database,
):
    ex = await _exchange(store)
    dalang, qianfeng = ex.dalang.id, ex.qianfeng.id
    async with store.transaction() as conn:
        for at in (None, 0, 3, 9):
            sent = await chain_heads(conn, dalang, [qianfeng], END, _at(dalang, qianfeng, at))
            got = await chain_heads(conn, qianfeng, [dalang], END, _at(dalang, qianfeng, at))
            walked_out = await _walked_head(conn, outbox, "recipient", qianfeng, at)
            walked_in = await _walked_head(conn, inbox, "sender", dalang, at)
            assert (sent[0].up_to_seq, sent[0].chain_head) == walked_out
            assert (got[1].up_to_seq, got[1].chain_head) == walked_in == walked_out
            assert (sent[1].up_to_seq, sent[1].chain_head) == (0, GENESIS)  # nothing came back
    # At the period's end, the chain stops before seq 3 even though seq 4 carries an earlier time.
    assert walked_out[0] == 5 and (await _head_at_end(store, dalang, qianfeng))[0] == 2


@pytest.fixture(params=BACKENDS)
async def unmigrated(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """An empty store on each backend, not migrated yet."""
    postgres = request.param == "postgresql"
    url = await fresh_postgres_url() if postgres else f"sqlite:///{tmp_path / 'node.db'}"
    db = Database.open(url)
    try:
        yield db
    finally:
        await db.close()
        if postgres:
            await drop_postgres(url)


async def test_migration_fills_the_time_of_envelopes_stored_before_it(unmigrated: Database):
    wire = Exchange().envelope(now=SENT[1]).wire_bytes()
    values = {"hash": sha256_hex(wire), "wire": wire, "now": SENT[0]}
    async with unmigrated.transaction() as conn:
        await conn.run_sync(migrate, "upgrade", "0001")
        await conn.execute(
            text(
                "INSERT INTO outbox (event_id, recipient, seq, type, subject, correlation, "
                "chain_hash, envelope, status, created_at) VALUES ('e1', 'guangan-qianfeng', 1, "
                "'dispute.reported', 's', 'c', :hash, :wire, 'delivered', :now)"
            ),
            values,
        )
        await conn.execute(
            text(
                "INSERT INTO inbox (event_id, sender, seq, type, subject, correlation, "
                "chain_hash, envelope, status, applied_at) VALUES ('e2', 'dongguan-dalang', 1, "
                "'dispute.reported', 's', 'c', :hash, :wire, 'applied', :now)"
            ),
            values,
        )
    await unmigrated.migrate()
    async with unmigrated.transaction() as conn:
        for table in (outbox, inbox):
            assert _utc((await conn.execute(select(table.c.sent_at))).scalar_one()) == SENT[1]


async def _head_at_end(store: Database, sender: str, recipient: str) -> tuple[int, str]:
    async with store.transaction() as conn:
        head = (await chain_heads(conn, sender, [recipient], END))[0]
    return head.up_to_seq, head.chain_head


def _at(sender: str, recipient: str, at: int | None) -> dict[tuple[str, str], int] | None:
    return None if at is None else {(sender, recipient): at, (recipient, sender): 0}


def _utc(moment: datetime) -> datetime:
    """A stored instant as aware UTC (SQLite gives it back naive, in UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
