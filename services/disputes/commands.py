"""Dispute commands: report a dispute to the partners it concerns, then take it through its life.

Each command is one unit of work: check the rule, send one envelope to every jurisdiction that
holds the dispute, and apply the first to this node's own state with the handler the partners
run. Only the jurisdiction the dispute was reported in acts on it (docs/flows.md).
"""

from collections.abc import Callable, Sequence

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
from services.bus.outbox import Outgoing
from services.disputes.handlers import HANDLERS, hold_reported
from services.disputes.model import (
    Dispute,
    DisputeRefused,
    DuplicateDispute,
    NoPartnerConcerned,
    as_named,
    check_owner,
    check_regrade,
    check_step,
    next_level,
    partners_concerned,
)
from services.disputes.records import add_holders, get_dispute, held_here
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
    return (await report_disputes(node, [cmd]))[0]


async def report_disputes(node: Node, cmds: Sequence[ReportDispute]) -> list[Sent]:
    """Report many disputes at once (a day's entries from the grid platform), all or none.

    Each is checked as a single report is; the first refused refuses them all, naming its
    place in the batch. One unit of work: their envelopes to each partner are signed together
    where the agreement provides for batch signatures.
    """
    if not cmds:
        return []
    async with node.unit_of_work() as conn:
        held = await held_here(conn, {cmd.dispute_id for cmd in cmds})
        reports: list[tuple[DisputeReportedV1, list[str]]] = []
        seen: set[str] = set()
        permitted: dict[str, bool] = {}  # by partner: the agreements are asked once a batch
        for position, cmd in enumerate(cmds):
            try:
                if cmd.dispute_id in held:
                    raise DuplicateDispute(f"dispute {cmd.dispute_id} is already held here")
                if cmd.dispute_id in seen:
                    raise DuplicateDispute(f"dispute {cmd.dispute_id} is reported twice")
                seen.add(cmd.dispute_id)
                reports.append(_checked_report(node, cmd, permitted))
            except DisputeRefused as refused:
                if len(cmds) == 1:
                    raise
                raise type(refused)(f"report {position}: {refused}") from refused
        # The first recipient's envelope starts each dispute's thread; the others correlate to it.
        first = await node.send_many(
            conn, [Outgoing(event, to[0], event.dispute_id) for event, to in reports]
        )
        await node.send_many(
            conn,
            [
                Outgoing(event, recipient, event.dispute_id, opened.envelope.id)
                for (event, to), opened in zip(reports, first, strict=True)
                for recipient in to[1:]
            ],
        )
        await hold_reported(conn, first)  # the partners' REPORTED handler, for the lot
        for event, to in reports:
            if len(to) > 1:  # held now by this node and the first recipient
                await add_holders(conn, await get_dispute(conn, event.dispute_id), to)
    return [
        Sent(event.dispute_id, opened.envelope.id, tuple(to))
        for (event, to), opened in zip(reports, first, strict=True)
    ]


def _checked_report(
    node: Node, cmd: ReportDispute, permitted: dict[str, bool]
) -> tuple[DisputeReportedV1, list[str]]:
    """The event reporting `cmd` and the partners it goes to, or why it may not be reported.
    `permitted`: whether an agreement in force permits a report to a partner, as found so far
    (every report is the same event type and version)."""
    event = DisputeReportedV1.model_validate(
        cmd.model_dump(mode="json") | {"reported_in": node.jurisdiction}
    )
    check_step(None, event, node.jurisdiction)
    concerned = partners_concerned(node.jurisdiction, event.parties)
    for partner in concerned:
        if partner not in permitted:
            permitted[partner] = _permits(node, partner, event)
    recipients = [j for j in concerned if permitted[j]]
    if not recipients:
        raise NoPartnerConcerned(
            f"no party of dispute {cmd.dispute_id} belongs to a partner that an agreement "
            f"in force lets {node.jurisdiction} report to (parties from: "
            f"{', '.join(concerned) or 'only ' + node.jurisdiction})"
        )
    return event, recipients


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
