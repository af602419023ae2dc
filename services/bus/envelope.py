"""The signed event envelope: CloudEvents 1.0 attributes plus Fengqiao's extensions.

The signature is Ed25519 over the RFC 8785 bytes of the envelope object without `signature`
(and `proof`), or, where the agreement provides for batches, over the Merkle root of a batch of
envelopes, each carrying its inclusion `proof` (contracts.merkle). `prev` is the chain hash of the
previous envelope of the same sender -> recipient stream: the SHA-256 (hex) of its canonical
bytes, signature included, or for a batch-signed one its Merkle leaf hash; the first envelope of
a stream has `prev` = GENESIS.
"""

import functools
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import uuid6
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from contracts.agreement import HandlingCode, JurisdictionId
from contracts.canonical import (
    b64decode,
    b64encode,
    canonical_bytes,
    plain_canonical_bytes,
    sha256_hex,
)
from contracts.errors import MalformedEnvelope
from contracts.keys import sign
from contracts.merkle import BadProof, batch_message, leaf_hash, root_from_path, tree
from contracts.registry import SCHEMA_URI_PREFIX

GENESIS = "0" * 64
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
UUID7_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
# ASCII digits only: `\d` would also match other scripts' digits, which datetime accepts.
TIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$"
VERSION_PATTERN = r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
PROOF_PATTERN = r"^(0|[1-9][0-9]{0,3}):([1-9][0-9]{0,3}):([A-Za-z0-9+/]*={0,2})$"
"""`<leaf index>:<batch size>:<base64 of the inclusion path's 32-byte hashes, nearest first>`"""
UNSIGNED = ("signature", "proof")
"""The members the signed bytes leave out."""


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
    proof: str | None = Field(default=None, pattern=PROOF_PATTERN)
    data: dict[str, Any]
    signature: str

    @field_validator("time")
    @classmethod
    def _calendar_time(cls, value: str) -> str:
        # Its form (TIME_PATTERN) is the field's own constraint, checked before this.
        datetime.fromisoformat(value)  # ValueError for 2026-02-30, 24:00, leap seconds
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
        return self._sent_at

    # An envelope never changes: what is derived from it is computed once, when first needed
    # (in the instance's __dict__, where it is read without pydantic's private-attribute path).
    @functools.cached_property
    def _sent_at(self) -> datetime:
        return datetime.fromisoformat(self.time)  # its form was checked: parse_time's result

    @property
    def agreement_id(self) -> str:
        return self.agreement.partition("@")[0]

    @property
    def agreement_version(self) -> int:
        return int(self.agreement.partition("@")[2])

    if TYPE_CHECKING:  # not pydantic private attributes: see _build (and _unpickle)
        _wire: bytes
        _document: dict[str, Any]

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its wire bytes, chain hash and document: checked envelopes come back from
        the verification workers so, into the receiving node's process, where reading them back
        competes with the event loop. They are not validated again (they were, where they were
        pickled) nor parsed again: ~6 µs an envelope, against ~15 reading the wire's JSON."""
        return (_unpickle, (self._wire, self._chain_hash, self._document))

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
        document = canonical_document(raw)
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
        if None in document.values():
            nulls = sorted(k for k, v in document.items() if v is None)
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
        # Kept in the instance's __dict__ beside the fields and the cached values: as pydantic
        # private attributes they cost ~3 µs to set up and ~2.5 µs per read, per envelope.
        envelope.__dict__.update(_document=document, _wire=wire)
        return envelope

    def document(self) -> dict[str, Any]:
        """The envelope as the JSON object that was signed and hashed."""
        return self._document

    def signed_bytes(self) -> bytes:
        """`signing_bytes` of the document, cut from the wire."""
        spans = self._signed_spans()
        if spans is None:
            return signing_bytes(self._document)
        return b"".join(self._wire[start:end] for start, end in spans)

    def _signed_spans(self) -> list[tuple[int, int]] | None:
        """Where the signed bytes lie in the wire bytes: around the `signature` (and `proof`)
        member; None if one of them is not found.

        The wire bytes are canonical, so without the `signature` (and `proof`) member they are
        the canonical bytes of the rest. In canonical JSON `,"` only occurs between members (a
        quote inside a string is escaped), and the members sorted after `proof` are plain
        strings and numbers, so the last occurrence of each member is the envelope's own, not
        one nested in `data`; `proof` sorts before `signature`.
        """
        end, spans = len(self._wire), []
        for name, value in (("signature", self.signature), ("proof", self.proof)):
            if value is None:
                continue
            member = f',"{name}":'.encode() + _canonical_string(value)
            at = self._wire.rfind(member, 0, end)
            if at < 0:
                return None
            spans.append((at + len(member), end))
            end = at
        spans.append((0, end))
        return spans[::-1]

    @property
    def batch_size(self) -> int | None:
        """How many envelopes were signed together with this one (None: signed alone)."""
        return None if self.proof is None else int(self.proof.split(":")[1])

    def signature_message(self) -> bytes:
        """The bytes the Ed25519 signature covers: the signed bytes, or for a batch-signed
        envelope the batch message over the root its proof leads to (BadProof if it leads
        nowhere)."""
        if self.proof is None:
            return self.signed_bytes()
        index, size, path = parse_proof(self.proof)
        return batch_message(size, root_from_path(self._leaf_hash, index, size, path))

    def wire_bytes(self) -> bytes:
        """What goes on the wire: the canonical bytes of the signed envelope."""
        return self._wire

    def chain_hash(self) -> str:
        """The value the next envelope of the same stream carries in `prev`."""
        return self._chain_hash

    @functools.cached_property
    def _chain_hash(self) -> str:
        return sha256_hex(self._wire) if self.proof is None else self._leaf_hash.hex()

    @functools.cached_property
    def _leaf_hash(self) -> bytes:
        """Its leaf hash in a batch's Merkle tree (its chain hash, if it was batch-signed)."""
        spans = self._signed_spans()
        if spans is None:
            return leaf_hash(self.signed_bytes())
        wire = memoryview(self._wire)
        return leaf_hash(*(wire[start:end] for start, end in spans))


