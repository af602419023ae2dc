"""Reading reports for the API and the command line: the row, both sides' figures, signatures."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events.reports import ReportFigures
from services.reports.model import ReportState
from services.reports.tables import report_figures, report_signatures, reports


@dataclass(frozen=True)
class Signature:
    signed_by: str
    figures_digest: str
    differences_acknowledged: list[dict[str, Any]]
    signed_at: str


@dataclass(frozen=True)
class ReportView:
    """A report as this node holds it; final once both signatures over its digest are in."""

    report_id: str
    agreement_id: str
    period: str
    proposed_by: str
    partner: str
    state: ReportState
    figures_digest: str
    figures: dict[str, ReportFigures]  # by the side that counted them
    signatures: list[Signature]

    @property
    def final(self) -> bool:
        """Both parties signed the same digest."""
        signers = {s.signed_by for s in self.signatures if s.figures_digest == self.figures_digest}
        return signers == {self.proposed_by, self.partner}


async def get_report_view(conn: AsyncConnection, report_id: str) -> ReportView | None:
    """The report with both sides' figures and its signatures; None when unknown here."""
    row = (
        await conn.execute(select(reports).where(reports.c.report_id == report_id))
    ).one_or_none()
    if row is None:
        return None
    counted = await conn.execute(
        select(report_figures.c.counted_by, report_figures.c.figures).where(
            report_figures.c.report_id == report_id
        )
    )
    signed = await conn.execute(
        select(report_signatures)
        .where(report_signatures.c.report_id == report_id)
        .order_by(report_signatures.c.signed_at, report_signatures.c.signed_by)
    )
    return ReportView(
        report_id=row.report_id,
        agreement_id=row.agreement_id,
        period=row.period,
        proposed_by=row.proposed_by,
        partner=row.partner,
        state=ReportState(row.state),
        figures_digest=row.figures_digest,
        figures={c.counted_by: ReportFigures.model_validate(c.figures) for c in counted},
        signatures=[
            Signature(s.signed_by, s.figures_digest, s.differences_acknowledged, s.signed_at)
            for s in signed
        ],
    )


@dataclass(frozen=True)
class ReportSummary:
    """A report in a list: its period, parties, state and who has signed its digest."""

    report_id: str
    agreement_id: str
    period: str
    proposed_by: str
    partner: str
    state: ReportState
    signed_by: list[str]
    updated_at: datetime

    @property
    def final(self) -> bool:
        """Both parties signed the proposed digest."""
        return set(self.signed_by) == {self.proposed_by, self.partner}


async def list_reports(
    conn: AsyncConnection, period: str | None, limit: int, offset: int
) -> list[ReportSummary]:
    """Reports held here (of `period`, when given), most recently changed first."""
    query = select(reports).order_by(reports.c.updated_at.desc(), reports.c.report_id)
    if period is not None:
        query = query.where(reports.c.period == period)
    rows = (await conn.execute(query.limit(limit).offset(offset))).all()
    signed: dict[str, list[str]] = {row.report_id: [] for row in rows}
    s = report_signatures.c
    found = await conn.execute(
        select(s.report_id, s.signed_by, s.figures_digest)
        .where(s.report_id.in_(list(signed)))
        .order_by(s.signed_at, s.signed_by)
    )
    digests = {row.report_id: row.figures_digest for row in rows}
    for sig in found:
        if sig.figures_digest == digests[sig.report_id]:
            signed[sig.report_id].append(sig.signed_by)
    return [
        ReportSummary(
            report_id=row.report_id,
            agreement_id=row.agreement_id,
            period=row.period,
            proposed_by=row.proposed_by,
            partner=row.partner,
            state=ReportState(row.state),
            signed_by=signed[row.report_id],
            updated_at=row.updated_at,
        )
        for row in rows
    ]
