"""Dispute commands: report a dispute to the partners it concerns, then take it through its life.

Each command is one unit of work: check the rule, send one envelope to every jurisdiction that
holds the dispute, and apply the first to this node's own state with the handler the partners
run. Only the jurisdiction the dispute was reported in acts on it (docs/flows.md).
"""

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field

from contracts.errors import NotPermittedByAgreement
from contracts.events.base import EventData
from contracts.events.common import (
    CaseId,
    Day,
    DisputeCategory,
    DisputeOutcome,
    Fen,
    LadderLevel,
    LeadSource,
    Person,
    RiskGrade,
    Text,
)
from contracts.events.disputes import (
    DisputeClosedV1,
    DisputeClosure,
    DisputeEscalatedV1,
    DisputeRegradedV1,
    DisputeReportedV1,
    DisputeResolvedV1,
)
from services.disputes.handlers import HANDLERS
from services.disputes.model import (
    REPORTED,
    Dispute,
    DuplicateDispute,
    NoPartnerConcerned,
    as_named,
    check_owner,
    check_regrade,
    check_step,
    next_level,
    partners_concerned,
)
from services.disputes.records import add_holders, find_dispute, get_dispute
from services.disputes.sending import Sent, check_may_send, send_all, thread
from services.node import Node


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReportDispute(_Command):
    dispute_id: CaseId
    category: DisputeCategory
    risk: RiskGrade
    level: LadderLevel = 1
    source: LeadSource
    place: str
    parties: list[Person] = Field(min_length=1)
    narrative: str
    occurred_on: Day


class RegradeDispute(_Command):
    dispute_id: CaseId
    risk: RiskGrade
    reason: Text
    regraded_on: Day | None = None


class EscalateDispute(_Command):
    dispute_id: CaseId
    reason: Text
    escalated_on: Day | None = None
    departments: list[Text] = []


class ResolveDispute(_Command):
    dispute_id: CaseId
    outcome: DisputeOutcome
    terms: list[Text] = []
    compensation_fen: Fen = 0
    mediator: Person | None = None
    resolved_on: Day | None = None


class CloseDispute(_Command):
    dispute_id: CaseId
    closure: DisputeClosure
    note: Text | None = None
    closed_on: Day | None = None


async def report_dispute(node: Node, cmd: ReportDispute) -> Sent:
    """Report a dispute to every partner jurisdiction a party belongs to, as agreements permit."""
    event = DisputeReportedV1.model_validate(
        cmd.model_dump(mode="json") | {"reported_in": node.jurisdiction}
    )
    async with node.unit_of_work() as conn:
        if await find_dispute(conn, cmd.dispute_id) is not None:
            raise DuplicateDispute(f"dispute {cmd.dispute_id} is already held here")
        check_step(None, event, node.jurisdiction)
        concerned = partners_concerned(node.jurisdiction, event.parties)
        recipients = [j for j in concerned if _permits(node, j, event)]
        if not recipients:
            raise NoPartnerConcerned(
                f"no party of dispute {cmd.dispute_id} belongs to a partner that an agreement "
                f"in force lets {node.jurisdiction} report to (parties from: "
                f"{', '.join(concerned) or 'only ' + node.jurisdiction})"
            )
        sent = await send_all(node, conn, event, cmd.dispute_id, recipients, None, None)
        await HANDLERS[REPORTED](conn, sent[0])
        await add_holders(conn, await get_dispute(conn, cmd.dispute_id), recipients)
    return Sent(cmd.dispute_id, sent[0].envelope.id, tuple(recipients))


async def regrade_dispute(node: Node, cmd: RegradeDispute) -> Sent:
    """Change the dispute's risk grade."""

    def build(dispute: Dispute) -> EventData:
        check_regrade(dispute.risk, cmd.risk)
        return DisputeRegradedV1(
            dispute_id=cmd.dispute_id,
            previous_risk=dispute.risk,
            risk=cmd.risk,
            reason=cmd.reason,
            regraded_on=cmd.regraded_on or _today(node),
        )

    return await _owner_step(node, cmd.dispute_id, "regrade", build)


async def escalate_dispute(node: Node, cmd: EscalateDispute) -> Sent:
    """Move the dispute one level up the mediation ladder."""

    def build(dispute: Dispute) -> EventData:
        return DisputeEscalatedV1(
            dispute_id=cmd.dispute_id,
            previous_level=dispute.level,
            level=next_level(dispute.level),
            reason=cmd.reason,
            escalated_on=cmd.escalated_on or _today(node),
            departments=cmd.departments,
        )

    return await _owner_step(node, cmd.dispute_id, "escalate", build)


async def resolve_dispute(node: Node, cmd: ResolveDispute) -> Sent:
    """Record how the dispute was resolved, at its current ladder level."""

    def build(dispute: Dispute) -> EventData:
        return DisputeResolvedV1(
            dispute_id=cmd.dispute_id,
            level=dispute.level,
            outcome=cmd.outcome,
            terms=cmd.terms,
            compensation_fen=cmd.compensation_fen,
            mediator=as_named(cmd.mediator) if cmd.mediator else None,
            resolved_on=cmd.resolved_on or _today(node),
        )

    return await _owner_step(node, cmd.dispute_id, "resolve", build)


async def close_dispute(node: Node, cmd: CloseDispute) -> Sent:
    """Close the dispute: as `resolved` once resolved, otherwise as withdrawn, duplicate, ..."""

    def build(dispute: Dispute) -> EventData:
        return DisputeClosedV1(
            dispute_id=cmd.dispute_id,
            closure=cmd.closure,
            closed_by=node.jurisdiction,
            closed_on=cmd.closed_on or _today(node),
            note=cmd.note,
        )

    return await _owner_step(node, cmd.dispute_id, "close", build)


async def _owner_step(
    node: Node, dispute_id: str, verb: str, build: Callable[[Dispute], EventData]
) -> Sent:
    async with node.unit_of_work() as conn:
        dispute = await get_dispute(conn, dispute_id)
        check_owner(dispute, node.jurisdiction, verb)
        event = build(dispute)
        check_step(dispute, event, node.jurisdiction)
        recipients = dispute.counterparts(node.jurisdiction)
        for recipient in recipients:
            check_may_send(node, dispute, recipient)
        sent = await send_all(node, conn, event, dispute_id, recipients, *thread(dispute))
        await HANDLERS[event.event_type](conn, sent[0])
    return Sent(dispute_id, sent[0].envelope.id, tuple(recipients))


def _permits(node: Node, recipient: str, event: EventData) -> bool:
    try:
        node.agreement_for(recipient, event)
    except NotPermittedByAgreement:
        return False
    return True


def _today(node: Node) -> str:
    return node.today()
