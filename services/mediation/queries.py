"""Reading linked mediations for the API: summaries, and one case with tasks, signatures, timeline.

Nothing is masked here (masking is the API's job); nothing here is logged.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events.common import FileDigest, Person
from contracts.events.mediation import MediationOutcome
from services.disputes.queries import utc
from services.disputes.timeline import TimelineEntry, read_timeline
from services.mediation.model import MediationState
from services.mediation.records import TASK_ORDER
from services.mediation.tables import (
    mediation_signatures,
    mediation_tasks,
    mediation_timeline,
    mediations,
)
from services.store.database import Database


@dataclass(frozen=True)
class MediationSummary:
    mediation_id: str
    dispute_id: str
    state: MediationState
    requested_by: str
    partner: str
    requested_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class TaskRecord:
    task_id: str
    assignee: str
    assigned_by: str
    description: str
    due_on: str | None
    findings: str | None
    attachments: list[FileDigest]
    reported_on: str | None


@dataclass(frozen=True)
class SignatureRecord:
    party_jurisdiction: str
    terms_digest: str
    signer: Person
    signer_role: str
    signed_at: str


@dataclass(frozen=True)
class MediationCase:
    """A linked mediation as this node holds it."""

    mediation_id: str
    dispute_id: str
    state: MediationState
    requested_by: str
    partner: str
    dispute_owner: str
    mediator: Person
    parties: list[Person]
    category: str
    risk: str
    summary: str
    requested_part: str
    reply_by: str | None
    officer: Person | None
    answer_note: str | None
    outcome: MediationOutcome | None
    terms_digest: str | None
    proposed_by: str | None
    closure: str | None
    closed_on: str | None
    close_note: str | None
    handling: str
    correlation: str
    requested_at: datetime
    updated_at: datetime
    tasks: list[TaskRecord]
    signatures: list[SignatureRecord]
    timeline: list[TimelineEntry]


async def list_mediations(
    db: Database, dispute_id: str | None = None, state: MediationState | None = None
) -> list[MediationSummary]:
    """Mediations this node is party to, newest first."""
    query = select(mediations).order_by(mediations.c.requested_at.desc(), mediations.c.mediation_id)
    if dispute_id is not None:
        query = query.where(mediations.c.dispute_id == dispute_id)
    if state is not None:
        query = query.where(mediations.c.state == state.value)
    async with db.snapshot() as conn:
        rows = (await conn.execute(query)).all()
    return [
        MediationSummary(
            mediation_id=row.mediation_id,
            dispute_id=row.dispute_id,
            state=MediationState(row.state),
            requested_by=row.requested_by,
            partner=row.partner,
            requested_at=utc(row.requested_at),
            updated_at=utc(row.updated_at),
        )
        for row in rows
    ]


async def get_mediation_case(db: Database, mediation_id: str) -> MediationCase | None:
    """The mediation with its tasks, signatures and timeline; None when not party to it."""
    async with db.snapshot() as conn:
        row = (
            await conn.execute(select(mediations).where(mediations.c.mediation_id == mediation_id))
        ).one_or_none()
        if row is None:
            return None
        tasks = await _tasks(conn, mediation_id)
        signatures = await _signatures(conn, mediation_id)
        timeline = await read_timeline(conn, mediation_timeline, mediation_id)
    values: dict[str, Any] = dict(row._mapping)
    del values["last_event_id"], values["proposal_id"]
    return MediationCase(
        **values
        | {
            "state": MediationState(row.state),
            "mediator": Person.model_validate(row.mediator),
            "parties": [Person.model_validate(p) for p in row.parties],
            "officer": Person.model_validate(row.officer) if row.officer else None,
            "outcome": MediationOutcome.model_validate(row.outcome) if row.outcome else None,
            "requested_at": utc(row.requested_at),
            "updated_at": utc(row.updated_at),
            "tasks": tasks,
            "signatures": signatures,
            "timeline": timeline,
        }
    )


async def _tasks(conn: AsyncConnection, mediation_id: str) -> list[TaskRecord]:
    rows = await conn.execute(
        select(mediation_tasks)
        .where(mediation_tasks.c.mediation_id == mediation_id)
        .order_by(*TASK_ORDER)
    )
    return [
        TaskRecord(
            task_id=t.task_id,
            assignee=t.assignee,
            assigned_by=t.assigned_by,
            description=t.description,
            due_on=t.due_on,
            findings=t.findings,
            attachments=[FileDigest.model_validate(a) for a in t.attachments or []],
            reported_on=t.reported_on,
        )
        for t in rows
    ]


async def _signatures(conn: AsyncConnection, mediation_id: str) -> list[SignatureRecord]:
    rows = await conn.execute(
        select(mediation_signatures)
        .where(mediation_signatures.c.mediation_id == mediation_id)
        .order_by(mediation_signatures.c.signed_at, mediation_signatures.c.party_jurisdiction)
    )
    return [
        SignatureRecord(
            party_jurisdiction=s.party_jurisdiction,
            terms_digest=s.terms_digest,
            signer=Person.model_validate(s.signer),
            signer_role=s.signer_role,
            signed_at=s.signed_at,
        )
        for s in rows
    ]
