"""Applying dispute events, on the node that sent them and on every node that receives them."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events.disputes import (
    DisputeClosedV1,
    DisputeEscalatedV1,
    DisputeRegradedV1,
    DisputeReportedV1,
    DisputeResolvedV1,
)
from contracts.events.mediation import MediationClosedV1
from services.bus.handlers import Handler
from services.bus.verification import VerifiedEvent
from services.disputes.model import (
    CLOSED,
    ESCALATED,
    REGRADED,
    REPORTED,
    RESOLVED,
    DisputeState,
    DuplicateDispute,
    check_step,
)
from services.disputes.records import get_dispute, held_here
from services.disputes.tables import dispute_timeline, disputes
from services.disputes.timeline import append_entry, entry_row, expect, record_step


async def _reported(conn: AsyncConnection, verified: VerifiedEvent) -> None:
    await hold_reported(conn, [verified])


async def hold_reported(conn: AsyncConnection, reported: Sequence[VerifiedEvent]) -> None:
    """Hold each reported dispute: its row and the first entry of its timeline (one statement
    for each, however many; a node reporting a batch applies it so, a partner one by one)."""
    events = [expect(verified, DisputeReportedV1) for verified in reported]
    held = await held_here(conn, [event.dispute_id for event in events])
    if held:
        raise DuplicateDispute(f"dispute {min(held)} is already held here")
    rows, entries = [], []
    for verified, event in zip(reported, events, strict=True):
        state = check_step(None, event, verified.envelope.source)
        rows.append(_dispute_row(verified, event, state))
        summary = (
            f"{event.category} dispute reported in {event.reported_in}: risk {event.risk}, "
            f"level {event.level}, {len(event.parties)} parties"
        )
        entries.append(entry_row(dispute_timeline, event.dispute_id, verified, summary))
    await conn.execute(disputes.insert(), rows)
    await conn.execute(dispute_timeline.insert(), entries)


def _dispute_row(
    verified: VerifiedEvent, event: DisputeReportedV1, state: DisputeState
) -> dict[str, Any]:
    envelope = verified.envelope
    return {
        "dispute_id": event.dispute_id,
        "originator": event.reported_in,
        "state": state.value,
        "category": event.category,
        "risk": event.risk,
        "level": event.level,
        "lead_source": event.source,
        "place": event.place,
        "parties": [p.model_dump(mode="json", exclude_none=True) for p in event.parties],
        "party_jurisdictions": sorted({p.home_jurisdiction for p in event.parties}),
        "holders": sorted({envelope.source, envelope.recipient}),
        "narrative": event.narrative,
        "occurred_on": event.occurred_on,
        "handling": envelope.handling.value,
        "correlation": envelope.correlation,
        "last_event_id": envelope.id,
        "reported_at": envelope.sent_at,
        "updated_at": envelope.sent_at,
    }


async def _step(
    conn: AsyncConnection,
    verified: VerifiedEvent,
    dispute_id: str,
    values: dict[str, Any],
    summary: str,
) -> None:
    dispute = await get_dispute(conn, dispute_id)
    state = check_step(dispute, verified.event, verified.envelope.source)
    await record_step(conn, disputes, dispute_id, verified, state, values)
    await append_entry(conn, dispute_timeline, dispute_id, verified, summary)


async def _regraded(conn: AsyncConnection, verified: VerifiedEvent) -> None:
    event = expect(verified, DisputeRegradedV1)
    summary = f"risk {event.previous_risk} -> {event.risk}: {event.reason}"
    await _step(conn, verified, event.dispute_id, {"risk": event.risk}, summary)


async def _escalated(conn: AsyncConnection, verified: VerifiedEvent) -> None:
    event = expect(verified, DisputeEscalatedV1)
    summary = f"ladder level {event.previous_level} -> {event.level}: {event.reason}"
    await _step(conn, verified, event.dispute_id, {"level": event.level}, summary)


async def _resolved(conn: AsyncConnection, verified: VerifiedEvent) -> None:
    event = expect(verified, DisputeResolvedV1)
    values = {
        "level": event.level,
        "outcome": event.outcome,
        "terms": list(event.terms),
        "compensation_fen": event.compensation_fen,
        "mediator": event.mediator.model_dump(mode="json", exclude_none=True)
        if event.mediator
        else None,
        "mediation_id": event.mediation_id,
        "resolved_on": event.resolved_on,
    }
    summary = (
        f"resolved at level {event.level}: {event.outcome}, "
        f"{len(event.terms)} terms, {event.compensation_fen} fen"
    )
    await _step(conn, verified, event.dispute_id, values, summary)


async def _closed(conn: AsyncConnection, verified: VerifiedEvent) -> None:
    event = expect(verified, DisputeClosedV1)
    values = {"closure": event.closure, "closed_on": event.closed_on}
    summary = f"closed as {event.closure} by {event.closed_by}"
    await _step(conn, verified, event.dispute_id, values, summary)


async def resolve_by_mediation(
    conn: AsyncConnection,
    verified: VerifiedEvent,
    terms: list[str],
    compensation_fen: int,
    mediator: dict[str, Any],
) -> None:
    """A linked mediation closed with a signed agreement: its dispute is resolved by it."""
    event = expect(verified, MediationClosedV1)
    dispute = await get_dispute(conn, event.dispute_id)
    values = {
        "level": dispute.level,
        "outcome": "mediated_agreement",
        "terms": terms,
        "compensation_fen": compensation_fen,
        "mediator": mediator,
        "mediation_id": event.mediation_id,
        "resolved_on": event.closed_on,
    }
    summary = (
        f"resolved by linked mediation {event.mediation_id}: "
        f"{len(terms)} terms, {compensation_fen} fen"
    )
    await _step(conn, verified, event.dispute_id, values, summary)


HANDLERS: dict[str, Handler] = {
    REPORTED: _reported,
    REGRADED: _regraded,
    ESCALATED: _escalated,
    RESOLVED: _resolved,
    CLOSED: _closed,
}
