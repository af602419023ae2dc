"""Dispute cases exchanged between two bureaus (矛盾纠纷)."""

from enum import StrEnum
from typing import ClassVar

from pydantic import Field, model_validator

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
    occurred_on: Day


class DisputeRegradedV1(EventData):
    """The dispute's risk grade changed (it may escalate, or it calmed down)."""

    event_type: ClassVar[str] = "dispute.regraded"
    version: ClassVar[tuple[int, int]] = (1, 0)

    dispute_id: CaseId
    previous_risk: RiskGrade
    risk: RiskGrade
    reason: Text
    regraded_on: Day

    @model_validator(mode="after")
    def _changed(self) -> "DisputeRegradedV1":
        if self.risk == self.previous_risk:
            raise ValueError("a regrade changes the risk grade")
        return self


class DisputeEscalatedV1(EventData):
    """The dispute moved up the five-level mediation ladder."""

    event_type: ClassVar[str] = "dispute.escalated"
    version: ClassVar[tuple[int, int]] = (1, 0)

    dispute_id: CaseId
    previous_level: LadderLevel
    level: LadderLevel
    reason: Text
    escalated_on: Day
    departments: list[Text] = Field(
        default=[],
        max_length=20,
        description="departments sent work orders (level 5, 派单制)",
    )

    @model_validator(mode="after")
    def _upwards(self) -> "DisputeEscalatedV1":
        if self.level <= self.previous_level:
            raise ValueError("an escalation moves to a higher level")
        return self


class DisputeResolvedV1(EventData):
    """The dispute was resolved: at which level, how, on what terms, with what compensation."""

    event_type: ClassVar[str] = "dispute.resolved"
    version: ClassVar[tuple[int, int]] = (1, 0)

    dispute_id: CaseId
    level: LadderLevel
    outcome: DisputeOutcome
    terms: list[Text] = Field(default=[], max_length=50)
    compensation_fen: Fen = 0
    mediator: Person | None = None
    mediation_id: CaseId | None = Field(
        default=None, description="the linked mediation that resolved it, if any"
    )
    resolved_on: Day


class DisputeClosure(StrEnum):
    RESOLVED = "resolved"
    UNRESOLVED_TRANSFERRED = "unresolved_transferred"
    WITHDRAWN = "withdrawn"
    DUPLICATE = "duplicate"
    OUT_OF_SCOPE = "out_of_scope"


class DisputeClosedV1(EventData):
    """The case is closed on this side; nothing more will be reported about it."""

    event_type: ClassVar[str] = "dispute.closed"
    version: ClassVar[tuple[int, int]] = (1, 0)

    dispute_id: CaseId
    closure: DisputeClosure
    closed_by: JurisdictionRef
    closed_on: Day
    note: Text | None = None
