"""Stage 1, trust: the agreement in force, the sender, its key at the event's time, the signature,
the clock and the recipient."""

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts import errors
from contracts.canonical import b64decode, b64encode
from contracts.keys import key_id, public_raw
from services.bus.verification import DEFAULT_MAX_SKEW
from tests.support.envelopes import ARRIVAL, Exchange, resign, rewrite
from tests.support.trust import NOW, Bureau, FormerKey


@pytest.fixture(scope="module")
def exchange() -> Exchange:
    return Exchange()


def test_envelope_under_an_agreement_this_node_never_heard_of_is_refused(
    exchange: Exchange,
) -> None:
    raw = resign(exchange.envelope(), exchange.dalang.sig, agreement="other-agreement@1")
    with pytest.raises(errors.UnknownAgreement):
        exchange.verify(raw)


def test_agreement_not_signed_by_every_party_is_not_in_force(exchange: Exchange) -> None:
    half_signed = exchange.agreement(signers=[exchange.dalang])
    verifier = exchange.verifier(agreements=[half_signed])
    with pytest.raises(errors.AgreementNotInForce, match="no version"):
        verifier.verify(exchange.envelope().wire_bytes(), ARRIVAL)


def test_envelope_arriving_after_the_agreement_ended_is_refused(exchange: Exchange) -> None:
    last_day = datetime(2030, 12, 31, 23, 59, 59, tzinfo=UTC)  # effective_until: 2030-12-31
    sent = exchange.envelope(now=last_day).wire_bytes()
    assert exchange.verify(sent, last_day).envelope.seq == 1
    with pytest.raises(errors.AgreementNotInForce):
        exchange.verify(sent, last_day + timedelta(seconds=2))


def test_envelope_naming_a_newer_version_than_the_one_in_force_is_refused(
    exchange: Exchange,
) -> None:
    raw = resign(exchange.envelope(), exchange.dalang.sig, agreement="test-agreement@2")
    with pytest.raises(errors.AgreementNotInForce, match="newer than the version in force"):
        exchange.verify(raw)


def test_envelope_naming_an_older_version_is_checked_against_the_newest_in_force() -> None:
    exchange = Exchange()
    amended = exchange.agreement(version=2)
    verifier = exchange.verifier(agreements=[exchange.loaded, amended])
    verified = verifier.verify(exchange.envelope().wire_bytes(), ARRIVAL)
    assert verified.envelope.agreement == "test-agreement@1"
    assert verified.agreement.ref == "test-agreement@2"


def test_sender_that_is_not_a_party_is_refused(exchange: Exchange) -> None:
    stranger = Bureau("shenzhen-futian")
    raw = resign(exchange.envelope(), stranger.sig, source=stranger.id, kid=stranger.sig_kid)
    with pytest.raises(errors.SenderNotParty):
        exchange.verify(raw)


@pytest.mark.parametrize("whose", ["unlisted", "other party's", "own encryption key"])
def test_key_that_is_not_a_signing_key_of_the_sender_is_unknown(
    exchange: Exchange, whose: str
) -> None:
    fresh = Ed25519PrivateKey.generate()
    kid = {
        "unlisted": key_id(exchange.dalang.id, "sig", public_raw(fresh)),
        "other party's": exchange.qianfeng.sig_kid,
        "own encryption key": exchange.dalang.enc_kid,
    }[whose]
    raw = resign(exchange.envelope(), fresh, kid=kid)
    with pytest.raises(errors.UnknownKey):
        exchange.verify(raw)


@pytest.mark.parametrize(
    ("terms", "refusal"),
    [
        ({"valid_from": "2027-01-01T00:00:00Z"}, errors.KeyNotYetValid),
        ({"valid_until": "2026-05-20T10:29:59Z"}, errors.KeyExpired),
        ({"revoked_at": "2026-05-20T10:30:00Z"}, errors.KeyRevoked),
    ],
    ids=["not-yet-valid", "expired", "revoked"],
)
def test_key_is_judged_at_the_events_time(
    terms: dict[str, str], refusal: type[errors.EnvelopeRejected]
) -> None:
    dalang = Bureau("dongguan-dalang", former=[FormerKey(Ed25519PrivateKey.generate(), terms)])
    exchange = Exchange(dalang=dalang)
    raw = resign(exchange.envelope(), dalang.former[0].key, kid=dalang.former_signer().kid)
    with pytest.raises(refusal):
        exchange.verify(raw)


