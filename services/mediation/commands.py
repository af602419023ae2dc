"""Linked-mediation commands: request, answer, assign and report tasks, propose, sign, close.

Each command is one unit of work: check the rule, send the event to the other side, and apply
it to this node's own state with the handler the other side runs. People travel by name and
home jurisdiction only: the agreements seal personal data in dispute reports, not here.
"""

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events.base import EventData
from contracts.events.common import (
    CaseId,
    Day,
    FileDigest,
    Instant,
    JurisdictionRef,
    Person,
    Text,
)
from contracts.events.mediation import (
    MediationAcceptedV1,
    MediationClosedV1,
    MediationClosure,
    MediationDeclinedV1,
    MediationFindingsReportedV1,
    MediationOutcome,
    MediationOutcomeProposedV1,
    MediationOutcomeSignedV1,
    MediationRequestedV1,
    MediationTaskAssignedV1,
    SignerRole,
    outcome_digest,
)
from services.bus.envelope import format_time
from services.disputes.model import Dispute, as_named
from services.disputes.records import get_dispute, reported_snapshot, resolution_snapshot
from services.disputes.sending import Sent, check_may_send
from services.disputes.sharing import forward_resolution
from services.handling import check_onward
from services.mediation.handlers import HANDLERS
from services.mediation.model import (
    REQUESTED,
    DuplicateMediation,
    Mediation,
    NotPartyToCase,
    check_request,
    check_step,
)
from services.mediation.records import find_mediation, get_mediation
from services.node import Node


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RequestMediation(_Command):
    mediation_id: CaseId
    dispute_id: CaseId
    mediator: Person
    summary: str
    requested_part: Text
    partner: JurisdictionRef | None = Field(
        default=None, description="the side asked; by default the dispute's only other holder"
    )
    reply_by: Day | None = None


class AcceptMediation(_Command):
    mediation_id: CaseId
    officer: Person  # who answers for this side's part
    note: Text | None = None


class DeclineMediation(_Command):
    mediation_id: CaseId
    reason: Text


class AssignTask(_Command):
    mediation_id: CaseId
    task_id: CaseId
    assignee: JurisdictionRef
    description: Text
    due_on: Day | None = None


class ReportFindings(_Command):
    mediation_id: CaseId
    task_id: CaseId
    findings: str
    attachments: list[FileDigest] = []
    reported_on: Day | None = None


class ProposeOutcome(_Command):
    mediation_id: CaseId
    mediator: Person
    outcome: MediationOutcome


class SignOutcome(_Command):
    mediation_id: CaseId
    signer: Person
    signer_role: SignerRole
    terms_digest: str
    signed_at: Instant | None = None


class CloseMediation(_Command):
    mediation_id: CaseId
    closure: MediationClosure
    note: Text | None = None
    closed_on: Day | None = None


async def request_mediation(node: Node, cmd: RequestMediation) -> Sent:
    """Open a linked mediation on a dispute this node holds and ask the other side to join."""
    async with node.unit_of_work() as conn:
        if await find_mediation(conn, cmd.mediation_id) is not None:
            raise DuplicateMediation(f"mediation {cmd.mediation_id} is already held here")
        dispute = await get_dispute(conn, cmd.dispute_id)
        partner = cmd.partner or _only_counterpart(node, dispute)
        check_may_send(node, dispute, partner)
        reported = await reported_snapshot(conn, cmd.dispute_id)
        event = MediationRequestedV1(
            mediation_id=cmd.mediation_id,
            dispute_id=cmd.dispute_id,
            requested_by=node.jurisdiction,
            mediator=as_named(cmd.mediator),
            parties=[as_named(p) for p in reported.parties],
            category=reported.category,
            risk=reported.risk,
            summary=cmd.summary,
            requested_part=cmd.requested_part,
            reply_by=cmd.reply_by,
        )
        check_request(dispute, event, node.jurisdiction, partner)
        verified = await node.send(
            conn, event, partner, cmd.mediation_id, causation=dispute.last_event_id
        )
        await HANDLERS[REQUESTED](conn, verified)
    return Sent(cmd.mediation_id, verified.envelope.id, (partner,))


async def accept_mediation(node: Node, cmd: AcceptMediation) -> Sent:
    """Take this side's part in the mediation it was asked to join."""
    event = MediationAcceptedV1(
        mediation_id=cmd.mediation_id,
        accepted_by=node.jurisdiction,
        officer=as_named(cmd.officer),
        note=cmd.note,
    )
    return await _act(node, cmd.mediation_id, event)


