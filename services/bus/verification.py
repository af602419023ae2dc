"""Verify a received envelope: every check a partner's event must pass before it is applied.

Pure: bytes, the agreements, the contracts, the stream position and the clock go in; a verified
event or one typed rejection comes out. The order of the checks is part of the protocol.
"""

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from contracts.agreement import Agreement, AgreementBook, key_state
from contracts.canonical import b64decode
from contracts.errors import (
    AgreementNotInForce,
    BadSignature,
    ChainBreak,
    ClockSkew,
    DecryptionFailed,
    EnvelopeRejected,
    KeyExpired,
    KeyNotYetValid,
    KeyRevoked,
    NotPermittedByAgreement,
    OversizedEnvelope,
    PersonalDataInClear,
    ReplayedEnvelope,
    SenderNotParty,
    SequenceGap,
    UnknownAgreement,
    UnknownKey,
    WrongRecipient,
)
from contracts.events.base import EventData
from contracts.keys import signature_valid
from contracts.merkle import BadProof
from contracts.registry import ContractRegistry, parse_schema_uri
from services.bus.envelope import GENESIS, Envelope
from services.bus.personal_data import find_fields, is_sealed, open_found
from services.bus.sealing_keys import SharedSecrets

DEFAULT_MAX_BYTES = 512 * 1024
DEFAULT_MAX_SKEW = timedelta(minutes=5)
_KEY_ERRORS = {"not_yet_valid": KeyNotYetValid, "expired": KeyExpired, "revoked": KeyRevoked}


@dataclass(frozen=True)
class StreamPosition:
    """The last envelope applied from one sender -> recipient stream."""

    seq: int = 0
    head: str = GENESIS


@dataclass(frozen=True)
class VerifiedEvent:
    """An envelope that passed every check, with its decrypted, validated data."""

    envelope: Envelope
    event: EventData
    agreement: Agreement


@dataclass(frozen=True)
class Checked:
    """An envelope after every check that does not depend on its stream position.

    `rejected` is its stage-1 refusal (it does not take its stream place); otherwise it is
    authentic and `data` is its data, personal fields opened, for its contract to read (which
    `Verifier.admitted` does, where the event is applied), or `refused` says why it was not
    admitted. Pure and picklable, so that a batch can be checked in other processes.
    """

    envelope: Envelope | None = None
    agreement: tuple[str, int] | None = None
    data: dict[str, Any] | None = None
    rejected: EnvelopeRejected | None = None
    refused: EnvelopeRejected | None = None


