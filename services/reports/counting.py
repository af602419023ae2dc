"""Reading one side's own store into the records the figures are counted from."""

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.canonical import sha256_hex
from contracts.events.reports import ReportFigures, StreamHead
from services.bus.envelope import Envelope, parse_document
from services.disputes.tables import disputes
from services.mediation.tables import mediations
from services.registry.tables import registry_requests
from services.reports.figures import (
    TRAVEL_COST_PER_TRIP_FEN,
    DisputeRecord,
    MediationRecord,
    OwnRecords,
    ProxyRecord,
    report_figures,
)
from services.reports.period import Period, cst_day
from services.store.tables import inbox, outbox

SeqAt = Mapping[tuple[str, str], int]
"""Where to read each stream's head, by (sender, recipient): the proposer's up_to_seq."""


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _between(me: str, partners: Collection[str], *sides: str) -> bool:
    return me in sides and any(p in sides for p in partners)


async def dispute_records(
    conn: AsyncConnection, me: str, partners: Collection[str]
) -> list[DisputeRecord]:
    """Disputes this node holds together with one of `partners`."""
    rows = (await conn.execute(select(disputes))).all()
    return [
        DisputeRecord(
            dispute_id=r.dispute_id,
            category=r.category,
            risk=r.risk,
            level=r.level,
            reported_on=cst_day(r.reported_at),
            outcome=r.outcome,
            resolved_on=_day(r.resolved_on),
            compensation_fen=r.compensation_fen,
            closed_on=_day(r.closed_on),
        )
        for r in rows
        if me in r.holders and set(r.holders) & set(partners)
    ]


async def mediation_records(
    conn: AsyncConnection, me: str, partners: Collection[str]
) -> list[MediationRecord]:
    """Linked mediations between this node and one of `partners`."""
    rows = (await conn.execute(select(mediations))).all()
    return [
        MediationRecord(
            mediation_id=r.mediation_id,
            requested_on=cst_day(r.requested_at),
            closed_on=_day(r.closed_on),
            declined=r.state == "declined",
        )
        for r in rows
        if _between(me, partners, r.requested_by, r.partner)
    ]


async def proxy_records(
    conn: AsyncConnection, me: str, partners: Collection[str]
) -> list[ProxyRecord]:
    """Proxy requests between this node and one of `partners`."""
    rows = (await conn.execute(select(registry_requests))).all()
    return [
        ProxyRecord(
            request_id=r.request_id,
            service_code=r.service_code,
            status=r.state,
            filed_on=r.filed_on,
            due_on=r.due_on,
            completed_on=r.completed_on,
            rejected_on=r.rejected_on,
        )
        for r in rows
        if _between(me, partners, r.originator, r.home)
    ]


async def _head(
    conn: AsyncConnection, table: Table, where: Any, end: datetime, at: int | None
) -> tuple[int, str]:
    rows = await conn.stream(
        select(table.c.seq, table.c.envelope).where(where).order_by(table.c.seq)
    )
    seq, head = 0, "0" * 64
    async for row in rows:
        sent = Envelope.from_document(parse_document(row.envelope)).sent_at
        if (at is None and sent >= end) or (at is not None and row.seq > at):
            break
        seq, head = row.seq, sha256_hex(row.envelope)
    return seq, head


async def chain_heads(
    conn: AsyncConnection, me: str, partners: Sequence[str], end: datetime, at: SeqAt | None = None
) -> list[StreamHead]:
    """Both directions' chain heads with each partner: at the period's end, or at `at`'s seqs."""
    heads = []
    for partner in partners:
        for sender, recipient, table, where in (
            (me, partner, outbox, outbox.c.recipient == partner),
            (partner, me, inbox, inbox.c.sender == partner),
        ):
            seq_at = None if at is None else at.get((sender, recipient), 0)
            seq, head = await _head(conn, table, where, end, seq_at)
            heads.append(
                StreamHead(sender=sender, recipient=recipient, up_to_seq=seq, chain_head=head)
            )
    return heads


async def count_figures(
    conn: AsyncConnection,
    me: str,
    partners: Sequence[str],
    period: Period,
    cost_per_trip_fen: int = TRAVEL_COST_PER_TRIP_FEN,
    at: SeqAt | None = None,
) -> ReportFigures:
    """This node's figures for `period` with `partners`, from its own store only."""
    records = OwnRecords(
        disputes=await dispute_records(conn, me, partners),
        mediations=await mediation_records(conn, me, partners),
        proxy_requests=await proxy_records(conn, me, partners),
        chain_heads=await chain_heads(conn, me, partners, period.end, at),
    )
    return report_figures(records, period, cost_per_trip_fen)
