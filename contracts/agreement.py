"""The cooperation agreement: parties and their keys, cooperation items, permitted flows.

An agreement file is YAML read with the YAML 1.2 core schema (dates stay strings). Its canonical
form is the RFC 8785 bytes of the whole document except `signatures`; every party signs those
bytes, and the agreement is in force only when every party's signature verifies.
"""

from collections.abc import Iterator
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from contracts.canonical import b64decode, canonical_bytes
from contracts.keys import signature_valid

JurisdictionId = Annotated[str, Field(pattern=r"^[a-z0-9-]+$", max_length=64)]
EventType = Annotated[str, Field(pattern=r"^[a-z]+\.[a-z_]+$")]


class HandlingCode(StrEnum):
    """Handling codes as police exchanges use them (after Europol's H0-H3)."""

    H0 = "H0"  # use for the purpose of the agreement only
    H1 = "H1"  # not for use in court proceedings without the sender's permission
    H2 = "H2"  # no onward dissemination to any third party
    H3 = "H3"  # other restrictions, stated in the event


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Names(_Strict):
    zh: str
    en: str


class PublicKey(_Strict):
    kid: str
    use: Literal["sig", "enc"]
    public: str = Field(description="raw 32-byte public key, standard base64")
    valid_from: datetime
    valid_until: datetime
    revoked_at: datetime | None = None

    @property
    def raw(self) -> bytes:
        return b64decode(self.public)


class Party(_Strict):
    id: JurisdictionId
    name: Names
    keys: list[PublicKey]


class CooperationItem(_Strict):
    id: str
    name: Names
    event_types: list[EventType]


class Category(_Strict):
    id: str
    name: Names
    items: list[CooperationItem]


class Flow(_Strict):
    type: EventType
    senders: list[JurisdictionId]
    recipients: list[JurisdictionId]
    versions: list[int] = Field(description="accepted major versions of the event's contract")
    handling: HandlingCode = HandlingCode.H0

    def permits(self, sender: str, recipient: str, major: int) -> bool:
        return (
            sender != recipient
            and sender in self.senders
            and recipient in self.recipients
            and major in self.versions
        )


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
    supersedes: int | None = None
    reporting_period_months: int = 6
    retention_days: int = Field(ge=1)
    parties: list[Party] = Field(min_length=2)
    categories: list[Category]
    flows: list[Flow]
    personal_data: dict[EventType, list[str]] = {}
    signatures: list[PartySignature] = []

    @model_validator(mode="after")
    def _consistent(self) -> "Agreement":
        ids = [p.id for p in self.parties]
        problems = [f"party {i} listed twice" for i in set(ids) if ids.count(i) > 1]
        for flow in self.flows:
            unknown = set(flow.senders + flow.recipients) - set(ids)
            problems += [f"flow {flow.type} names unknown party {u}" for u in sorted(unknown)]
        types = [f.type for f in self.flows]
        problems += [f"flow {t} listed twice" for t in set(types) if types.count(t) > 1]
        for category in self.categories:
            for item in category.items:
                problems += [
                    f"item {item.id} maps to {t}, which has no flow"
                    for t in item.event_types
                    if t not in types
                ]
        if problems:
            raise ValueError("; ".join(sorted(problems)))
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


KeyState = Literal["valid", "not_yet_valid", "expired", "revoked"]


def key_state(key: PublicKey, at: datetime) -> KeyState:
    """Whether `key` may be used at time `at`."""
    if key.revoked_at is not None and at >= key.revoked_at:
        return "revoked"
    if at < key.valid_from:
        return "not_yet_valid"
    if at >= key.valid_until:
        return "expired"
    return "valid"


class AgreementFileError(ValueError):
    """An agreement file that cannot be read or does not describe a valid agreement."""


class _CoreSchemaLoader(yaml.SafeLoader):
    """SafeLoader without the YAML 1.1 timestamp rule: `2026-01-01` stays a string."""


_CoreSchemaLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_document(text: str) -> dict[str, Any]:
    """The agreement document as plain JSON values."""
    try:
        doc = yaml.load(text, Loader=_CoreSchemaLoader)
    except yaml.YAMLError as exc:
        raise AgreementFileError(f"not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise AgreementFileError("an agreement file must hold a mapping at its top level")
    return doc


def signing_bytes(document: dict[str, Any]) -> bytes:
    """The bytes each party signs: RFC 8785 of the document without `signatures`."""
    return canonical_bytes({k: v for k, v in document.items() if k != "signatures"})


class LoadedAgreement(BaseModel):
    """An agreement with the document it was read from (the signed bytes come from the document)."""

    model_config = ConfigDict(frozen=True)

    agreement: Agreement
    document: dict[str, Any]
    path: Path | None = None

    def signing_bytes(self) -> bytes:
        return signing_bytes(self.document)

    def signature_problems(self) -> list[str]:
        """Every reason the agreement is not signed by all its parties; empty when it is."""
        message = self.signing_bytes()
        agreement = self.agreement
        problems: list[str] = []
        good: set[str] = set()
        for sig in agreement.signatures:
            found = agreement.key(sig.kid)
            if found is None or found[0].id != sig.party or found[1].use != "sig":
                problems.append(f"signature of {sig.party}: {sig.kid} is not its signing key")
            elif found[1].revoked_at is not None:
                problems.append(f"signature of {sig.party}: key {sig.kid} is revoked")
            elif not signature_valid(found[1].raw, _b64_or_empty(sig.signature), message):
                problems.append(f"signature of {sig.party}: does not verify")
            else:
                good.add(sig.party)
        problems += [f"not signed by {p.id}" for p in agreement.parties if p.id not in good]
        return problems

    def in_force(self, on: date) -> bool:
        """Signed by every party and effective on day `on`."""
        a = self.agreement
        return not self.signature_problems() and a.effective_from <= on <= a.effective_until


def _b64_or_empty(text: str) -> bytes:
    try:
        return b64decode(text)
    except ValueError:
        return b""


def load_agreement(path: Path) -> LoadedAgreement:
    """Read and validate an agreement file; raises AgreementFileError with every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AgreementFileError(f"{path}: {exc.strerror}") from exc
    return parse_agreement(text, path)


def parse_agreement(text: str, path: Path | None = None) -> LoadedAgreement:
    """Validate agreement text; raises AgreementFileError listing every field in error."""
    document = parse_document(text)
    try:
        agreement = Agreement.model_validate(document)
    except ValidationError as exc:
        where = f"{path}: " if path else ""
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()
        )
        raise AgreementFileError(f"{where}invalid agreement: {details}") from exc
    return LoadedAgreement(agreement=agreement, document=document, path=path)


class AgreementBook:
    """Every version of every agreement a node knows; the one in force decides."""

    def __init__(self, loaded: list[LoadedAgreement]) -> None:
        self._versions: dict[str, dict[int, LoadedAgreement]] = {}
        for item in loaded:
            a = item.agreement
            self._versions.setdefault(a.id, {})[a.version] = item

    @classmethod
    def from_paths(cls, paths: list[Path]) -> "AgreementBook":
        return cls([load_agreement(p) for p in paths])

    def ids(self) -> list[str]:
        return sorted(self._versions)

    def versions(self, agreement_id: str) -> dict[int, LoadedAgreement]:
        return dict(self._versions.get(agreement_id, {}))

    def in_force(self, agreement_id: str, on: date) -> LoadedAgreement | None:
        """The highest version of `agreement_id` signed by all and effective on `on`."""
        versions = self._versions.get(agreement_id, {})
        return next(
            (versions[v] for v in sorted(versions, reverse=True) if versions[v].in_force(on)),
            None,
        )
