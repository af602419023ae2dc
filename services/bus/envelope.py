"""The signed event envelope: CloudEvents 1.0 attributes plus Fengqiao's extensions.

The signature is Ed25519 over the RFC 8785 bytes of the envelope object without `signature`.
`prev` is the SHA-256 (hex) of the previous envelope's canonical bytes, signature included, in
the same sender -> recipient stream; the first envelope of a stream has `prev` = GENESIS.
"""

import json
import re
from datetime import UTC, datetime
from typing import Any, Literal

import uuid6
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from contracts.agreement import HandlingCode, JurisdictionId
from contracts.canonical import b64encode, canonical_bytes, sha256_hex
from contracts.errors import MalformedEnvelope
from contracts.keys import sign
from contracts.registry import SCHEMA_URI_PREFIX

GENESIS = "0" * 64
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
UUID7_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
# ASCII digits only: `\d` would also match other scripts' digits, which datetime accepts.
TIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$"
VERSION_PATTERN = r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"


class Envelope(BaseModel):
    """A signed envelope as it travels; `time` stays the exact string that was signed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    specversion: Literal["1.0"]
    id: str = Field(pattern=UUID7_PATTERN)
    source: JurisdictionId
    type: str = Field(pattern=r"^[a-z]+\.[a-z_]+$")
    subject: str = Field(min_length=1, max_length=200)
    time: str = Field(pattern=TIME_PATTERN)
    dataschema: str = Field(max_length=300)
    datacontenttype: Literal["application/json"]
    agreement: str = Field(pattern=r"^[a-z0-9-]+@[1-9][0-9]*$")
    recipient: JurisdictionId
    seq: StrictInt = Field(ge=1, le=2**53 - 1)
    prev: str = Field(pattern=r"^[0-9a-f]{64}$")
    correlation: str = Field(pattern=UUID_PATTERN)
    causation: str | None = Field(default=None, pattern=UUID_PATTERN)
    kid: str = Field(min_length=1, max_length=200)
    handling: HandlingCode
    pdkid: str | None = None
    pdepk: str | None = None
    data: dict[str, Any]
    signature: str

    @field_validator("time")
    @classmethod
    def _calendar_time(cls, value: str) -> str:
        parse_time(value)  # ValueError for 2026-02-30, 24:00, leap seconds
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "Envelope":
        expected = f"{SCHEMA_URI_PREFIX}{self.type}/"
        version = self.dataschema.removeprefix(expected)
        if version == self.dataschema or re.fullmatch(VERSION_PATTERN, version) is None:
            raise ValueError(f"dataschema is not {expected}<major>.<minor>")
        if (self.pdkid is None) != (self.pdepk is None):
            raise ValueError("pdkid and pdepk travel together or not at all")
        return self

    @property
    def sent_at(self) -> datetime:
        return parse_time(self.time)

    @property
    def agreement_id(self) -> str:
        return self.agreement.partition("@")[0]

    @property
    def agreement_version(self) -> int:
        return int(self.agreement.partition("@")[2])

    _document: dict[str, Any] = PrivateAttr(default_factory=dict)
    _wire: bytes = PrivateAttr(default=b"")
    _hash: str = PrivateAttr(default="")

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> "Envelope":
        """Validate a parsed envelope object; keeps the object itself, since it was signed.

        Raises MalformedEnvelope naming every attribute in error.
        """
        return cls._build(document, None)

    @classmethod
    def from_wire(cls, raw: bytes) -> "Envelope":
        """Parse received bytes, which must be exactly the envelope's canonical bytes.

        One envelope has one byte form: the bytes stored are the bytes hashed into the chain,
        and no spelling of the same JSON (whitespace, order, escapes, 1.0 for 1) slips through.
        """
        document = _canonical_document(raw)
        if document is not None:
            return cls._build(document, raw)
        # Not canonical, or not JSON at all: the strict parser says exactly what is wrong.
        envelope = cls.from_document(parse_document(raw))
        if envelope.wire_bytes() != raw:
            raise MalformedEnvelope("the bytes are not the RFC 8785 canonical form of the envelope")
        return envelope

    @classmethod
    def _build(cls, document: dict[str, Any], wire: bytes | None) -> "Envelope":
        """Validate `document`; `wire` is its canonical form when already known."""
        nulls = sorted(k for k, v in document.items() if v is None)
        if nulls:
            raise MalformedEnvelope(f"absent attributes are left out, never null: {nulls}")
        try:
            envelope = cls.model_validate(document)
        except ValidationError as exc:
            raise MalformedEnvelope(_summary(exc)) from exc
        if wire is None:
            try:
                wire = canonical_bytes(document)
            except ValueError as exc:  # no canonical form: infinity, a lone surrogate, ...
                raise MalformedEnvelope(f"no canonical form: {exc}") from exc
        envelope._document = document
        envelope._wire = wire
        envelope._hash = sha256_hex(wire)
        return envelope

    def document(self) -> dict[str, Any]:
        """The envelope as the JSON object that was signed and hashed."""
        return self._document

    def signed_bytes(self) -> bytes:
        """The bytes the signature covers (`signing_bytes` of the document), cut from the wire.

        The wire bytes are canonical, so without the `signature` member they are the canonical
        bytes of the rest. In canonical JSON `,"` only occurs between members (a quote inside a
        string is escaped), and the members sorted after `signature` are plain strings, so the
        last occurrence of the member is the envelope's own, not one nested in `data`.
        """
        member = b',"signature":' + _canonical_string(self.signature)
        at = self._wire.rfind(member)
        if at < 0:
            return signing_bytes(self._document)
        return self._wire[:at] + self._wire[at + len(member) :]

    def wire_bytes(self) -> bytes:
        """What goes on the wire: the canonical bytes of the signed envelope."""
        return self._wire

    def chain_hash(self) -> str:
        """The value the next envelope of the same stream carries in `prev`."""
        return self._hash


def new_event_id() -> str:
    """A UUIDv7: time-ordered, so ids sort by creation time."""
    return str(uuid6.uuid7())


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with milliseconds and `Z`, the only time form envelopes carry."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def parse_time(text: str) -> datetime:
    """The moment an envelope's `time` (TIME_PATTERN) names; ValueError when it is not one."""
    if re.fullmatch(TIME_PATTERN, text) is None:
        raise ValueError(f"{text!r} is not YYYY-MM-DDTHH:MM:SS.mmmZ")
    return datetime.fromisoformat(text)  # refuses 2026-02-30, hour 24 and second 60


