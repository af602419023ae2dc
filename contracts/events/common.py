"""Vocabulary shared by the event contracts (DOMAIN.md)."""

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

JurisdictionRef = Annotated[str, Field(pattern=r"^[a-z0-9-]+$", max_length=64)]
CaseId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,79}$")]
Fen = Annotated[int, Field(ge=0, description="an amount of money in fen (1 yuan = 100 fen)")]
LadderLevel = Annotated[
    int,
    Field(
        ge=1,
        le=5,
        description="mediation ladder: 1 elders, 2 police assistant, 3 lawyer, "
        "4 public hearing, 5 multi-department joint session",
    ),
]
IdentityNumber = Annotated[
    str, Field(pattern=r"^\d{17}[\dX]$", description="18-character resident identity number")
]


class Part(BaseModel):
    """A nested part of an event: shares the contracts' tolerance of unknown fields."""

    model_config = ConfigDict(extra="ignore", frozen=True, use_enum_values=True)


class DisputeCategory(StrEnum):
    FAMILY_MARRIAGE = "family_marriage"
    NEIGHBOUR = "neighbour"
    DEBT = "debt"
    LAND = "land"
    WAGES_LABOUR = "wages_labour"
    ECONOMIC = "economic"
    PUBLIC_ORDER = "public_order"
    TRAFFIC = "traffic"
    OTHER = "other"


class RiskGrade(StrEnum):
    """Simple ones are handled on the spot; those that may escalate get police plus cadres;
    long-unresolved ones start a multi-department linkage."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class LeadSource(StrEnum):
    WALK_IN = "walk_in"
    EMERGENCY_110 = "emergency_110"
    HOTLINE_12345 = "hotline_12345"
    GRID_WORKER = "grid_worker"
    COURT = "court"
    POLICE_ASSISTANT = "police_assistant"


class Person(Part):
    """A party to a dispute or an applicant. id_number, phone and address are personal data."""

    name: str = Field(min_length=1, max_length=100)
    home_jurisdiction: JurisdictionRef
    id_number: IdentityNumber | None = None
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 -]{5,20}$")
    address: str | None = Field(default=None, max_length=300)
