"""What an intruder injects into the bus: one builder per attack, each from the live scene.

Each builder starts from an envelope that would be accepted (right sender stream, next seq, right
chain head, signed) and spoils exactly one thing, so that the one check under attack is what
refuses it.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts.canonical import sha256_hex
from contracts.keys import key_id, public_raw
from contracts.registry import schema_uri
from services.bus.envelope import Envelope, new_event_id
from tests.security.scene import (
    DALANG,
    LONGGANG,
    MAX_ENVELOPE_BYTES,
    STRANGER,
    TYPE,
    Scene,
)
from tests.support.envelopes import resign


@dataclass(frozen=True)
class Injection:
    """Bytes to publish on `sender`'s subject; `applied_before`: applications of the id it
    claims that were legitimate (a replay's original)."""

    sender: str
    raw: bytes
    event_id: str | None
    applied_before: int = 0


Attack = Callable[[Scene], Awaitable[Injection]]


async def _next_from_dalang(scene: Scene) -> Envelope:
    return scene.envelope_from(DALANG, await scene.position(DALANG.id))


def _from_dalang(envelope: Envelope, raw: bytes) -> Injection:
    return Injection(DALANG.id, raw, envelope.id)


async def forged_under_the_partners_kid(scene: Scene) -> Injection:
    envelope = await _next_from_dalang(scene)
    return _from_dalang(envelope, resign(envelope, Ed25519PrivateKey.generate()))


async def forged_under_a_kid_of_its_own(scene: Scene) -> Injection:
    envelope = await _next_from_dalang(scene)
    key = Ed25519PrivateKey.generate()
    kid = key_id(DALANG.id, "sig", public_raw(key))
    return _from_dalang(envelope, resign(envelope, key, kid=kid))


async def signed_by_a_revoked_key(scene: Scene) -> Injection:
    envelope = await _next_from_dalang(scene)
    revoked = DALANG.former_signer(0)
    return _from_dalang(envelope, resign(envelope, revoked.key, kid=revoked.kid))


async def signed_by_an_expired_key(scene: Scene) -> Injection:
    envelope = await _next_from_dalang(scene)
    expired = DALANG.former_signer(1)
    return _from_dalang(envelope, resign(envelope, expired.key, kid=expired.kid))


async def replayed_as_it_was(scene: Scene) -> Injection:
    original = scene.sent[-1]
    return Injection(DALANG.id, original.wire_bytes(), original.id, applied_before=1)


async def replayed_under_a_new_id(scene: Scene) -> Injection:
    original = scene.sent[0]
    event_id = new_event_id()
    return Injection(DALANG.id, resign(original, DALANG.sig, id=event_id), event_id)


async def of_an_unknown_major_version(scene: Scene) -> Injection:
    # Authentic and next in Longgang's stream: it takes its place there, so no live node's
    # own stream is made to skip a seq.
    envelope = scene.envelope_from(LONGGANG, await scene.position(LONGGANG.id))
    raw = resign(envelope, LONGGANG.sig, dataschema=schema_uri(TYPE, (2, 0)))
    return Injection(LONGGANG.id, raw, envelope.id)


async def malformed_json(scene: Scene) -> Injection:
    raw = (await _next_from_dalang(scene)).wire_bytes()
    return Injection(DALANG.id, raw[: len(raw) // 2], None)


async def one_byte_over_the_size_limit(scene: Scene) -> Injection:
    envelope = await _next_from_dalang(scene)

    def padded(extra: int) -> bytes:
        narrative = "x" * extra
        return resign(envelope, DALANG.sig, data=envelope.data | {"narrative": narrative})

    # ASCII padding adds one byte per character to the canonical form.
    raw = padded(MAX_ENVELOPE_BYTES + 1 - len(padded(0)))
    assert len(raw) == MAX_ENVELOPE_BYTES + 1
    return _from_dalang(envelope, raw)


async def sent_by_a_non_party(scene: Scene) -> Injection:
    # A non-party has no stream a node sources: it can only slip into a party's subjects.
    envelope = await _next_from_dalang(scene)
    raw = resign(envelope, STRANGER.sig, source=STRANGER.id, kid=STRANGER.sig_kid)
    return _from_dalang(envelope, raw)


async def with_a_broken_chain(scene: Scene) -> Injection:
    envelope = await _next_from_dalang(scene)
    raw = resign(envelope, DALANG.sig, prev=sha256_hex(b"a history Qianfeng never saw"))
    return _from_dalang(envelope, raw)
