"""The fields of a cooperation agreement and the rules that tie them together.

contracts.agreement re-exports everything here; import from there.
"""

import functools
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from contracts.canonical import b64decode
from contracts.keys import key_id
from contracts.merkle import MAX_BATCH

JurisdictionId = Annotated[str, Field(pattern=r"^[a-z0-9-]+$", max_length=64)]
EventType = Annotated[str, Field(pattern=r"^[a-z]+\.[a-z_]+$")]
FieldPattern = Annotated[str, Field(pattern=r"^[a-z_]+(\[\])?(\.[a-z_]+(\[\])?)*$")]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]


class HandlingCode(StrEnum):
    """Handling codes as police exchanges use them (after Europol's H0-H3)."""

    H0 = "H0"  # use for the purpose of the agreement only
    H1 = "H1"  # not for use in court proceedings without the sender's permission
    H2 = "H2"  # no onward dissemination to any third party
    H3 = "H3"  # other restrictions, stated in the event


class AgreementInconsistent(ValueError):
    """Fields that are each valid but contradict one another; `problems` lists every one."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _duplicates(values: list[str]) -> list[str]:
    return sorted({v for v in values if values.count(v) > 1})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Names(_Strict):
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class PublicKey(_Strict):
    kid: str = Field(min_length=1, max_length=200)
    use: Literal["sig", "enc"]
    public: str = Field(description="raw 32-byte public key, standard base64")
    valid_from: AwareDatetime
    valid_until: AwareDatetime
    revoked_at: AwareDatetime | None = None

    @field_validator("public")
    @classmethod
    def _raw_32_bytes(cls, value: str) -> str:
        try:
            raw = b64decode(value)
        except ValueError:
            raise ValueError("not standard base64") from None
        if len(raw) != 32:
            raise ValueError(f"a public key has 32 bytes, this one has {len(raw)}")
        return value

    @model_validator(mode="after")
    def _window(self) -> "PublicKey":
        if self.valid_until <= self.valid_from:
            raise ValueError(f"key {self.kid}: valid_until is not after valid_from")
        return self

    @property
    def raw(self) -> bytes:
        return _raw_key(self.public)


class Party(_Strict):
    id: JurisdictionId
    name: Names
    keys: list[PublicKey] = Field(min_length=2)

    @model_validator(mode="after")
    def _keys_are_its_own(self) -> "Party":
        # A kid is derived from the key (contracts.keys.key_id), so a pasted key cannot be
        # attributed to the wrong party or carry a stale id.
        problems = [
            f"key {k.kid} does not match its public key (expected {key_id(self.id, k.use, k.raw)})"
            for k in self.keys
            if k.kid != key_id(self.id, k.use, k.raw)
        ]
        uses = {k.use for k in self.keys}
        problems += [f"party {self.id} has no {u} key" for u in ("sig", "enc") if u not in uses]
        if problems:
            raise AgreementInconsistent(problems)
        return self


class CooperationItem(_Strict):
    id: Slug
    name: Names
    event_types: list[EventType] = Field(min_length=1)


class Category(_Strict):
    id: Slug
    name: Names
    items: list[CooperationItem] = Field(min_length=1)


class Flow(_Strict):
    type: EventType
    senders: list[JurisdictionId] = Field(min_length=1)
    recipients: list[JurisdictionId] = Field(min_length=1)
    versions: list[int] = Field(
        min_length=1, description="accepted major versions of the event's contract"
    )
    handling: HandlingCode = HandlingCode.H0

    def permits(self, sender: str, recipient: str, major: int) -> bool:
        return (
            sender != recipient
            and sender in self.senders
            and recipient in self.recipients
            and major in self.versions
        )


class BatchSigning(_Strict):
    """The parties accept envelopes signed in batches: one Ed25519 signature over the Merkle root
    of up to `max_envelopes` envelopes of one stream, each with its inclusion proof
    (docs/protocol.md section 6.1). Without it, every envelope carries its own signature."""

    max_envelopes: int = Field(ge=2, le=MAX_BATCH)


class PartySignature(_Strict):
    party: JurisdictionId
    kid: str
    signature: str


class Agreement(_Strict):
    id: JurisdictionId
    version: int = Field(ge=1)
    title: Names
    effective_from: date
    effective_until: date
    supersedes: int | None = Field(default=None, ge=1)
    reporting_period_months: int = Field(default=6, ge=1, le=12)
    retention_days: int = Field(ge=1)
    parties: list[Party] = Field(min_length=2)
    categories: list[Category]
    flows: list[Flow]
    personal_data: dict[EventType, list[FieldPattern]] = {}
    batch_signing: BatchSigning | None = None
    signatures: list[PartySignature] = []

    @model_validator(mode="after")
    def _consistent(self) -> "Agreement":
        problems = _agreement_problems(self)
        if problems:
            raise AgreementInconsistent(sorted(problems))
        return self

    @property
    def ref(self) -> str:
        """`id@version`, as envelopes name it."""
        return f"{self.id}@{self.version}"

    def party(self, jurisdiction: str) -> Party | None:
        return next((p for p in self.parties if p.id == jurisdiction), None)

    def key(self, kid: str) -> tuple[Party, PublicKey] | None:
        """The party owning key `kid`, and the key."""
        return next(((p, k) for p in self.parties for k in p.keys if k.kid == kid), None)

    def flow(self, event_type: str) -> Flow | None:
        return next((f for f in self.flows if f.type == event_type), None)

    def personal_fields(self, event_type: str) -> list[str]:
        return self.personal_data.get(event_type, [])

    def current_key(self, jurisdiction: str, use: str, at: datetime) -> PublicKey | None:
        """The newest key of `use` that the party may use at `at`."""
        usable = [
            k
            for k in self.parties_keys(jurisdiction)
            if k.use == use and key_state(k, at) == "valid"
        ]
        return max(usable, key=lambda k: k.valid_from, default=None)

    def parties_keys(self, jurisdiction: str) -> Iterator[PublicKey]:
        party = self.party(jurisdiction)
        yield from party.keys if party else ()


def _agreement_problems(a: Agreement) -> list[str]:
    ids = [p.id for p in a.parties]
    types = [f.type for f in a.flows]
    problems = [f"party {i} listed twice" for i in _duplicates(ids)]
    problems += [
        f"key {k} listed twice" for k in _duplicates([k.kid for p in a.parties for k in p.keys])
    ]
    problems += [f"flow {t} listed twice" for t in _duplicates(types)]
    for flow in a.flows:
        unknown = set(flow.senders + flow.recipients) - set(ids)
        problems += [f"flow {flow.type} names unknown party {u}" for u in sorted(unknown)]
    problems += [f"category {c} listed twice" for c in _duplicates([c.id for c in a.categories])]
    items = [item for c in a.categories for item in c.items]
    problems += [f"item {i} listed twice" for i in _duplicates([item.id for item in items])]
    problems += [
        f"item {item.id} maps to {t}, which has no flow"
        for item in items
        for t in item.event_types
        if t not in types
    ]
    problems += [
        f"personal_data names {t}, which has no flow" for t in a.personal_data if t not in types
    ]
    if a.effective_until < a.effective_from:
        problems.append("effective_until is before effective_from")
    if a.supersedes is not None and a.supersedes >= a.version:
        problems.append(f"version {a.version} cannot supersede version {a.supersedes}")
    return problems


KeyState = Literal["valid", "not_yet_valid", "expired", "revoked"]


@functools.lru_cache(maxsize=256)
def _raw_key(public: str) -> bytes:
    """A key's raw bytes; the keys of an agreement are few and read for every envelope."""
    return b64decode(public)


def key_state(key: PublicKey, at: datetime) -> KeyState:
    """Whether `key` may be used at time `at`."""
    if key.revoked_at is not None and at >= key.revoked_at:
        return "revoked"
    if at < key.valid_from:
        return "not_yet_valid"
    if at >= key.valid_until:
        return "expired"
    return "valid"


def start_of_day(day: date) -> datetime:
    """Midnight UTC at the start of `day`: the moment an agreement date is checked against keys."""
    return datetime.combine(day, time(), tzinfo=UTC)


def key_warnings(agreement: Agreement, on: date) -> list[str]:
    """What does not stop the agreement from being in force but stops a party from using it."""
    at = start_of_day(on)
    warnings = [
        f"{party.id} has no {use} key valid on {on.isoformat()}"
        for party in agreement.parties
        for use in ("sig", "enc")
        if agreement.current_key(party.id, use, at) is None
    ]
    end = start_of_day(agreement.effective_until)
    warnings += [
        f"key {k.kid} expires on {k.valid_until.date().isoformat()}, before the agreement ends"
        for p in agreement.parties
        for k in p.keys
        if k.revoked_at is None and k.valid_until <= end and key_state(k, at) != "expired"
    ]
    return warnings
