"""The verifying inbox: every received envelope is verified, then applied once or quarantined.

A batch of envelopes is one transaction: the inbox rows, the stream positions and the domain
effects commit together, so a crash at any point either applied an event fully or not at all.
A redelivered event is recognised by its id and only acknowledged again. Each handler runs in a
savepoint: a handler that refuses its event leaves no effect, and the event is quarantined.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.errors import ChainBreak, EnvelopeRejected, ReplayedEnvelope, SequenceGap
from services.bus.handlers import Handler, NotApplicable, StoreRefused
from services.bus.inbox_batch import Batch, Claimed, Redriving, claimed, requarantine
from services.bus.verification import Checked, VerifiedEvent, Verifier
from services.bus.verification_pool import VerificationPool
from services.store.database import Database
from services.store.tables import held, inbox

# An envelope held for its predecessors, looked up after every batch and taken out once its
# turn comes (built once).
_HELD_ONE = (held.c.sender == bindparam("of"), held.c.seq == bindparam("seq"))
_HELD = select(held.c.envelope).where(*_HELD_ONE)
_UNHOLD = delete(held).where(*_HELD_ONE)

HELD_PER_TRANSACTION = 1000
"""Held envelopes settled at most in one transaction once their gap is filled; more go on in
transactions of their own."""

Clock = Callable[[], datetime]
Item = tuple[bytes, int | None]
"""An envelope's bytes and its sequence in this node's inbound stream (None if not from it)."""


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
    pool: VerificationPool | None = None
    held_per_transaction: int = HELD_PER_TRANSACTION
    redriving: Redriving | None = None

    async def receive(self, raw: bytes, stream_seq: int | None = None) -> Receipt:
        """Verify and apply (or quarantine, or hold) one envelope, then any held successors."""
        return (await self.receive_many([(raw, stream_seq)]))[0]

    async def receive_many(self, items: Sequence[Item]) -> list[Receipt]:
        """Settle a batch of envelopes in one transaction; one Receipt per item, in order."""
        return await self.settle(items, await self.check([raw for raw, _ in items]))

    async def check(self, raws: Sequence[bytes]) -> list[Checked]:
        """Every check of each envelope that does not depend on its stream position (in the
        verification workers, if any): a batch can be checked while the one before settles."""
        now = self.clock()
        if self.pool is None:
            return [self.verifier.check(raw, now) for raw in raws]
        return await self.pool.check_many(raws, now)

    async def settle(self, items: Sequence[Item], checks: list[Checked]) -> list[Receipt]:
        """Settle checked envelopes in one transaction: each takes its place in its stream
        and is applied, or is quarantined or held."""
        try:
            try:
                receipts, behind = await self._settle_all(items, checks, isolated=False)
            except _Refused:
                # A handler refused its event: settle the batch again, each handler in its own
                # savepoint, so that only the refused event's effects are left out.
                receipts, behind = await self._settle_all(items, checks, isolated=True)
        except IntegrityError:
            if len(items) > 1:
                # Someone else settled one of them meanwhile: settle them one at a time.
                return [
                    (await self.settle([item], [checked]))[0]
                    for item, checked in zip(items, checks, strict=True)
                ]
            return [Receipt(Outcome.DUPLICATE)]
        while behind:
            behind = await self._drain(behind)
        return receipts

    async def _settle_all(
        self, items: Sequence[Item], checks: list[Checked], isolated: bool
    ) -> tuple[list[Receipt], list[str]]:
        """The receipts, and the senders whose held envelopes were left for the next drain."""
        async with self.db.transaction() as conn:
            batch = Batch(conn, self.clock(), isolated, self.redriving)
            claims = [_claims(raw, c) for (raw, _), c in zip(items, checks, strict=True)]
            await batch.load_seen([who.event_id for who in claims])
            receipts = [
                await self._settle(batch, raw, seq, checked)
                for (raw, seq), checked in zip(items, checks, strict=True)
            ]
            behind = await self._drain_held(batch)
            await batch.flush()
        return receipts, behind

    async def _drain(self, senders: list[str]) -> list[str]:
        """Settle more held envelopes of `senders`, in a transaction of their own (each handler
        in a savepoint); the senders with more still behind. Another node settling the same
        stream meanwhile (a duplicate) leaves the rest to the next batch."""
        try:
            async with self.db.transaction() as conn:
                batch = Batch(conn, self.clock(), isolated=True)
                for sender in senders:
                    await batch.position(sender)
                behind = await self._drain_held(batch)
                await batch.flush()
        except IntegrityError:
            return []
        return behind

    async def _settle(
        self, batch: Batch, raw: bytes, stream_seq: int | None, checked: Checked
    ) -> Receipt:
        who = _claims(raw, checked)
        if who.event_id is not None and who.event_id in batch.seen:
            first = batch.seen[who.event_id]
            if stream_seq is None or first is None or first == stream_seq:
                return Receipt(Outcome.DUPLICATE)
            detail = f"event {who.event_id} was already received at stream seq {first}"
            await batch.quarantine(raw, stream_seq, ReplayedEnvelope.reason, detail)
            return Receipt(Outcome.QUARANTINED, ReplayedEnvelope.reason)
        try:
            envelope, agreement = self.verifier.place(checked, await batch.position(who.sender))
        except SequenceGap as gap:
            if await batch.hold(who.sender, gap.got, raw):
                return Receipt(Outcome.HELD, gap=(gap.expected, gap.got - 1))
            # Two authentic envelopes for one place in the stream: the sender forked its chain.
            detail = f"another envelope is already held at seq {gap.got} of this stream"
            await batch.quarantine(raw, stream_seq, ChainBreak.reason, detail)
            return Receipt(Outcome.QUARANTINED, ChainBreak.reason)
        except EnvelopeRejected as err:
            await batch.quarantine(raw, stream_seq, err.reason, err.detail)
            return Receipt(Outcome.QUARANTINED, err.reason)
        try:
            await self._apply(batch, self.verifier.admitted(checked, agreement))
        except (EnvelopeRejected, NotApplicable) as err:
            batch.record(envelope, raw, stream_seq, status="quarantined")
            await batch.quarantine(raw, stream_seq, err.reason, str(err))
            return Receipt(Outcome.QUARANTINED, err.reason)
        batch.record(envelope, raw, stream_seq, status="applied")
        return Receipt(Outcome.APPLIED)

    async def _apply(self, batch: Batch, verified: VerifiedEvent) -> None:
        """Apply in a savepoint when isolated; else a refusal abandons the whole batch."""
        if batch.isolated:
            await self._apply_alone(batch.conn, verified)
            return
        try:
            await self.apply(batch.conn, verified)
        except (EnvelopeRejected, NotApplicable) as refused:
            raise _Refused from refused
        except (DBAPIError, OverflowError) as failed:
            if not _refused_by_store(failed):
                raise
            raise _Refused from failed

    async def _apply_alone(self, conn: AsyncConnection, verified: VerifiedEvent) -> None:
        """Apply in a savepoint: a refusal, the handler's or the store's, leaves no effect."""
        try:
            async with conn.begin_nested():
                await self.apply(conn, verified)
        except (DBAPIError, OverflowError) as failed:
            if not _refused_by_store(failed):
                raise
            why = failed.orig if isinstance(failed, DBAPIError) else failed
            raise StoreRefused(f"the store refuses the event's effects: {why}") from failed

    async def _drain_held(self, batch: Batch) -> list[str]:
        """Settle held envelopes that the batch has made next in their streams, at most
        `held_per_transaction` of them (a long gap filled must not make one transaction of all
        that waited behind it); the senders with more possibly behind."""
        left = self.held_per_transaction
        behind = []
        for sender in list(batch.positions):
            while True:
                if left == 0:
                    behind.append(sender)
                    break
                position = await batch.position(sender)
                next_one = {"of": sender, "seq": position.seq + 1}
                raw = (await batch.conn.execute(_HELD, next_one)).scalar_one_or_none()
                if raw is None:
                    break
                await batch.conn.execute(_UNHOLD, next_one)
                await self._settle(batch, raw, None, self.verifier.check(raw, batch.now))
                left -= 1
        return behind

    async def readmit(self, raw: bytes) -> Receipt:
        """Apply again an authentic envelope that was quarantined after taking its stream place
        (not permitted, unknown contract, refused by its handler): after an amendment, say."""
        async with self.db.transaction() as conn:
            envelope, agreement = self.verifier.authenticate(raw, self.clock())
            row = (
                await conn.execute(select(inbox.c.status).where(inbox.c.event_id == envelope.id))
            ).one_or_none()
            if row is None or row.status != "quarantined":
                raise NotReadmissible(f"event {envelope.id} did not take its place in its stream")
            try:
                verified = self.verifier.admit(envelope, agreement)
                await self._apply_alone(conn, verified)
            except (EnvelopeRejected, NotApplicable) as err:
                if self.redriving is not None:
                    await requarantine(conn, self.redriving.entry_id, err.reason, str(err))
                return Receipt(Outcome.QUARANTINED, err.reason)
            await conn.execute(
                update(inbox).where(inbox.c.event_id == envelope.id).values(status="applied")
            )
        return Receipt(Outcome.APPLIED)


class _Refused(Exception):
    """A handler refused its event in a batch applied without a savepoint per event."""


def _refused_by_store(failure: DBAPIError | OverflowError) -> bool:
    """Whether the store refused the data a handler wrote (a key that clashes, SQLSTATE class
    22 on PostgreSQL, an integer beyond 64 bits on SQLite), which writing again would not
    change; a store down or busy is not a refusal: its batch is settled again."""
    if isinstance(failure, (IntegrityError, DataError, OverflowError)):
        return True
    return str(getattr(failure.orig, "sqlstate", "")).startswith("22")


def _claims(raw: bytes, checked: Checked) -> Claimed:
    """The id and sender to look rows up by: the authentic ones once checked, else as claimed."""
    if checked.envelope is not None:
        return Claimed(checked.envelope.id, checked.envelope.source)
    return claimed(raw)


class NotReadmissible(Exception):
    """Only envelopes that took their stream place can be re-admitted; others are received anew."""
