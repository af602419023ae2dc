"""Request and response bodies of the semiannual report routes, and the export's file types."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from contracts.events.common import CaseId, Fen, JurisdictionRef
from contracts.events.reports import ReportFigures, ReportPeriod
from gateway.routes.text import RequestBody
from services.reports.export import ExportFormat
from services.reports.figures import TRAVEL_COST_PER_TRIP_FEN
from services.reports.model import ReportState
from services.reports.queries import ReportView

MEDIA_TYPES = {
    ExportFormat.JSON: "application/json",
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportFormat.PDF: "application/pdf",
}


class Proposal(RequestBody):
    """Propose this side's figures for a half year to the agreement's other party."""

    agreement_id: JurisdictionRef
    period: ReportPeriod
    report_id: CaseId | None = Field(default=None, description="default: a new id")
    cost_per_trip_fen: Fen = Field(
        default=TRAVEL_COST_PER_TRIP_FEN, description="what one avoided trip home is worth"
    )


class Cosigning(RequestBody):
    """Sign the proposed figures; the partner explains each difference its own count found."""

    explanations: dict[str, str] = Field(
        default={}, description="by figure path (as reconcile lists them): why it differs"
    )
    cost_per_trip_fen: Fen = TRAVEL_COST_PER_TRIP_FEN


class Reconciling(RequestBody):
    cost_per_trip_fen: Fen = TRAVEL_COST_PER_TRIP_FEN


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ReportStep(_Out):
    """A step taken: the report, the event carrying it (in the outbox), the digest signed."""

    report_id: str
    event_id: str
    figures_digest: str


class Difference(_Out):
    """One figure where this side's own count differs from the proposal."""

    figure: str
    proposed: int | float | str
    counted: int | float | str
    on_chain: bool = Field(description="a chain head: the sides hold different envelopes")


class Signature(_Out):
    signed_by: str
    figures_digest: str
    differences_acknowledged: list[dict[str, Any]]
    signed_at: str


class Report(_Out):
    """A report as this node holds it: both sides' figures once counted, its signatures."""

    report_id: str
    agreement_id: str
    period: str
    proposed_by: str
    partner: str
    state: ReportState
    final: bool = Field(description="both parties signed the same digest")
    figures_digest: str
    figures: dict[str, ReportFigures] = Field(description="by the side that counted them")
    signatures: list[Signature]


class ReportListed(_Out):
    """A report in the list: period, parties, state, who signed its digest."""

    report_id: str
    agreement_id: str
    period: str
    proposed_by: str
    partner: str
    state: ReportState
    signed_by: list[str] = Field(description="the parties whose signature is over its digest")
    final: bool = Field(description="both parties signed the same digest")
    updated_at: datetime


def present(view: ReportView) -> Report:
    """The report as the API shows it."""
    return Report.model_validate(view)
