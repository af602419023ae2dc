"""The semiannual report (半年报): both bureaus count from their own records, then cosign."""

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from contracts.events.base import EventData
from contracts.events.common import (
    CaseId,
    Count,
    Day,
    DisputeCategory,
    DisputeOutcome,
    Fen,
    JurisdictionRef,
    Part,
    Permyriad,
    ProxyStatus,
    RiskGrade,
    ServiceCode,
    Sha256Hex,
    Text,
    json_digest,
)

ReportPeriod = Annotated[
    str, Field(pattern=r"^[0-9]{4}-H[12]$", description="a half year: 2026-H1, 2026-H2")
]
LevelKey = Annotated[str, Field(pattern=r"^[1-5]$")]


class DisputeFigures(Part):
    """Disputes exchanged in the period; rates are rounded half up to a basis point."""

    reported: Count
    resolved: Count
    by_category: dict[DisputeCategory, Count]
    by_level: dict[LevelKey, Count] = Field(description="by the ladder level reached")
    by_risk: dict[RiskGrade, Count]
    by_outcome: dict[DisputeOutcome, Count] = Field(description="resolved ones")
    resolution_rate_bp: Permyriad = Field(description="resolved / reported")
    median_days_to_resolution: float | None = Field(default=None, ge=0, multiple_of=0.5)
    compensation_total_fen: Fen = Field(description="compensation agreed in disputes resolved")


class MediationFigures(Part):
    opened: Count
    closed: Count


class ProxyFigures(Part):
    """Household-registry proxy requests filed in the period, by service code and status."""

    by_service: dict[ServiceCode, dict[ProxyStatus, Count]]
    on_time_rate_bp: Permyriad = Field(description="completed within the time limit / completed")
    travel_cost_avoided_fen: Fen


class OpenItem(Part):
    """A case still open at the end of the period, carried over to the next report."""

    kind: Literal["dispute", "mediation", "proxy_request"]
    case_id: CaseId
    opened_on: Day
    note: Text | None = None


class StreamHead(Part):
    """Where one direction's hash chain stood at the end of the period."""

    sender: JurisdictionRef
    recipient: JurisdictionRef
    up_to_seq: Count
    chain_head: Sha256Hex


class ReportFigures(Part):
    """Every figure of the report; both parties sign its digest (`figures_digest`)."""

    disputes: DisputeFigures
    mediations: MediationFigures
    proxy_requests: ProxyFigures
    open_items: list[OpenItem] = Field(default=[], max_length=10_000)
    chain_heads: list[StreamHead] = Field(min_length=2, description="one per direction")


def figures_digest(figures: ReportFigures | Mapping[str, Any]) -> str:
    """The digest cosigners sign: json_digest of the `figures` object as it travels."""
    return json_digest(figures)


class ReportProposedV1(EventData):
    """One party's figures for the period, proposed for the review meeting."""

    event_type: ClassVar[str] = "report.proposed"
    version: ClassVar[tuple[int, int]] = (1, 0)

    report_id: CaseId
    agreement_id: JurisdictionRef
    period: ReportPeriod
    proposed_by: JurisdictionRef
    figures: ReportFigures


class AcknowledgedDifference(Part):
    """A figure on which the parties' counts differ, with the explanation both accept."""

    figure: str = Field(min_length=1, max_length=200, description="dotted path in the figures")
    proposed: int | float
    counted: int | float = Field(description="the signing party's own count")
    explanation: Text


class ReportCosignedV1(EventData):
    """A party signs the agreed figures of a proposed report."""

    event_type: ClassVar[str] = "report.cosigned"
    version: ClassVar[tuple[int, int]] = (1, 0)

    report_id: CaseId
    figures_digest: Sha256Hex
    signed_by: JurisdictionRef
    differences_acknowledged: list[AcknowledgedDifference] = Field(default=[], max_length=500)