def signing_bytes(document: dict[str, Any]) -> bytes:
    """The bytes signed: RFC 8785 of the envelope object without `signature`."""
    return canonical_bytes({k: v for k, v in document.items() if k != "signature"})


def seal(unsigned: dict[str, Any], key: Ed25519PrivateKey) -> Envelope:
    """Sign an envelope object (every attribute but `signature`) and return the envelope."""
    document = {k: v for k, v in unsigned.items() if v is not None}
    signed = signing_bytes(document)
    document["signature"] = b64encode(sign(key, signed))
    # `signature` sorts just before `source`: the wire bytes are the signed ones with it added.
    at = signed.rfind(b',"source":')
    if at < 0:
        return Envelope.from_document(document)
    member = b',"signature":' + _canonical_string(document["signature"])
    return Envelope._build(document, signed[:at] + member + signed[at:])


_BASE64_TEXT = re.compile(r"[A-Za-z0-9+/=]*")


def _canonical_string(text: str) -> bytes:
    """RFC 8785 bytes of a JSON string; base64 text (a signature) needs no escaping."""
    if _BASE64_TEXT.fullmatch(text):
        return b'"' + text.encode("ascii") + b'"'
    return canonical_bytes(text)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise MalformedEnvelope(
            f"duplicate member names: {sorted({k for k in keys if keys.count(k) > 1})}"
        )
    return dict(pairs)


def _no_constants(name: str) -> Any:
    raise MalformedEnvelope(f"{name} is not JSON")


MAX_EXACT_INT = 2**53 - 1


def json_number(text: str) -> int | float:
    """A JSON integer literal as RFC 8785 reads every number: an IEEE 754 double.

    Integers within +-(2**53 - 1) stay `int` (the double is exact); larger ones become the
    nearest double, which is how the canonical form itself writes 1e20 (`100000000000000000000`).
    """
    if len(text) <= 17:  # sign and 16 digits: int() is cheap and exact
        value = int(text)
        return value if abs(value) <= MAX_EXACT_INT else float(value)
    return float(text)  # inf when out of range: refused when canonicalised


def _canonical_document(raw: bytes) -> dict[str, Any] | None:
    """The object `raw` holds when `raw` is exactly its canonical form, else None.

    A plain parse suffices here: duplicate names, NaN or another spelling of a number all
    give an object whose canonical bytes differ from `raw` (or have none).
    """
    try:
        document = json.loads(raw, parse_int=json_number)
        if isinstance(document, dict) and canonical_bytes(document) == raw:
            return document
    except (ValueError, RecursionError):
        pass
    return None


def parse_document(raw: bytes) -> dict[str, Any]:
    """Parse envelope bytes strictly: UTF-8 JSON object, no duplicate names, no NaN."""
    try:
        doc = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_no_duplicate_keys,
            parse_constant=_no_constants,
            parse_int=json_number,
        )
    except (ValueError, RecursionError) as exc:
        raise MalformedEnvelope(f"not UTF-8 JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise MalformedEnvelope("an envelope is a JSON object")
    return doc


def _summary(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(envelope)'}: {e['msg']}" for e in exc.errors()
    )
