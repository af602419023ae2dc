"""Offline proof of what was exchanged: every stream's hash chain, re-checked from the store.

For each partner, the envelopes we sent (outbox) and those we took in (inbox) must form gap-free
chains: seq 1, 2, 3 ... and each `prev` the hash of the envelope before. Received envelopes'
signatures are checked again with the agreements' keys. Pure over rows; the CLI reads the store.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.agreement import AgreementBook
from contracts.canonical import b64decode
from contracts.keys import signature_valid
from services.bus.envelope import GENESIS, Envelope, parse_document
from services.store.tables import inbox, outbox


@dataclass
class StreamAudit:
    direction: str  # "sent" | "received"
    partner: str
    envelopes: int = 0
    head: str = GENESIS
    problems: list[str] = field(default_factory=list)


def audit_stream(
    direction: str, partner: str, rows: Iterable[bytes], book: AgreementBook | None = None
) -> StreamAudit:
    """Check one stream's envelopes, given in seq order."""
    audit = StreamAudit(direction, partner)
    for raw in rows:
        envelope = Envelope.from_document(parse_document(raw))
        audit.envelopes += 1
        where = f"seq {envelope.seq} ({envelope.id})"
        if envelope.seq != audit.envelopes:
            audit.problems.append(f"{where}: expected seq {audit.envelopes}")
        if envelope.prev != audit.head:
            audit.problems.append(f"{where}: prev does not match the hash of the envelope before")
        if book is not None and not _signed(envelope, book):
            audit.problems.append(f"{where}: signature does not verify with {envelope.kid}")
        audit.head = envelope.chain_hash()
    return audit


def _signed(envelope: Envelope, book: AgreementBook) -> bool:
    for version in book.versions(envelope.agreement_id).values():
        found = version.agreement.key(envelope.kid)
        if found is not None:
            try:
                message = envelope.signature_message()
                signature = b64decode(envelope.signature)
            except ValueError:  # a proof that leads nowhere, a signature that is not base64
                return False
            return signature_valid(found[1].raw, signature, message)
    return False


async def audit_store(conn: AsyncConnection, book: AgreementBook) -> list[StreamAudit]:
    """Every stream in the store, sent and received, checked end to end."""
    audits = []
    for direction, table, partner_column in (
        ("sent", outbox, outbox.c.recipient),
        ("received", inbox, inbox.c.sender),
    ):
        partners = (await conn.execute(select(partner_column).distinct())).scalars().all()
        for partner in sorted(partners):
            rows = await conn.stream_scalars(
                select(table.c.envelope).where(partner_column == partner).order_by(table.c.seq)
            )
            raws = [raw async for raw in rows]
            audits.append(
                audit_stream(direction, partner, raws, book if direction == "received" else None)
            )
    return audits