@dataclass(frozen=True)
class Verifier:
    """Verifies envelopes addressed to jurisdiction `me`."""

    me: str
    agreements: AgreementBook
    contracts: ContractRegistry
    encryption_keys: dict[str, X25519PrivateKey]
    max_bytes: int = DEFAULT_MAX_BYTES
    max_skew: timedelta = DEFAULT_MAX_SKEW
    # The envelopes a sender composed together share one pdepk: one X25519 exchange opens them.
    shared_secrets: SharedSecrets = field(
        default_factory=SharedSecrets, init=False, repr=False, compare=False
    )

    def verify(
        self, raw: bytes, now: datetime, position: StreamPosition | None = None
    ) -> VerifiedEvent:
        """Run every check on `raw`; raise the first EnvelopeRejected (or SequenceGap)."""
        envelope, agreement = self.authenticate(raw, now, position)
        return self.admit(envelope, agreement)

    def authenticate(
        self, raw: bytes, now: datetime, position: StreamPosition | None = None
    ) -> tuple[Envelope, Agreement]:
        """Stage 1: is this an authentic envelope from a party, for us, next in its stream?

        An envelope that fails here does not take its place in the sender's stream.
        """
        if len(raw) > self.max_bytes:
            raise OversizedEnvelope(f"{len(raw)} bytes, limit {self.max_bytes}")
        envelope = Envelope.from_wire(raw)
        agreement = self._agreement(envelope, now)
        self._check_signature(envelope, agreement)
        if envelope.sent_at > now + self.max_skew:
            raise ClockSkew(f"event time {envelope.time} is ahead of this node's clock")
        if envelope.recipient != self.me:
            raise WrongRecipient(f"addressed to {envelope.recipient}, this node is {self.me}")
        if position is not None:
            check_position(envelope, position)
        return envelope, agreement

    def check(self, raw: bytes, now: datetime) -> Checked:
        """Both stages but the stream position and the contract's reading of the data, with
        the outcome as a value, not raised."""
        try:
            envelope, agreement = self.authenticate(raw, now)
        except EnvelopeRejected as rejected:
            return Checked(rejected=rejected)
        ref = (agreement.id, agreement.version)
        try:
            data = self._admissible(envelope, agreement)
        except EnvelopeRejected as refused:
            return Checked(envelope, ref, refused=refused)
        return Checked(envelope, ref, data)

    def place(self, checked: Checked, position: StreamPosition) -> tuple[Envelope, Agreement]:
        """Stage 1 for a checked envelope: its refusal, or its place after `position`.

        Gives what `authenticate` gives for the same bytes at the same position.
        """
        if checked.rejected is not None:
            raise checked.rejected
        assert checked.envelope is not None and checked.agreement is not None
        check_position(checked.envelope, position)
        agreement_id, version = checked.agreement
        return checked.envelope, self.agreements.versions(agreement_id)[version].agreement

    def admitted(self, checked: Checked, agreement: Agreement) -> VerifiedEvent:
        """Stage 2 for a placed envelope: its verified event, or its refusal (the last check
        of stage 2, the contract's reading of the data, is made here)."""
        if checked.refused is not None:
            raise checked.refused
        assert checked.envelope is not None and checked.data is not None
        return self._read(checked.envelope, checked.data, agreement)

    def admit(self, envelope: Envelope, agreement: Agreement) -> VerifiedEvent:
        """Stage 2: is its contract known here, does the agreement permit it, is its data valid?

        An authentic envelope that fails here still takes its place in the stream (the chain
        goes on) and is quarantined, so that it can be re-driven after an amendment.
        """
        return self._read(envelope, self._admissible(envelope, agreement), agreement)

    def _admissible(self, envelope: Envelope, agreement: Agreement) -> dict[str, Any]:
        """Stage 2 but the contract's reading: its data with the personal fields opened."""
        _, version = parse_schema_uri(envelope.dataschema)  # its form was checked in stage 1
        self.contracts.latest(envelope.type)  # unknown type -> UnknownEventType
        self.contracts.latest(envelope.type, version[0])  # unknown major -> UnknownContractVersion
        flow = agreement.flow(envelope.type)
        if flow is None or not flow.permits(envelope.source, envelope.recipient, version[0]):
            raise NotPermittedByAgreement(
                f"{agreement.ref} does not permit {envelope.type} {version[0]}.x "
                f"from {envelope.source} to {envelope.recipient}"
            )
        return self._open(envelope, agreement)

    def _read(
        self, envelope: Envelope, data: dict[str, Any], agreement: Agreement
    ) -> VerifiedEvent:
        _, version = parse_schema_uri(envelope.dataschema)
        event = self.contracts.read(envelope.type, version, data)
        return VerifiedEvent(envelope=envelope, event=event, agreement=agreement)

    def _agreement(self, envelope: Envelope, now: datetime) -> Agreement:
        if not self.agreements.knows(envelope.agreement_id):
            raise UnknownAgreement(f"agreement {envelope.agreement_id} is unknown here")
        # Agreement dates are days of the UTC calendar, whatever the node's local zone.
        loaded = self.agreements.in_force(envelope.agreement_id, now.astimezone(UTC).date())
        if loaded is None:
            raise AgreementNotInForce(f"no version of {envelope.agreement_id} is in force")
        if envelope.agreement_version > loaded.agreement.version:
            raise AgreementNotInForce(
                f"{envelope.agreement} is newer than the version in force here "
                f"({loaded.agreement.ref})"
            )
        return loaded.agreement

    def _check_signature(self, envelope: Envelope, agreement: Agreement) -> None:
        if agreement.party(envelope.source) is None:
            raise SenderNotParty(f"{envelope.source} is not a party to {agreement.ref}")
        found = agreement.key(envelope.kid)
        if found is None or found[0].id != envelope.source or found[1].use != "sig":
            raise UnknownKey(f"{envelope.kid} is not a signing key of {envelope.source}")
        state = key_state(found[1], envelope.sent_at)
        if state != "valid":
            raise _KEY_ERRORS[state](
                f"key {envelope.kid} is {state.replace('_', ' ')} at {envelope.time}"
            )
        signature = _signature_bytes(envelope.signature)
        if envelope.proof is None:
            valid = signature_valid(found[1].raw, signature, envelope.signed_bytes())
        else:
            valid = _batch_signature_valid(found[1].raw, signature, _batch(envelope, agreement))
        if not valid:
            raise BadSignature(f"signature does not verify with {envelope.kid}")

    def _open(self, envelope: Envelope, agreement: Agreement) -> dict[str, Any]:
        patterns = agreement.personal_fields(envelope.type)
        if not patterns:
            return envelope.data
        fields = find_fields(envelope.data, patterns)
        if not fields:
            return envelope.data
        in_clear = [found.path for found in fields if not is_sealed(found.value)]
        if in_clear:
            raise PersonalDataInClear(f"personal fields travel unencrypted: {', '.join(in_clear)}")
        if envelope.pdepk is None:
            raise DecryptionFailed("personal fields are sealed but the envelope has no pdepk")
        own = self.encryption_keys.get(envelope.pdkid or "")
        if own is None:
            raise DecryptionFailed(f"no private key here for {envelope.pdkid}")
        shared = self.shared_secrets.agree(envelope.pdkid or "", envelope.pdepk, own)
        return open_found(envelope.data, fields, envelope.id, shared)


