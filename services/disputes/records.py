"""Reading and writing dispute rows inside a unit of work (commands and handlers share it)."""

from collections.abc import Collection

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events.disputes import DisputeReportedV1, DisputeResolvedV1
from services.disputes.model import Dispute, DisputeState, UnknownDispute
from services.disputes.tables import disputes

_FIND = select(disputes).where(disputes.c.dispute_id == bindparam("id")).with_for_update()
_HELD = select(disputes.c.dispute_id).where(
    disputes.c.dispute_id.in_(bindparam("ids", expanding=True))
)


async def find_dispute(conn: AsyncConnection, dispute_id: str) -> Dispute | None:
    """The dispute, its row locked until the transaction ends; None when unknown here."""
    row = (await conn.execute(_FIND, {"id": dispute_id})).one_or_none()
    if row is None:
        return None
    return Dispute(
        dispute_id=row.dispute_id,
        originator=row.originator,
        state=DisputeState(row.state),
        risk=row.risk,
        level=row.level,
        holders=frozenset(row.holders),
        handling=row.handling,
        correlation=row.correlation,
        last_event_id=row.last_event_id,
    )


async def held_here(conn: AsyncConnection, dispute_ids: Collection[str]) -> set[str]:
    """Those of `dispute_ids` this node holds (one query, however many)."""
    return set((await conn.execute(_HELD, {"ids": list(dispute_ids)})).scalars())


async def get_dispute(conn: AsyncConnection, dispute_id: str) -> Dispute:
    """The dispute, locked; UnknownDispute when this node does not hold it."""
    dispute = await find_dispute(conn, dispute_id)
    if dispute is None:
        raise UnknownDispute(f"dispute {dispute_id} is not known here")
    return dispute


async def add_holders(conn: AsyncConnection, dispute: Dispute, holders: list[str]) -> None:
    """More jurisdictions now hold the dispute (one event reached several partners)."""
    await conn.execute(
        update(disputes)
        .where(disputes.c.dispute_id == dispute.dispute_id)
        .values(holders=sorted(dispute.holders | set(holders)))
    )


async def reported_snapshot(conn: AsyncConnection, dispute_id: str) -> DisputeReportedV1:
    """The dispute as it stands, as a report: what a partner told of it later receives."""
    row = (await conn.execute(select(disputes).where(disputes.c.dispute_id == dispute_id))).one()
    return DisputeReportedV1(
        dispute_id=row.dispute_id,
        reported_in=row.originator,
        category=row.category,
        risk=row.risk,
        level=row.level,
        source=row.lead_source,
        place=row.place,
        parties=row.parties,
        narrative=row.narrative,
        occurred_on=row.occurred_on,
    )


async def resolution_snapshot(conn: AsyncConnection, dispute_id: str) -> DisputeResolvedV1:
    """The dispute's resolution as recorded here, as an event for holders who have not seen it."""
    row = (await conn.execute(select(disputes).where(disputes.c.dispute_id == dispute_id))).one()
    return DisputeResolvedV1(
        dispute_id=row.dispute_id,
        level=row.level,
        outcome=row.outcome,
        terms=row.terms,
        compensation_fen=row.compensation_fen,
        mediator=row.mediator,
        mediation_id=row.mediation_id,
        resolved_on=row.resolved_on,
    )
