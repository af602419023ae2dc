"""Applying linked-mediation events, on the side that sends them and on the side receiving them."""

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events.mediation import (
    MediationAcceptedV1,
    MediationClosedV1,
    MediationClosure,
    MediationDeclinedV1,
    MediationFindingsReportedV1,
    MediationOutcomeProposedV1,
    MediationOutcomeSignedV1,
    MediationRequestedV1,
    MediationTaskAssignedV1,
)
from services.bus.handlers import Handler
from services.bus.verification import VerifiedEvent
from services.disputes.handlers import resolve_by_mediation
from services.disputes.records import get_dispute
from services.disputes.timeline import append_entry, expect, record_step
from services.mediation.model import (
    ACCEPTED,
    CLOSED,
    DECLINED,
    FINDINGS_REPORTED,
    OUTCOME_PROPOSED,
    OUTCOME_SIGNED,
    REQUESTED,
    TASK_ASSIGNED,
    DuplicateMediation,
    Mediation,
    MediationState,
    check_outcome_digest,
    check_request,
    check_step,
    next_state,
)
from services.mediation.records import find_mediation, get_mediation, outcome_of, settle_in_force
from services.mediation.tables import (
    mediation_proposals,
    mediation_signatures,
    mediation_tasks,
    mediation_timeline,
    mediations,
)


def _json(part: Any) -> Any:
    return part.model_dump(mode="json", exclude_none=True)


async def _requested(conn: AsyncConnection, verified: VerifiedEvent) -> None:
    event = expect(verified, MediationRequestedV1)
    envelope = verified.envelope
    if await find_mediation(conn, event.mediation_id) is not None:
        raise DuplicateMediation(f"mediation {event.mediation_id} is already held here")
    dispute = await get_dispute(conn, event.dispute_id)
    check_request(dispute, event, envelope.source, envelope.recipient)
    state = next_state(MediationState.NEW, REQUESTED)
    await conn.execute(
        mediations.insert().values(
            mediation_id=event.mediation_id,
            dispute_id=event.dispute_id,
            state=state.value,
            requested_by=envelope.source,
            partner=envelope.recipient,
            dispute_owner=dispute.originator,
            mediator=_json(event.mediator),
            parties=[_json(p) for p in event.parties],
            category=event.category,
            risk=event.risk,
            summary=event.summary,
            requested_part=event.requested_part,
            reply_by=event.reply_by,
            handling=envelope.handling.value,
            correlation=envelope.correlation,
            last_event_id=envelope.id,
            requested_at=envelope.sent_at,
            updated_at=envelope.sent_at,
        )
    )
    summary = (
        f"{envelope.source} asks {envelope.recipient} to work dispute {event.dispute_id} "
        f"jointly: {event.requested_part}"
    )
    await append_entry(conn, mediation_timeline, event.mediation_id, verified, summary)


async def _step(
    conn: AsyncConnection,
    verified: VerifiedEvent,
    mediation_id: str,
    values: dict[str, Any],
    summary: str,
) -> Mediation:
    """Check and record one step; the case as it was before the step is returned."""
    case = await get_mediation(conn, mediation_id)
    await _record(conn, verified, case, values, summary)
    return case


async def _record(
    conn: AsyncConnection,
    verified: VerifiedEvent,
    case: Mediation,
    values: dict[str, Any],
    summary: str,
) -> None:
    """Check and record one step on `case`, as read (and locked) in this transaction."""
    state = check_step(case, verified.event, verified.envelope.source)
    await record_step(conn, mediations, case.mediation_id, verified, state, values)
    await append_entry(conn, mediation_timeline, case.mediation_id, verified, summary)


async def _accepted(conn: AsyncConnection, verified: VerifiedEvent) -> None:
    event = expect(verified, MediationAcceptedV1)
    values = {"officer": _json(event.officer), "answer_note": event.note}
    await _step(conn, verified, event.mediation_id, values, f"accepted by {event.accepted_by}")


async def _declined(conn: AsyncConnection, verified: VerifiedEvent) -> None:
    event = expect(verified, MediationDeclinedV1)
    summary = f"declined by {event.declined_by}: {event.reason}"
    # A decline that crossed the requester's withdrawal replaces it there.
    values = {"answer_note": event.reason, "closure": None, "closed_on": None, "close_note": None}
    await _step(conn, verified, event.mediation_id, values, summary)


