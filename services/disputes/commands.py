"""Dispute commands: report a dispute to the partners it concerns, then take it through its life.

Each command is one unit of work: check the rule, send one envelope to every jurisdiction that
holds the dispute, and apply the first to this node's own state with the handler the partners
run. Only the jurisdiction the dispute was reported in acts on it (docs/flows.md).
"""

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.errors import NotPermittedByAgreement
from contracts.events.base import EventData
from contracts.events.common import (
    CaseId,
    Day,
    DisputeCategory,
    DisputeOutcome,
    Fen,
    JurisdictionRef,
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
from services.bus.verification import VerifiedEvent
from services.disputes.handlers import HANDLERS
from services.disputes.model import (
    REPORTED,
    Dispute,
    DisputeState,
    DuplicateDispute,
    IllegalDisputeTransition,
    NoPartnerConcerned,
    as_named,
    check_owner,
    check_regrade,
    check_step,
    next_level,
    partners_concerned,
)
from services.disputes.records import (
    add_holders,
    find_dispute,
    get_dispute,
    record_step,
    reported_snapshot,
)
from services.disputes.tables import dispute_timeline
from services.disputes.timeline import append_entry
from services.handling import check_onward
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


class ShareDispute(_Command):
    dispute_id: CaseId
    partner: JurisdictionRef


@dataclass(frozen=True)
class Sent:
    """What a command sent: the case, the envelope applied here, and who received the event."""

    case_id: str
    event_id: str
    recipients: tuple[str, ...]


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
        sent = await _send_all(node, conn, event, cmd.dispute_id, recipients, None, None)
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


async def share_dispute(node: Node, cmd: ShareDispute) -> Sent:
    """Report an open dispute to one more partner, as it stands now (owner only).

    The handling code is checked first: a node that received the dispute under H2 is told so,
    whatever else would also stop it.
    """
    async with node.unit_of_work() as conn:
        dispute = await get_dispute(conn, cmd.dispute_id)
        _check_onward(node, dispute, cmd.partner)
        check_owner(dispute, node.jurisdiction, "share")
        if cmd.partner in dispute.holders:
            raise DuplicateDispute(f"{cmd.partner} already holds dispute {cmd.dispute_id}")
        if dispute.state != DisputeState.REPORTED:
            raise IllegalDisputeTransition(f"a {dispute.state.value} dispute is not shared")
        event = await reported_snapshot(conn, cmd.dispute_id)
        [verified] = await _send_all(
            node, conn, event, cmd.dispute_id, [cmd.partner], *_thread(dispute)
        )
        await add_holders(conn, dispute, [cmd.partner])
        await record_step(conn, cmd.dispute_id, verified, dispute.state, {})
        summary = f"reported to {cmd.partner} as it stands"
        await append_entry(conn, dispute_timeline, cmd.dispute_id, verified, summary)
    return Sent(cmd.dispute_id, verified.envelope.id, (cmd.partner,))


async def forward_resolution(
    node: Node, conn: AsyncConnection, event: DisputeResolvedV1, besides: set[str]
) -> list[str]:
    """Tell the dispute's other holders (not `besides`) how it was resolved; the owner only.

    Used when a linked mediation resolved the dispute between two of its holders: the others
    learn it from this event. This node's own state was already resolved by the mediation.
    """
    dispute = await get_dispute(conn, event.dispute_id)
    if dispute.originator != node.jurisdiction:
        return []
    recipients = [j for j in dispute.counterparts(node.jurisdiction) if j not in besides]
    if recipients:
        await _send_all(node, conn, event, dispute.dispute_id, recipients, *_thread(dispute))
    return recipients


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
            _check_onward(node, dispute, recipient)
        sent = await _send_all(node, conn, event, dispute_id, recipients, *_thread(dispute))
        await HANDLERS[event.event_type](conn, sent[0])
    return Sent(dispute_id, sent[0].envelope.id, tuple(recipients))


async def _send_all(
    node: Node,
    conn: AsyncConnection,
    event: EventData,
    subject: str,
    recipients: list[str],
    correlation: str | None,
    causation: str | None,
) -> list[VerifiedEvent]:
    """One envelope per recipient (each stream has its own seq and chain), one case thread."""
    sent: list[VerifiedEvent] = []
    for recipient in recipients:
        thread = correlation or (sent[0].envelope.id if sent else None)
        sent.append(await node.send(conn, event, recipient, subject, thread, causation))
    return sent


def _thread(dispute: Dispute) -> tuple[str, str]:
    """Correlation (the dispute's first event) and causation (its latest) of the next event."""
    return dispute.correlation, dispute.last_event_id


def _check_onward(node: Node, dispute: Dispute, recipient: str) -> None:
    check_onward(
        node.jurisdiction,
        f"dispute {dispute.dispute_id}",
        dispute.originator,
        dispute.handling,
        dispute.holders,
        recipient,
    )


def _permits(node: Node, recipient: str, event: EventData) -> bool:
    try:
        node.agreement_for(recipient, event)
    except NotPermittedByAgreement:
        return False
    return True


def _today(node: Node) -> str:
    return node.clock().date().isoformat()
