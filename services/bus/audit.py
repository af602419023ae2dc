"""Offline proof of what was exchanged: every stream's hash chain, re-checked from the store.

For each partner, the envelopes we sent (outbox) and those we took in (inbox) must form gap-free
chains: seq 1, 2, 3 ... and each `prev` the hash of the envelope before. Every envelope's
signature, sent or received, is checked again with its sender's keys in the agreements (the
last of a stream has no later `prev` to cover it); the envelopes of one batch signature share
it, and it is checked once. The store is read in chunks of `CHUNK` envelopes, each checked off
the event loop, so that a store of millions is audited in bounded memory and a
running node (the auditor's console page) goes on serving meanwhile.
"""

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.agreement import AgreementBook
from contracts.canonical import b64decode
from contracts.keys import signature_valid
from services.bus.envelope import GENESIS, Envelope, parse_document
from services.store.tables import inbound_streams, inbox, outbound_streams, outbox

CHUNK = 1000
"""Envelopes read from the store, and checked, at a time."""

Progress = Callable[[int, int], None]
"""Told (envelopes checked so far, envelopes in the store) after each chunk."""


@dataclass
class StreamAudit:
    direction: str  # "sent" | "received"
    partner: str
    envelopes: int = 0
    head: str = GENESIS
    problems: list[str] = field(default_factory=list)


class StreamCheck:
    """One stream's envelopes, checked as they come in seq order; `book` checks signatures."""

    def __init__(self, direction: str, partner: str, book: AgreementBook | None) -> None:
        self.audit = StreamAudit(direction, partner)
        self.book = book
        self._batch: tuple[tuple[str, str, bytes, bytes], bool] | None = None  # the last one's

    def add(self, rows: Iterable[bytes]) -> None:
        audit = self.audit
        for raw in rows:
            envelope = Envelope.from_document(parse_document(raw))
            audit.envelopes += 1
            where = f"seq {envelope.seq} ({envelope.id})"
            if envelope.seq != audit.envelopes:
                audit.problems.append(f"{where}: expected seq {audit.envelopes}")
            if envelope.prev != audit.head:
                audit.problems.append(
                    f"{where}: prev does not match the hash of the envelope before"
                )
            if self.book is not None and not self._signed(envelope, self.book):
                audit.problems.append(f"{where}: signature does not verify with {envelope.kid}")
            audit.head = envelope.chain_hash()

    def _signed(self, envelope: Envelope, book: AgreementBook) -> bool:
        try:
            message = envelope.signature_message()
            signature = b64decode(envelope.signature)
        except ValueError:  # a proof that leads nowhere, a signature that is not base64
            return False
        key = (envelope.kid, envelope.agreement_id, message, signature)
        if self._batch is not None and self._batch[0] == key:
            return self._batch[1]
        valid = _signature_valid(envelope, book, signature, message)
        if envelope.proof is not None:
            self._batch = (key, valid)  # a batch's envelopes come together
        return valid


def _signature_valid(
    envelope: Envelope, book: AgreementBook, signature: bytes, message: bytes
) -> bool:
    for version in book.versions(envelope.agreement_id).values():
        found = version.agreement.key(envelope.kid)
        if found is not None:  # a key of the sender's, as the verifier takes it
            return found[0].id == envelope.source and signature_valid(
                found[1].raw, signature, message
            )
    return False


def audit_stream(
    direction: str, partner: str, rows: Iterable[bytes], book: AgreementBook | None = None
) -> StreamAudit:
    """Check one stream's envelopes, given in seq order."""
    check = StreamCheck(direction, partner, book)
    check.add(rows)
    return check.audit


async def audit_store(
    conn: AsyncConnection,
    book: AgreementBook,
    on_progress: Progress | None = None,
    chunk: int = CHUNK,
) -> list[StreamAudit]:
    """Every stream in the store, sent and received, checked end to end, and against the
    stream's own record of its last seq and head (a log cut short ends before it)."""
    tables = (
        ("sent", outbox, outbox.c.recipient, outbound_streams, outbound_streams.c.last_seq),
        ("received", inbox, inbox.c.sender, inbound_streams, inbound_streams.c.applied_seq),
    )
    total = 0
    for _, table, *_ in tables:
        total += (await conn.execute(select(func.count()).select_from(table))).scalar_one()
    audits, done = [], 0
    for direction, table, partner_column, streams, last_seq in tables:
        partners = (await conn.execute(select(partner_column).distinct())).scalars().all()
        recorded = {
            row[0]: (int(row[1]), str(row[2]))
            for row in await conn.execute(select(streams.c[0], last_seq, streams.c.head))
        }
        for partner in sorted(set(partners) | set(recorded)):
            check = StreamCheck(direction, partner, book)
            rows = await conn.stream_scalars(
                select(table.c.envelope).where(partner_column == partner).order_by(table.c.seq)
            )
            async for part in rows.partitions(chunk):
                await asyncio.to_thread(check.add, part)
                done += len(part)
                if on_progress is not None:
                    on_progress(done, total)
            _check_record(check.audit, recorded.get(partner, (0, GENESIS)))
            audits.append(check.audit)
    return audits


def _check_record(audit: StreamAudit, recorded: tuple[int, str]) -> None:
    seq, head = recorded
    if (audit.envelopes, audit.head) != (seq, head):
        audit.problems.append(
            f"the stream is recorded up to seq {seq}, head {head[:16]}…; "
            f"its log ends at seq {audit.envelopes}, head {audit.head[:16]}…"
        )
