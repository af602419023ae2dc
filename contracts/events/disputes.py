"""Dispute cases exchanged between two bureaus (矛盾纠纷)."""

from typing import ClassVar

from pydantic import Field

from contracts.events.base import EventData
from contracts.events.common import (
    CaseId,
    DisputeCategory,
    JurisdictionRef,
    LadderLevel,
    LeadSource,
    Person,
    RiskGrade,
)


class DisputeReportedV1(EventData):
    """A dispute reported in one jurisdiction that concerns residents of another."""

    event_type: ClassVar[str] = "dispute.reported"
    version: ClassVar[tuple[int, int]] = (1, 0)

    dispute_id: CaseId
    reported_in: JurisdictionRef
    category: DisputeCategory
    risk: RiskGrade
    level: LadderLevel = 1
    source: LeadSource
    place: str = Field(min_length=1, max_length=300)
    parties: list[Person] = Field(min_length=1, max_length=50)
    narrative: str = Field(min_length=1, max_length=10_000)
    occurred_on: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