def check_position(envelope: Envelope, position: StreamPosition) -> None:
    """Seq and hash chain against the last applied envelope of the same stream."""
    if envelope.seq <= position.seq:
        raise ReplayedEnvelope(f"seq {envelope.seq} was already applied (at {position.seq})")
    if envelope.seq > position.seq + 1:
        raise SequenceGap(expected=position.seq + 1, got=envelope.seq)
    if envelope.prev != position.head:
        raise ChainBreak(
            f"prev {envelope.prev[:12]}… does not match chain head {position.head[:12]}…"
        )


def _batch(envelope: Envelope, agreement: Agreement) -> bytes:
    """The batch message a batch-signed envelope's proof leads to, if the agreement allows it."""
    allowed = agreement.batch_signing
    if allowed is None:
        raise BadSignature(f"{agreement.ref} does not provide for batch signatures")
    size = envelope.batch_size or 0
    if size > allowed.max_envelopes:
        raise BadSignature(f"a batch of {size}, {agreement.ref} allows {allowed.max_envelopes}")
    try:
        return envelope.signature_message()
    except BadProof as exc:
        raise BadSignature(f"the proof does not hold: {exc}") from exc


@functools.lru_cache(maxsize=4096)
def _batch_signature_valid(public: bytes, signature: bytes, message: bytes) -> bool:
    """Every envelope of a batch carries the same signature over the same message: one check."""
    return signature_valid(public, signature, message)


def _signature_bytes(text: str) -> bytes:
    """The signature's bytes, or b"" (which never verifies) unless `text` is canonical base64.

    Base64 that decodes to the same bytes but is written differently (non-zero padding bits)
    is refused: the chain hash covers the text, so two spellings would fork the chain.
    """
    try:
        return b64decode(text)
    except ValueError:
        return b""