def new_event_id(after: str | None = None) -> str:
    """A UUIDv7: time-ordered, so ids sort by creation time; and after `after` (the id of an
    event this one revises, perhaps made on a partner's clock ahead of ours), compared as text."""
    made = str(uuid6.uuid7())
    if after is None or made > after:
        return made
    later = int(after[:8] + after[9:13], 16) + 1  # its 48-bit millisecond time, plus one
    return str(uuid6.UUID(int=(later << 80) | secrets.randbits(76), version=7))


@functools.lru_cache(maxsize=16)  # the envelopes of one transaction share their `now`
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
    """The bytes signed: RFC 8785 of the envelope object without `signature` and `proof`."""
    return canonical_bytes({k: v for k, v in document.items() if k not in UNSIGNED})


def parse_proof(proof: str) -> tuple[int, int, list[bytes]]:
    """Leaf index, batch size and inclusion path of a `proof` (PROOF_PATTERN); BadProof if the
    path is not canonical base64 of whole 32-byte hashes."""
    index, size, path = proof.split(":")
    try:
        raw = b64decode(path)
    except ValueError as exc:
        raise BadProof("the inclusion path is not canonical base64") from exc
    if len(raw) % 32:
        raise BadProof("the inclusion path is not made of 32-byte hashes")
    return int(index), int(size), [raw[i : i + 32] for i in range(0, len(raw), 32)]


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


@dataclass(frozen=True)
class Unsigned:
    """An envelope object not yet signed (absent attributes left out), with its signed bytes."""

    document: dict[str, Any]
    signed: bytes

    @classmethod
    def of(cls, unsigned: dict[str, Any]) -> "Unsigned":
        document = {k: v for k, v in unsigned.items() if v is not None}
        return cls(document, signing_bytes(document))

    @functools.cached_property
    def leaf(self) -> bytes:
        """Its Merkle leaf hash in a batch."""
        return leaf_hash(self.signed)

    def batch_chain_hash(self) -> str:
        """The chain hash it will have once batch-signed: its Merkle leaf hash (hex)."""
        return self.leaf.hex()


