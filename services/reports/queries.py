"""Reading reports for the API and the command line: the row, both sides' figures, signatures."""

from dataclasses import dataclass
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
