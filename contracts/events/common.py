"""Vocabulary shared by the event contracts (DOMAIN.md)."""

from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from operator import mul
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from contracts.canonical import canonical_bytes, sha256_hex

DAY_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
INSTANT_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$"


def _real_day(text: str) -> str:
    date.fromisoformat(text)  # the pattern admits 2026-13-45; the calendar does not
    return text


def _real_instant(text: str) -> str:
    datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    return text


JurisdictionRef = Annotated[str, Field(pattern=r"^[a-z0-9-]+$", max_length=64)]
CaseId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,79}$")]
Fen = Annotated[int, Field(ge=0, description="an amount of money in fen (1 yuan = 100 fen)")]
Count = Annotated[int, Field(ge=0)]
Permyriad = Annotated[
    int, Field(ge=0, le=10_000, description="a rate in basis points: 9910 is 99.10 %")
]
Day = Annotated[
    str,
    Field(
        pattern=DAY_PATTERN,
        description="a calendar day, YYYY-MM-DD",
        json_schema_extra={"format": "date"},
    ),
    AfterValidator(_real_day),
]
Instant = Annotated[
    str,
    Field(
        pattern=INSTANT_PATTERN,
        description="a UTC instant, YYYY-MM-DDTHH:MM:SS.mmmZ",
        json_schema_extra={"format": "date-time"},
    ),
    AfterValidator(_real_instant),
]
Sha256Hex = Annotated[
    str, Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256, 64 lower-case hex digits")
]
ServiceCode = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9_]{1,63}$",
        description="a service code of the registry service catalogue",
    ),
]
Text = Annotated[str, Field(min_length=1, max_length=2_000)]
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
    str,
    Field(pattern=r"^[0-9]{17}[0-9X]$", description="18-character resident identity number"),
]
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"  # the check character for each remainder 0..10 of the weighted sum
_ID_ZEROS = ord("0") * sum(_ID_WEIGHTS)  # the weighted sum of the digits' character codes, less


def check_character(body: str) -> str:
    """The check character (GB 11643: ISO 7064 MOD 11-2) of an identity number's first 17
    digits. The contract does not ask for it; the API checks it where numbers are typed in."""
    if len(body) != 17 or not body.isdigit() or not body.isascii():
        raise ValueError(f"{body!r} is not 17 digits")
    return _ID_CHECK[(sum(map(mul, body.encode(), _ID_WEIGHTS)) - _ID_ZEROS) % 11]


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


class DisputeOutcome(StrEnum):
    """How a dispute ended; the semiannual report counts disputes by outcome."""

    MEDIATED_AGREEMENT = "mediated_agreement"
    SETTLED_BY_PARTIES = "settled_by_parties"
    ADMINISTRATIVE_DECISION = "administrative_decision"
    REFERRED_TO_COURT = "referred_to_court"
    REFERRED_TO_DEPARTMENT = "referred_to_department"
    CRIMINAL_CASE = "criminal_case"
    WITHDRAWN = "withdrawn"


class ProxyStatus(StrEnum):
    """Where a household-registry proxy request stands."""

    REQUESTED = "requested"
    ACCEPTED = "accepted"
    MATERIALS_REQUESTED = "materials_requested"
    COMPLETED = "completed"
    REJECTED = "rejected"


class Person(Part):
    """A party to a dispute or an applicant. id_number, phone and address are personal data."""

    name: str = Field(min_length=1, max_length=100)
    home_jurisdiction: JurisdictionRef
    id_number: IdentityNumber | None = None
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 -]{5,20}$")
    address: str | None = Field(default=None, max_length=300)


PERSONAL_FIELDS: tuple[str, ...] = ("id_number", "phone", "address")
"""The fields of Person that are personal data and travel sealed to the recipient."""


class FileDigest(Part):
    """A file named and fingerprinted in an event; its bytes travel separately."""

    name: str = Field(min_length=1, max_length=200)
    sha256: Sha256Hex
    size_bytes: int = Field(ge=0, le=100 * 1024 * 1024)


def json_digest(value: BaseModel | Mapping[str, Any]) -> str:
    """SHA-256 hex of the RFC 8785 bytes of a JSON object as it travels (nulls omitted).

    Over received data, pass the JSON as received: a higher minor may carry extra fields.
    """
    document = (
        value.model_dump(mode="json", exclude_none=True)
        if isinstance(value, BaseModel)
        else dict(value)
    )
    return sha256_hex(canonical_bytes(document))