async def _task_assigned(conn: AsyncConnection, verified: VerifiedEvent) -> None:
    event = expect(verified, MediationTaskAssignedV1)
    summary = f"task {event.task_id} for {event.assignee_jurisdiction}: {event.description}"
    case = await _step(conn, verified, event.mediation_id, {}, summary)
    await conn.execute(
        mediation_tasks.insert().values(
            mediation_id=event.mediation_id,
            task_id=event.task_id,
            position=len(case.tasks) + 1,
            assignee=event.assignee_jurisdiction,
            assigned_by=verified.envelope.source,
            assigned_event=verified.envelope.id,
            description=event.description,
            due_on=event.due_on,
        )
    )


async def _findings_reported(conn: AsyncConnection, verified: VerifiedEvent) -> None:
    event = expect(verified, MediationFindingsReportedV1)
    summary = f"findings for task {event.task_id} from {event.reported_by}"
    await _step(conn, verified, event.mediation_id, {}, summary)
    await conn.execute(
        update(mediation_tasks)
        .where(
            mediation_tasks.c.mediation_id == event.mediation_id,
            mediation_tasks.c.task_id == event.task_id,
        )
        .values(
            findings=event.findings,
            attachments=[_json(a) for a in event.attachments],
            reported_on=event.reported_on,
        )
    )


async def _outcome_proposed(conn: AsyncConnection, verified: VerifiedEvent) -> None:
    event = expect(verified, MediationOutcomeProposedV1)
    # The digest is over the outcome as it travelled: a higher minor may carry more fields.
    outcome = verified.envelope.data["outcome"]
    check_outcome_digest(outcome, event.terms_digest)
    proposal = {
        "outcome": outcome,
        "terms_digest": event.terms_digest,
        "proposed_by": event.proposed_by,
        "mediator": _json(event.mediator),
    }
    summary = (
        f"outcome proposed by {event.proposed_by}: {len(event.outcome.terms)} terms, "
        f"digest {event.terms_digest[:12]}"
    )
    event_id = verified.envelope.id
    case = await get_mediation(conn, event.mediation_id)
    displaced = _displaced(case, event_id)
    summary += f" ({displaced})" if displaced else ""
    await _record(conn, verified, case, {}, summary)
    await conn.execute(
        mediation_proposals.insert().values(
            mediation_id=event.mediation_id, event_id=event_id, **proposal
        )
    )
    if case.closure != MediationClosure.AGREEMENT_SIGNED:  # terms closed on stay
        await settle_in_force(conn, event.mediation_id)


def _displaced(case: Mediation, proposal_id: str) -> str | None:
    """Why a proposal is kept but not put in force (None: it is put in force). Of two that
    crossed, the later id stands on both sides; none displaces terms the owner closed on."""
    if case.closure == MediationClosure.AGREEMENT_SIGNED:
        return "crossed the close on the terms agreed"
    if not case.in_force_after(proposal_id):
        return "crossed a proposal made later, which stands"
    return None


async def _outcome_signed(conn: AsyncConnection, verified: VerifiedEvent) -> None:
    event = expect(verified, MediationOutcomeSignedV1)
    summary = (
        f"signed for {event.party_jurisdiction} as {event.signer_role}, "
        f"digest {event.terms_digest[:12]}"
    )
    await _step(conn, verified, event.mediation_id, {}, summary)
    await conn.execute(
        mediation_signatures.insert().values(
            mediation_id=event.mediation_id,
            party_jurisdiction=event.party_jurisdiction,
            terms_digest=event.terms_digest,
            signer=_json(event.signer),
            signer_role=event.signer_role,
            signed_at=event.signed_at,
        )
    )


async def _closed(conn: AsyncConnection, verified: VerifiedEvent) -> None:
    event = expect(verified, MediationClosedV1)
    values = {"closure": event.closure, "closed_on": event.closed_on, "close_note": event.note}
    summary = f"closed as {event.closure} by {event.closed_by}"
    await _step(conn, verified, event.mediation_id, values, summary)
    if event.closure == MediationClosure.AGREEMENT_SIGNED:
        # The terms closed on, even where a proposal that crossed the close displaced them.
        await settle_in_force(conn, event.mediation_id, event.terms_digest)
        outcome, mediator = await outcome_of(conn, event.mediation_id)
        fen = sum(c["amount_fen"] for c in outcome.get("compensation", []))
        await resolve_by_mediation(conn, verified, list(outcome["terms"]), fen, mediator)


HANDLERS: dict[str, Handler] = {
    REQUESTED: _requested,
    ACCEPTED: _accepted,
    DECLINED: _declined,
    TASK_ASSIGNED: _task_assigned,
    FINDINGS_REPORTED: _findings_reported,
    OUTCOME_PROPOSED: _outcome_proposed,
    OUTCOME_SIGNED: _outcome_signed,
    CLOSED: _closed,
}
