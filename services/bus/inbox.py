"""The verifying inbox: every received envelope is verified, then applied once or quarantined.

One transaction per envelope: the inbox row, the stream position and the domain effects commit
together, so a crash at any point either applied the event fully or not at all; redelivery of
an applied event is recognised by its id and only acknowledged again.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.errors import EnvelopeRejected, ReplayedEnvelope, SequenceGap
from services.bus.envelope import Envelope
from services.bus.handlers import Handler, NotApplicable
from services.bus.verification import StreamPosition, Verifier
from services.store.database import Database, insert_if_absent
from services.store.tables import held, inbound_streams, inbox, quarantine

Clock = Callable[[], datetime]
RECEIPT_TYPE = "bus.receipt"


class Outcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"
    HELD = "held"


@dataclass(frozen=True)
class Receipt:
    """What the inbox did with one envelope; `gap` is the missing range when it was held."""

    outcome: Outcome
    reason: str | None = None
    gap: tuple[int, int] | None = None


@dataclass
class Inbox:
    """Receives the envelopes of every partner stream addressed to this node."""

    db: Database
    verifier: Verifier
    apply: Handler
    clock: Clock

    async def receive(self, raw: bytes, stream_seq: int | None = None) -> Receipt:
        """Verify and apply (or quarantine, or hold) one envelope, then any held successors."""
        try:
            receipt, sender = await self._receive_one(raw, stream_seq)
        except IntegrityError:
            # A concurrent delivery of the same envelope won the race: it is applied.
            return Receipt(Outcome.DUPLICATE)
        while receipt.outcome == Outcome.APPLIED and sender is not None:
            follow = await self._next_held(sender)
            if follow is None:
                break
            await self._receive_one(follow, None, from_held=True)
        return receipt

    async def _receive_one(
        self, raw: bytes, stream_seq: int | None, from_held: bool = False
    ) -> tuple[Receipt, str | None]:
        now = self.clock()
        claimed = _claimed(raw)
        async with self.db.transaction() as conn:
            if from_held and claimed.sender:
                await conn.execute(
                    delete(held).where(held.c.sender == claimed.sender, held.c.seq == claimed.seq)
                )
            if claimed.event_id:
                duplicate = await self._duplicate(conn, claimed.event_id, stream_seq)
                if duplicate is not None:
                    if duplicate.outcome == Outcome.QUARANTINED:
                        await self._quarantine(conn, raw, stream_seq, duplicate.reason, "", now)
                    return duplicate, None
            position = await _position(conn, claimed.sender)
            try:
                envelope, agreement = self.verifier.authenticate(raw, now, position)
            except SequenceGap as gap:
                await insert_if_absent(
                    conn,
                    held,
                    {"sender": claimed.sender, "seq": gap.got, "envelope": raw, "received_at": now},
                )
                return Receipt(Outcome.HELD, gap=(gap.expected, gap.got - 1)), None
            except EnvelopeRejected as err:
                await self._quarantine(conn, raw, stream_seq, err.reason, err.detail, now)
                return Receipt(Outcome.QUARANTINED, err.reason), None
            await _advance(conn, envelope)
            await _record(conn, envelope, raw, stream_seq, now)
            try:
                verified = self.verifier.admit(envelope, agreement)
                async with conn.begin_nested():
                    await self.apply(conn, verified)
            except (EnvelopeRejected, NotApplicable) as err:
                reason = err.reason
                await conn.execute(
                    update(inbox)
                    .where(inbox.c.event_id == envelope.id)
                    .values(status="quarantined")
                )
                await self._quarantine(conn, raw, stream_seq, reason, str(err), now)
                return Receipt(Outcome.QUARANTINED, reason), envelope.source
            return Receipt(Outcome.APPLIED), envelope.source

    async def _duplicate(
        self, conn: AsyncConnection, event_id: str, stream_seq: int | None
    ) -> Receipt | None:
        row = (
            await conn.execute(select(inbox.c.stream_seq).where(inbox.c.event_id == event_id))
        ).one_or_none()
        if row is None:
            return None
        if stream_seq is not None and row.stream_seq is not None and row.stream_seq != stream_seq:
            return Receipt(Outcome.QUARANTINED, ReplayedEnvelope.reason)
        return Receipt(Outcome.DUPLICATE)

    async def _quarantine(
        self,
        conn: AsyncConnection,
        raw: bytes,
        stream_seq: int | None,
        reason: str | None,
        detail: str,
        now: datetime,
    ) -> None:
        claimed = _claimed(raw)
        await conn.execute(
            quarantine.insert().values(
                received_at=now,
                reason=reason or "rejected",
                detail=detail or f"event {claimed.event_id} was already applied",
                sender=claimed.sender,
                event_id=claimed.event_id,
                stream_seq=stream_seq,
                raw=raw,
                status="held",
            )
        )

    async def _next_held(self, sender: str) -> bytes | None:
        async with self.db.engine.connect() as conn:
            applied = (
                await conn.execute(
                    select(inbound_streams.c.applied_seq).where(inbound_streams.c.sender == sender)
                )
            ).scalar_one()
            found: bytes | None = (
                await conn.execute(
                    select(held.c.envelope).where(
                        held.c.sender == sender, held.c.seq == applied + 1
                    )
                )
            ).scalar_one_or_none()
        return found


@dataclass(frozen=True)
class _Claimed:
    """What an envelope claims before anything is verified: used to find rows, never trusted."""

    event_id: str | None = None
    sender: str | None = None
    seq: int | None = None


def _claimed(raw: bytes) -> _Claimed:
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        return _Claimed()
    if not isinstance(doc, dict):
        return _Claimed()

    def text(name: str, limit: int) -> str | None:
        value = doc.get(name)
        return value if isinstance(value, str) and len(value) <= limit else None

    seq = doc.get("seq")
    return _Claimed(text("id", 36), text("source", 64), seq if isinstance(seq, int) else None)


async def _position(conn: AsyncConnection, sender: str | None) -> StreamPosition:
    row = (
        await conn.execute(
            select(inbound_streams.c.applied_seq, inbound_streams.c.head)
            .where(inbound_streams.c.sender == sender)
            .with_for_update()
        )
    ).one_or_none()
    return StreamPosition(row.applied_seq, row.head) if row else StreamPosition()


async def _advance(conn: AsyncConnection, envelope: Envelope) -> None:
    """The envelope takes its place in the stream: seq and chain head move on."""
    # Receipts are not receipted in turn (that would ping-pong); the next real receipt covers them.
    counts = 0 if envelope.type == RECEIPT_TYPE else 1
    values = {"applied_seq": envelope.seq, "head": envelope.chain_hash()}
    created = await insert_if_absent(
        conn,
        inbound_streams,
        {"sender": envelope.source, "receipted_seq": 0, "unreceipted": counts} | values,
    )
    if not created:
        await conn.execute(
            update(inbound_streams)
            .where(inbound_streams.c.sender == envelope.source)
            .values(unreceipted=inbound_streams.c.unreceipted + counts, **values)
        )


async def _record(
    conn: AsyncConnection, envelope: Envelope, raw: bytes, stream_seq: int | None, now: datetime
) -> None:
    await conn.execute(
        inbox.insert().values(
            event_id=envelope.id,
            sender=envelope.source,
            seq=envelope.seq,
            type=envelope.type,
            subject=envelope.subject,
            correlation=envelope.correlation,
            chain_hash=envelope.chain_hash(),
            envelope=raw,
            stream_seq=stream_seq,
            status="applied",
            applied_at=now,
        )
    )
