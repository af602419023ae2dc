"""Reading and writing mediation rows inside a unit of work (commands and handlers share it)."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.mediation.model import Mediation, MediationState, Task, UnknownMediation
from services.mediation.tables import mediation_signatures, mediation_tasks, mediations


async def find_mediation(conn: AsyncConnection, mediation_id: str) -> Mediation | None:
    """The mediation with its tasks and current signatures, its row locked; None if unknown."""
    row = (
        await conn.execute(
            select(mediations).where(mediations.c.mediation_id == mediation_id).with_for_update()
        )
    ).one_or_none()
    if row is None:
        return None
    tasks = await conn.execute(
        select(mediation_tasks.c.task_id, mediation_tasks.c.assignee, mediation_tasks.c.findings)
        .where(mediation_tasks.c.mediation_id == mediation_id)
        .order_by(mediation_tasks.c.position)
    )
    signed = await conn.execute(
        select(mediation_signatures.c.party_jurisdiction).where(
            mediation_signatures.c.mediation_id == mediation_id,
            mediation_signatures.c.terms_digest == row.terms_digest,
        )
    )
    return Mediation(
        mediation_id=row.mediation_id,
        dispute_id=row.dispute_id,
        state=MediationState(row.state),
        requested_by=row.requested_by,
        partner=row.partner,
        dispute_owner=row.dispute_owner,
        tasks=tuple(Task(t.task_id, t.assignee, t.findings is not None) for t in tasks),
        terms_digest=row.terms_digest,
        signed_by=frozenset(signed.scalars()),
        handling=row.handling,
        correlation=row.correlation,
        last_event_id=row.last_event_id,
        accepted=row.officer is not None,
        closure=row.closure,
    )


async def get_mediation(conn: AsyncConnection, mediation_id: str) -> Mediation:
    """The mediation, locked; UnknownMediation when this node is not party to it."""
    case = await find_mediation(conn, mediation_id)
    if case is None:
        raise UnknownMediation(f"mediation {mediation_id} is not known here")
    return case


async def outcome_of(conn: AsyncConnection, mediation_id: str) -> tuple[dict[str, Any], Any]:
    """The proposed outcome and the mediator, as stored."""
    row = (
        await conn.execute(
            select(mediations.c.outcome, mediations.c.mediator).where(
                mediations.c.mediation_id == mediation_id
            )
        )
    ).one()
    return row.outcome, row.mediator
