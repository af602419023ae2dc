"""Reading one side's own store into the records the figures are counted from."""

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events.reports import ReportFigures, StreamHead
from services.bus.envelope import GENESIS
from services.mediation.tables import mediations
from services.registry.tables import registry_requests
from services.reports.dispute_counts import (
    disputes_open_at_end,
    shared_later,
    tally_held_disputes,
)
from services.reports.figures import (
    TRAVEL_COST_PER_TRIP_FEN,
    MediationRecord,
    OwnRecords,
    ProxyRecord,
    tallied_figures,
)
from services.reports.period import Period, cst_day
from services.store.tables import inbox, outbox

SeqAt = Mapping[tuple[str, str], int]
"""Where to read each stream's head, by (sender, recipient): the proposer's up_to_seq."""


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _between(me: str, partners: Collection[str], *sides: str) -> bool:
    return me in sides and any(p in sides for p in partners)


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
            # Declined is final: the step that declined it was its last.
            declined_on=cst_day(r.updated_at) if r.state == "declined" else None,
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
    conn: AsyncConnection, table: Table, stream: Any, end: datetime, at: int | None
) -> tuple[int, str]:
    """The stream's last seq and chain hash before the first envelope sent at or after `end`
    (or at seq `at`): two indexed lookups, on (stream, sent_at, seq) and (stream, seq)."""
    c = table.c
    if at is None:
        # Bound in UTC: SQLite compares the text it keeps, which is UTC.
        after = await conn.scalar(
            select(func.min(c.seq)).where(stream, c.sent_at >= end.astimezone(UTC))
        )
        bound = c.seq.is_not(None) if after is None else c.seq < after
    else:
        bound = c.seq <= at
    row = (
        await conn.execute(
            select(c.seq, c.chain_hash).where(stream, bound).order_by(c.seq.desc()).limit(1)
        )
    ).one_or_none()
    return (0, GENESIS) if row is None else (int(row.seq), str(row.chain_hash))


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


COUNTING_STEPS = ("disputes", "mediations", "proxy requests", "chain heads", "tally")


async def count_figures(
    conn: AsyncConnection,
    me: str,
    partners: Sequence[str],
    period: Period,
    cost_per_trip_fen: int = TRAVEL_COST_PER_TRIP_FEN,
    at: SeqAt | None = None,
    on_step: Callable[[str], None] | None = None,
) -> ReportFigures:
    """This node's figures for `period` with `partners`, from its own store only.

    `on_step` is told each of COUNTING_STEPS as it is done (a progress bar for long counts)."""
    done = on_step or (lambda _step: None)
    later = await shared_later(conn, partners)
    disputes = await disputes_open_at_end(conn, me, partners, period, later)
    done("disputes")
    mediations = await mediation_records(conn, me, partners)
    done("mediations")
    proxy_requests = await proxy_records(conn, me, partners)
    done("proxy requests")
    heads = await chain_heads(conn, me, partners, period.end, at)
    done("chain heads")
    records = OwnRecords(
        disputes=disputes, mediations=mediations, proxy_requests=proxy_requests, chain_heads=heads
    )
    tally = await tally_held_disputes(conn, me, partners, period, later)
    done("tally")
    return tallied_figures(tally, records, period, cost_per_trip_fen)