def test_revoked_key_still_verifies_what_it_signed_before_the_revocation() -> None:
    revoked = FormerKey(Ed25519PrivateKey.generate(), {"revoked_at": "2026-05-20T10:30:00Z"})
    exchange = Exchange(dalang=Bureau("dongguan-dalang", former=[revoked]))
    earlier = exchange.envelope(now=NOW - timedelta(milliseconds=1))
    raw = resign(earlier, revoked.key, kid=exchange.dalang.former_signer().kid)
    assert exchange.verify(raw).envelope.kid == exchange.dalang.former_signer().kid


def test_changed_attribute_breaks_the_signature(exchange: Exchange) -> None:
    raw = rewrite(exchange.envelope(), subject="DL-2022-0002")
    with pytest.raises(errors.BadSignature):
        exchange.verify(raw)


def test_changed_data_breaks_the_signature(exchange: Exchange) -> None:
    envelope = exchange.envelope()
    raw = rewrite(envelope, data=envelope.data | {"risk": "low"})
    with pytest.raises(errors.BadSignature):
        exchange.verify(raw)


def test_signature_by_another_key_of_nobody_fails(exchange: Exchange) -> None:
    raw = resign(exchange.envelope(), Ed25519PrivateKey.generate())
    with pytest.raises(errors.BadSignature):
        exchange.verify(raw)


@pytest.mark.parametrize("cut", [1, 4, 44, 88])
def test_truncated_signature_fails(exchange: Exchange, cut: int) -> None:
    envelope = exchange.envelope()
    short = b64encode(b64decode(envelope.signature)[:-cut]) if cut < 64 else ""
    with pytest.raises(errors.BadSignature):
        exchange.verify(rewrite(envelope, signature=short))


def test_signature_that_is_not_base64_fails(exchange: Exchange) -> None:
    with pytest.raises(errors.BadSignature):
        exchange.verify(rewrite(exchange.envelope(), signature="not base64!"))


def test_signature_in_non_canonical_base64_fails_though_it_decodes_to_the_same_bytes(
    exchange: Exchange,
) -> None:
    envelope = exchange.envelope()
    text = envelope.signature
    # 64 bytes take 86 characters and two `=`; the last character carries 4 unused bits.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    twin = text[:85] + alphabet[alphabet.index(text[85]) ^ 1] + "=="
    assert twin != text and base64.b64decode(twin) == base64.b64decode(text)
    with pytest.raises(errors.BadSignature):
        exchange.verify(rewrite(envelope, signature=twin))


def test_event_from_further_in_the_future_than_the_skew_bound_is_refused(
    exchange: Exchange,
) -> None:
    ahead = exchange.envelope(now=NOW + DEFAULT_MAX_SKEW + timedelta(milliseconds=1))
    with pytest.raises(errors.ClockSkew):
        exchange.verify(ahead.wire_bytes(), NOW)
    at_bound = exchange.envelope(now=NOW + DEFAULT_MAX_SKEW)
    assert exchange.verify(at_bound.wire_bytes(), NOW).envelope.seq == 1


def test_old_events_are_not_refused_for_their_age(exchange: Exchange) -> None:
    week_old = exchange.envelope(now=NOW - timedelta(days=7))
    assert exchange.verify(week_old.wire_bytes(), NOW).envelope.time == "2026-05-13T10:30:00.000Z"


def test_envelope_addressed_to_another_bureau_is_refused(exchange: Exchange) -> None:
    to_qianfeng = exchange.envelope().wire_bytes()
    with pytest.raises(errors.WrongRecipient):
        exchange.verifier(me=exchange.dalang).verify(to_qianfeng, ARRIVAL)
