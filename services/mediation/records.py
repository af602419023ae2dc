"""Reading and writing mediation rows inside a unit of work (commands and handlers share it)."""

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.mediation.model import Mediation, MediationState, Task, UnknownMediation
from services.mediation.tables import (
    mediation_proposals,
    mediation_signatures,
    mediation_tasks,
    mediations,
)

TASK_ORDER = (mediation_tasks.c.assigned_event.nulls_first(), mediation_tasks.c.position)
"""The tasks in the order they were assigned, the same on both sides (by the assigning event's
UUIDv7 id; the position each side gave it only for tasks assigned before migration 0012)."""


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
        select(
            mediation_tasks.c.task_id,
            mediation_tasks.c.assignee,
            mediation_tasks.c.findings,
            mediation_tasks.c.assigned_by,
        )
        .where(mediation_tasks.c.mediation_id == mediation_id)
        .order_by(*TASK_ORDER)
    )
    signatures = await conn.execute(
        select(
            mediation_signatures.c.party_jurisdiction, mediation_signatures.c.terms_digest
        ).where(mediation_signatures.c.mediation_id == mediation_id)
    )
    signed = {(s.party_jurisdiction, s.terms_digest) for s in signatures}
    proposals = await conn.execute(
        select(mediation_proposals.c.terms_digest).where(
            mediation_proposals.c.mediation_id == mediation_id
        )
    )
    current = row.terms_digest
    return Mediation(
        mediation_id=row.mediation_id,
        dispute_id=row.dispute_id,
        state=MediationState(row.state),
        requested_by=row.requested_by,
        partner=row.partner,
        dispute_owner=row.dispute_owner,
        tasks=tuple(
            Task(t.task_id, t.assignee, t.findings is not None, t.assigned_by) for t in tasks
        ),
        terms_digest=current,
        signed_by=frozenset(side for side, digest in signed if digest == current),
        proposal_id=row.proposal_id,
        other_proposals=frozenset(proposals.scalars()) - {current},
        other_signatures=frozenset((side, d) for side, d in signed if d != current),
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


async def settle_in_force(
    conn: AsyncConnection, mediation_id: str, closed_on: str | None = None
) -> None:
    """Put in force the proposal with the greatest event id (or, closing, the terms the owner
    closed on), named by the first proposal of its terms (its mediator and proposer): a
    function of the proposals held, so both sides settle on the same whatever the order."""
    held = (
        await conn.execute(
            select(mediation_proposals)
            .where(mediation_proposals.c.mediation_id == mediation_id)
            .order_by(mediation_proposals.c.event_id)
        )
    ).all()
    digest = closed_on or held[-1].terms_digest
    standing = [p for p in held if p.terms_digest == digest]
    first = standing[0]
    await conn.execute(
        update(mediations)
        .where(mediations.c.mediation_id == mediation_id)
        .values(
            outcome=first.outcome,
            terms_digest=digest,
            proposed_by=first.proposed_by,
            mediator=first.mediator,
            proposal_id=(standing if closed_on else held)[-1].event_id,
        )
    )


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
