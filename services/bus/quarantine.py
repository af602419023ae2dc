"""The quarantine: what was received and not applied, with its reason and exact bytes.

Operators list it and re-drive an entry once its cause is gone (an agreement amendment, a new
contract version). Nothing here deletes: a re-driven entry is marked `redriven`.
"""

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.errors import EnvelopeRejected
from services.bus.inbox import Inbox, NotReadmissible, Outcome, Receipt
from services.bus.inbox_batch import Redriving, requarantine
from services.store.tables import quarantine


@dataclass(frozen=True)
class QuarantineEntry:
    id: int
    received_at: datetime
    reason: str
    detail: str
    sender: str | None
    event_id: str | None
    stream_seq: int | None
    status: str
    size: int


class UnknownQuarantineEntry(Exception):
    """No quarantine entry has that id."""


async def list_entries(
    conn: AsyncConnection, status: str | None = "held", limit: int = 100
) -> list[QuarantineEntry]:
    """Newest first; `status` None lists every entry."""
    query = select(quarantine).order_by(quarantine.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(quarantine.c.status == status)
    rows = await conn.execute(query)
    return [
        QuarantineEntry(
            r.id,
            r.received_at,
            r.reason,
            r.detail,
            r.sender,
            r.event_id,
            r.stream_seq,
            r.status,
            len(r.raw),
        )
        for r in rows
    ]


async def redrive(inbox: Inbox, entry_id: int) -> Receipt:
    """Try a held entry again with today's agreements and contracts; mark it `redriven` if it
    now applies (or waits in its stream for its predecessors)."""
    async with inbox.db.transaction() as conn:
        raw = (
            await conn.execute(
                select(quarantine.c.raw).where(
                    quarantine.c.id == entry_id, quarantine.c.status == "held"
                )
            )
        ).scalar_one_or_none()
    if raw is None:
        raise UnknownQuarantineEntry(f"no held quarantine entry {entry_id}")
    raw = bytes(raw)
    # Refused again, it stays this entry, with today's reason: not a second entry.
    inbox = replace(inbox, redriving=Redriving(entry_id, raw))
    try:
        receipt = await inbox.readmit(raw)
    except NotReadmissible:
        receipt = await inbox.receive(raw)
    except EnvelopeRejected as still:
        async with inbox.db.transaction() as conn:
            await requarantine(conn, entry_id, still.reason, still.detail)
        return Receipt(Outcome.QUARANTINED, still.reason)
    if receipt.outcome in (Outcome.APPLIED, Outcome.DUPLICATE, Outcome.HELD):
        async with inbox.db.transaction() as conn:
            await conn.execute(
                update(quarantine).where(quarantine.c.id == entry_id).values(status="redriven")
            )
    return receipt
