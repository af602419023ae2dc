"""Why an envelope is refused: one error type per reason, each with a stable reason code.

The reason code is what a quarantine record stores and what docs/protocol.md lists; the HTTP
status is what the node's API answers when the same check fails on a request. The classes are
defined in the order verification runs the checks, so REJECTIONS lists them in that order.
"""

from typing import ClassVar


class EnvelopeRejected(Exception):
    """An envelope that must not be applied. Subclasses name the reason."""

    reason: ClassVar[str] = "rejected"
    http_status: ClassVar[int] = 422

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


class OversizedEnvelope(EnvelopeRejected):
    reason = "oversized"
    http_status = 413


class MalformedEnvelope(EnvelopeRejected):
    reason = "malformed"


class UnknownAgreement(EnvelopeRejected):
    reason = "unknown_agreement"


class AgreementNotInForce(EnvelopeRejected):
    reason = "agreement_not_in_force"


class SenderNotParty(EnvelopeRejected):
    reason = "sender_not_party"
    http_status = 403


class UnknownKey(EnvelopeRejected):
    reason = "unknown_key"
    http_status = 403


class KeyRevoked(EnvelopeRejected):
    reason = "key_revoked"
    http_status = 403


class KeyNotYetValid(EnvelopeRejected):
    reason = "key_not_yet_valid"
    http_status = 403


class KeyExpired(EnvelopeRejected):
    reason = "key_expired"
    http_status = 403


class BadSignature(EnvelopeRejected):
    reason = "bad_signature"
    http_status = 403


class ClockSkew(EnvelopeRejected):
    reason = "clock_skew"


class WrongRecipient(EnvelopeRejected):
    reason = "wrong_recipient"


class ReplayedEnvelope(EnvelopeRejected):
    reason = "replayed"
    http_status = 409


class ChainBreak(EnvelopeRejected):
    reason = "chain_break"
    http_status = 409


class UnknownEventType(EnvelopeRejected):
    reason = "unknown_event_type"


class UnknownContractVersion(EnvelopeRejected):
    reason = "unknown_contract_version"


class NotPermittedByAgreement(EnvelopeRejected):
    reason = "not_permitted"
    http_status = 403


class PersonalDataInClear(EnvelopeRejected):
    reason = "personal_data_in_clear"


class DecryptionFailed(EnvelopeRejected):
    reason = "decryption_failed"


class SchemaViolation(EnvelopeRejected):
    reason = "schema_violation"


class SequenceGap(Exception):
    """Envelopes are missing before this one: hold it and fetch the range, do not quarantine."""

    def __init__(self, expected: int, got: int) -> None:
        super().__init__(f"expected seq {expected}, got {got}")
        self.expected = expected
        self.got = got


REJECTIONS: tuple[type[EnvelopeRejected], ...] = tuple(EnvelopeRejected.__subclasses__())
"""Every rejection reason, in the order verification checks them (docs/protocol.md)."""
