"""Report commands: propose this side's figures, reconcile a proposal, cosign."""

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events.common import CaseId, Fen, JurisdictionRef
from contracts.events.reports import (
    AcknowledgedDifference,
    ReportCosignedV1,
    ReportPeriod,
    ReportProposedV1,
    figures_digest,
)
from services.node import Node
from services.reports.counting import count_figures
from services.reports.figures import TRAVEL_COST_PER_TRIP_FEN
from services.reports.handlers import HANDLERS
from services.reports.model import COSIGNED, PROPOSED, NotReportParty, Report, SigningOutOfTurn
from services.reports.period import Period
from services.reports.reconcile import Difference, acknowledge, differences
from services.reports.records import figures_counted_by, get_report, keep_figures


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProposeReport(_Command):
    """Propose this side's figures for a half year to the agreement's other party."""

    agreement_id: JurisdictionRef
    period: ReportPeriod
    report_id: CaseId | None = Field(default=None, description="default: a new id")
    cost_per_trip_fen: Fen = TRAVEL_COST_PER_TRIP_FEN


class CosignReport(_Command):
    """Sign the proposed figures; each difference found here needs an explanation."""

    report_id: CaseId
    explanations: dict[str, str] = {}
    cost_per_trip_fen: Fen = TRAVEL_COST_PER_TRIP_FEN


@dataclass(frozen=True)
class Step:
    """A report step taken: the report, the event that carries it, the signed digest."""

    report_id: str
    event_id: str
    figures_digest: str


def report_partner(node: Node, agreement_id: str) -> str:
    """The other party of a bilateral agreement in force; NotReportParty otherwise."""
    loaded = node.book.in_force(agreement_id, node.clock().date())
    parties = [] if loaded is None else [p.id for p in loaded.agreement.parties]
    others = [p for p in parties if p != node.jurisdiction]
    if node.jurisdiction not in parties or len(others) != 1:
        raise NotReportParty(
            f"{node.jurisdiction} reports only under a bilateral agreement in force it is party "
            f"to; {agreement_id} has parties {parties or 'none in force'}"
        )
    return others[0]


async def propose_report(node: Node, cmd: ProposeReport) -> Step:
    """Count this side's figures and propose them to the partner."""
    partner = report_partner(node, cmd.agreement_id)
    period = Period.parse(cmd.period)
    report_id = cmd.report_id or f"RPT-{cmd.period}-{secrets.token_hex(4)}"
    async with node.unit_of_work(reads_much=True) as conn:
        figures = await count_figures(
            conn, node.jurisdiction, [partner], period, cmd.cost_per_trip_fen
        )
        event = ReportProposedV1(
            report_id=report_id,
            agreement_id=cmd.agreement_id,
            period=cmd.period,
            proposed_by=node.jurisdiction,
            figures=figures,
        )
        verified = await node.send(conn, event, partner, subject=report_id)
        await HANDLERS[PROPOSED](conn, verified)
    return Step(report_id, verified.envelope.id, figures_digest(figures))


async def _reconcile(
    conn: AsyncConnection, node: Node, report: Report, cost_per_trip_fen: int
) -> list[Difference]:
    proposed = await figures_counted_by(conn, report.report_id, report.proposed_by)
    if proposed is None:
        raise NotReportParty(f"report {report.report_id} has no proposed figures here")
    at = {(h.sender, h.recipient): h.up_to_seq for h in proposed.chain_heads}
    ours = await count_figures(
        conn,
        node.jurisdiction,
        [report.proposed_by],
        Period.parse(report.period),
        cost_per_trip_fen,
        at,
    )
    await keep_figures(conn, report.report_id, node.jurisdiction, ours, node.clock())
    return differences(proposed, ours)


async def reconcile_report(
    node: Node, report_id: str, cost_per_trip_fen: int = TRAVEL_COST_PER_TRIP_FEN
) -> list[Difference]:
    """Count our own figures for a proposal we received; every figure where they differ."""
    async with node.unit_of_work(reads_much=True) as conn:
        report = await get_report(conn, report_id)
        if node.jurisdiction != report.partner:
            raise NotReportParty(
                f"{node.jurisdiction} proposed report {report_id}: nothing to check"
            )
        return await _reconcile(conn, node, report, cost_per_trip_fen)


async def cosign_report(node: Node, cmd: CosignReport) -> Step:
    """Sign the proposed figures: the partner after reconciling, then the proposer."""
    async with node.unit_of_work(reads_much=True) as conn:  # the partner counts its own
        report = await get_report(conn, cmd.report_id)
        if report.signer_due() != node.jurisdiction:
            raise SigningOutOfTurn(
                f"report {cmd.report_id} is {report.state.value}: not {node.jurisdiction}'s turn"
            )
        acknowledged: Sequence[AcknowledgedDifference] = []
        if node.jurisdiction == report.partner:
            found = await _reconcile(conn, node, report, cmd.cost_per_trip_fen)
            acknowledged = acknowledge(found, cmd.explanations)
        event = ReportCosignedV1(
            report_id=report.report_id,
            figures_digest=report.figures_digest,
            signed_by=node.jurisdiction,
            differences_acknowledged=list(acknowledged),
        )
        other = report.proposed_by if node.jurisdiction == report.partner else report.partner
        verified = await node.send(
            conn,
            event,
            other,
            subject=report.report_id,
            correlation=report.correlation,
            causation=report.last_event_id,
        )
        await HANDLERS[COSIGNED](conn, verified)
    return Step(report.report_id, verified.envelope.id, report.figures_digest)