async def decline_mediation(node: Node, cmd: DeclineMediation) -> Sent:
    """Decline to take part, and say why."""
    event = MediationDeclinedV1(
        mediation_id=cmd.mediation_id, declined_by=node.jurisdiction, reason=cmd.reason
    )
    return await _act(node, cmd.mediation_id, event)


async def assign_task(node: Node, cmd: AssignTask) -> Sent:
    """Give one side a part of the work, to be done in its own jurisdiction."""
    event = MediationTaskAssignedV1(
        mediation_id=cmd.mediation_id,
        task_id=cmd.task_id,
        assignee_jurisdiction=cmd.assignee,
        description=cmd.description,
        due_on=cmd.due_on,
    )
    return await _act(node, cmd.mediation_id, event)


async def report_findings(node: Node, cmd: ReportFindings) -> Sent:
    """Report what this side established for one of its tasks."""
    event = MediationFindingsReportedV1(
        mediation_id=cmd.mediation_id,
        task_id=cmd.task_id,
        reported_by=node.jurisdiction,
        findings=cmd.findings,
        attachments=cmd.attachments,
        reported_on=cmd.reported_on or node.today(),
    )
    return await _act(node, cmd.mediation_id, event)


async def propose_outcome(node: Node, cmd: ProposeOutcome) -> Sent:
    """The mediator's outcome; each side's signature will quote its `terms_digest`."""
    event = MediationOutcomeProposedV1(
        mediation_id=cmd.mediation_id,
        proposed_by=node.jurisdiction,
        mediator=as_named(cmd.mediator),
        outcome=cmd.outcome,
        terms_digest=outcome_digest(cmd.outcome),
    )
    return await _act(node, cmd.mediation_id, event)


async def sign_outcome(node: Node, cmd: SignOutcome) -> Sent:
    """This side signs the proposed outcome that `terms_digest` names."""
    event = MediationOutcomeSignedV1(
        mediation_id=cmd.mediation_id,
        party_jurisdiction=node.jurisdiction,
        signer=as_named(cmd.signer),
        signer_role=cmd.signer_role,
        terms_digest=cmd.terms_digest,
        signed_at=cmd.signed_at or format_time(node.clock()),
    )
    return await _act(node, cmd.mediation_id, event)


async def close_mediation(node: Node, cmd: CloseMediation) -> Sent:
    """Close the mediation; with a signed agreement, its dispute is resolved on both sides.

    The dispute's other holders, if any, are then told of the resolution by its owner.
    """
    async with node.unit_of_work() as conn:
        case = await get_mediation(conn, cmd.mediation_id)
        event = MediationClosedV1(
            mediation_id=cmd.mediation_id,
            dispute_id=case.dispute_id,
            closed_by=node.jurisdiction,
            closure=cmd.closure,
            terms_digest=case.terms_digest
            if cmd.closure == MediationClosure.AGREEMENT_SIGNED
            else None,
            closed_on=cmd.closed_on or node.today(),
            note=cmd.note,
        )
        sent = await _send_and_apply(node, conn, case, event)
        if cmd.closure == MediationClosure.AGREEMENT_SIGNED:
            resolved = await resolution_snapshot(conn, case.dispute_id)
            await forward_resolution(node, conn, resolved, set(case.sides))
    return sent


async def _act(node: Node, mediation_id: str, event: EventData) -> Sent:
    async with node.unit_of_work() as conn:
        case = await get_mediation(conn, mediation_id)
        return await _send_and_apply(node, conn, case, event)


async def _send_and_apply(
    node: Node, conn: AsyncConnection, case: Mediation, event: EventData
) -> Sent:
    check_step(case, event, node.jurisdiction, sending=True)
    other = case.other_side(node.jurisdiction)
    check_onward(
        node.jurisdiction,
        f"mediation {case.mediation_id}",
        case.requested_by,
        case.handling,
        case.sides,
        other,
    )
    # A proposal revises the one in force: its id sorts after it, whatever the clocks say.
    revises = case.proposal_id if isinstance(event, MediationOutcomeProposedV1) else None
    verified = await node.send(
        conn, event, other, case.mediation_id, case.correlation, case.last_event_id, after=revises
    )
    await HANDLERS[event.event_type](conn, verified)
    return Sent(case.mediation_id, verified.envelope.id, (other,))


def _only_counterpart(node: Node, dispute: Dispute) -> str:
    others = dispute.counterparts(node.jurisdiction)
    if len(others) != 1:
        raise NotPartyToCase(
            f"dispute {dispute.dispute_id} is held by {', '.join(others)}: name the partner"
        )
    return others[0]