def seal_batch(batch: list[Unsigned], key: Ed25519PrivateKey) -> list[Envelope]:
    """Sign envelopes with one signature over their Merkle root, each given its inclusion
    proof. Their `prev` must already chain by `batch_chain_hash`."""
    leaves = [u.leaf for u in batch]
    size = len(leaves)
    batch_root, paths = tree(leaves)
    signature = b64encode(sign(key, batch_message(size, batch_root)))
    envelopes = []
    for index, (unsigned, hashes) in enumerate(zip(batch, paths, strict=True)):
        path = b"".join(hashes)
        document = unsigned.document | {
            "proof": f"{index}:{size}:{b64encode(path)}",
            "signature": signature,
        }
        envelope = Envelope._build(document, _with_members(unsigned.signed, document))
        envelope.__dict__["_leaf_hash"] = unsigned.leaf  # the cached_property, known already
        envelopes.append(envelope)
    return envelopes


def _with_members(signed: bytes, document: dict[str, Any]) -> bytes | None:
    """The wire bytes: the signed ones with `proof` and `signature` put in their sorted places
    (`proof` sorts just before `recipient`, `signature` just before `source`)."""
    proof = b',"proof":' + _canonical_string(document["proof"])
    signature = b',"signature":' + _canonical_string(document["signature"])
    at_recipient, at_source = signed.rfind(b',"recipient":'), signed.rfind(b',"source":')
    if at_recipient < 0 or at_source < at_recipient:
        return None
    return (
        signed[:at_recipient]
        + proof
        + signed[at_recipient:at_source]
        + signature
        + signed[at_source:]
    )


_BASE64_TEXT = re.compile(r"[A-Za-z0-9+/=:]*")


def _canonical_string(text: str) -> bytes:
    """RFC 8785 bytes of a JSON string; base64 text (a signature, a proof) needs no escaping."""
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


class _NotPlain(Exception):
    """A float, an unsafe integer or a NaN: the plain check of canonical_document cannot say."""


def _not_plain(_text: str) -> Any:
    raise _NotPlain


def _plain_int(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_EXACT_INT:
        raise _NotPlain
    return value


# Reads JSON with no float, no unsafe integer and no NaN (a stateless parser, like a pattern).
_PLAIN_JSON = json.JSONDecoder(
    parse_float=_not_plain, parse_int=_plain_int, parse_constant=_not_plain
)
# A character beyond U+FFFF: UTF-8 lead bytes F0-F4 (F5-FF never occur in UTF-8).
_ASTRAL_LEADS = (b"\xf0", b"\xf1", b"\xf2", b"\xf3", b"\xf4")


def canonical_document(raw: bytes) -> dict[str, Any] | None:
    """The object `raw` holds when `raw` is exactly its canonical form, else None.

    A plain parse suffices here: duplicate names, NaN or another spelling of a number all
    give an object whose canonical bytes differ from `raw` (or have none). Most envelopes
    hold only plain values (contracts.canonical.plain_canonical_bytes): read without floats,
    and without a character beyond U+FFFF (whose UTF-16 order may differ from Python's), they
    are re-encoded without a walk to tell whether they are.
    """
    try:
        document, plain = _read_json(raw, plain=not any(lead in raw for lead in _ASTRAL_LEADS))
        if isinstance(document, dict):
            encode = plain_canonical_bytes if plain else canonical_bytes
            if encode(document) == raw:
                return document
    except (ValueError, RecursionError):
        pass
    return None


def _read_json(raw: bytes, plain: bool = True) -> tuple[Any, bool]:
    """The JSON value of `raw`, read without floats and unsafe integers when it has none (and
    `plain` allows), else as json_number reads numbers; and whether it was read plain."""
    if plain:
        try:
            return _PLAIN_JSON.decode(raw.decode("utf-8")), True
        except _NotPlain:
            pass
    return json.loads(raw, parse_int=json_number), False


def _unpickle(wire: bytes, chain_hash: str, document: dict[str, Any]) -> Envelope:
    """The envelope as Envelope.model_construct(**document) builds it, in a third of the time
    (no defaults copied, no checks of names: the document is a validated envelope's own)."""
    envelope = Envelope.__new__(Envelope)
    state = _OPTIONAL | document
    state.update(_document=document, _wire=wire, _chain_hash=chain_hash)
    object.__setattr__(envelope, "__dict__", state)
    object.__setattr__(envelope, "__pydantic_fields_set__", set(document))
    object.__setattr__(envelope, "__pydantic_extra__", None)
    object.__setattr__(envelope, "__pydantic_private__", None)
    return envelope


_OPTIONAL = {n: f.default for n, f in Envelope.model_fields.items() if not f.is_required()}
"""The attributes an envelope may leave out, with their values when it does."""


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
