"""Reading disputes for the API: a list of summaries, and one dispute with its timeline.

Nothing is masked here (masking is the API's job); nothing here is logged.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from contracts.events.common import Person
from services.disputes.model import DisputeState
from services.disputes.tables import dispute_timeline, disputes
from services.disputes.timeline import TimelineEntry, read_timeline
from services.store.database import Database


@dataclass(frozen=True)
class DisputeSummary:
    """One line of the dispute list: no parties, no narrative."""

    dispute_id: str
    originator: str
    state: DisputeState
    category: str
    risk: str
    level: int
    party_jurisdictions: list[str]
    reported_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class DisputeCase:
    """A dispute as this node holds it, with its timeline."""

    dispute_id: str
    originator: str
    state: DisputeState
    category: str
    risk: str
    level: int
    lead_source: str
    place: str
    parties: list[Person]
    party_jurisdictions: list[str]
    holders: list[str]
    narrative: str
    occurred_on: str
    handling: str
    correlation: str
    outcome: str | None
    terms: list[str] | None
    compensation_fen: int | None
    mediator: Person | None
    mediation_id: str | None
    resolved_on: str | None
    closure: str | None
    closed_on: str | None
    reported_at: datetime
    updated_at: datetime
    timeline: list[TimelineEntry]


async def list_disputes(
    db: Database, state: DisputeState | None = None, concerning: str | None = None
) -> list[DisputeSummary]:
    """Disputes held here, newest first; `concerning` keeps those with a party from there."""
    query = select(disputes).order_by(disputes.c.reported_at.desc(), disputes.c.dispute_id)
    if state is not None:
        query = query.where(disputes.c.state == state.value)
    async with db.snapshot() as conn:
        rows = (await conn.execute(query)).all()
    return [
        DisputeSummary(
            dispute_id=row.dispute_id,
            originator=row.originator,
            state=DisputeState(row.state),
            category=row.category,
            risk=row.risk,
            level=row.level,
            party_jurisdictions=list(row.party_jurisdictions),
            reported_at=utc(row.reported_at),
            updated_at=utc(row.updated_at),
        )
        for row in rows
        if concerning is None or concerning in row.party_jurisdictions
    ]


async def get_dispute_case(db: Database, dispute_id: str) -> DisputeCase | None:
    """The dispute with its timeline, or None when this node does not hold it."""
    async with db.snapshot() as conn:
        row = (
            await conn.execute(select(disputes).where(disputes.c.dispute_id == dispute_id))
        ).one_or_none()
        if row is None:
            return None
        timeline = await read_timeline(conn, dispute_timeline, dispute_id)
    values: dict[str, Any] = dict(row._mapping)
    del values["last_event_id"]
    return DisputeCase(
        **values
        | {
            "state": DisputeState(row.state),
            "parties": [Person.model_validate(p) for p in row.parties],
            "mediator": Person.model_validate(row.mediator) if row.mediator else None,
            "reported_at": utc(row.reported_at),
            "updated_at": utc(row.updated_at),
            "timeline": timeline,
        }
    )


def utc(moment: datetime) -> datetime:
    """SQLite hands back naive times (stored as UTC); PostgreSQL aware ones: make both aware."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
