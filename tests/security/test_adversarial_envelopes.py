"""Envelopes injected straight into the bus end in quarantine, exact bytes and reason, unapplied;
the receiving node's consumer goes on and applies the next legitimate event."""

import pytest
from sqlalchemy import func, select

from contracts import errors
from tests.security import attacks
from tests.security.attacks import Attack, Injection
from tests.security.scene import Scene
from tests.support.live import wait_until
from tests.support.probe import probe, probe_report

ATTACKS = [
    pytest.param(attacks.forged_under_the_partners_kid, errors.BadSignature, id="forged"),
    pytest.param(attacks.forged_under_a_kid_of_its_own, errors.UnknownKey, id="forged-own-kid"),
    pytest.param(attacks.signed_by_a_revoked_key, errors.KeyRevoked, id="revoked-key"),
    pytest.param(attacks.signed_by_an_expired_key, errors.KeyExpired, id="expired-key"),
    pytest.param(attacks.replayed_as_it_was, errors.ReplayedEnvelope, id="replayed-as-is"),
    pytest.param(attacks.replayed_under_a_new_id, errors.ReplayedEnvelope, id="replayed-new-id"),
    pytest.param(
        attacks.of_an_unknown_major_version, errors.UnknownContractVersion, id="unknown-major"
    ),
    pytest.param(attacks.malformed_json, errors.MalformedEnvelope, id="malformed-json"),
    pytest.param(attacks.one_byte_over_the_size_limit, errors.OversizedEnvelope, id="oversized"),
    pytest.param(attacks.sent_by_a_non_party, errors.SenderNotParty, id="non-party"),
    pytest.param(attacks.with_a_broken_chain, errors.ChainBreak, id="broken-chain"),
]


@pytest.mark.parametrize(("attack", "refusal"), ATTACKS)
async def test_injected_envelope_is_quarantined_with_its_bytes_and_never_applied(
    scene: Scene, attack: Attack, refusal: type[errors.EnvelopeRejected]
) -> None:
    earlier = len(await scene.quarantined())
    injection = await attack(scene)
    await scene.inject(injection.sender, injection.raw)
    await wait_until(lambda: _grown(scene, earlier), 10, f"{refusal.reason} quarantined")
    # The consumer goes on: the next legitimate event is applied.
    await scene.send_legitimate()
    await assert_quarantined_not_applied(scene, injection, refusal.reason, earlier)


async def assert_quarantined_not_applied(
    scene: Scene, injection: Injection, reason: str, earlier: int
) -> None:
    """One new quarantine entry, with `reason` and the exact bytes injected; nothing of it
    applied; and every legitimate event applied exactly once."""
    entries = (await scene.quarantined())[earlier:]
    assert [(e.reason, e.raw) for e in entries] == [(reason, injection.raw)]
    assert entries[0].event_id == injection.event_id
    if injection.event_id is not None:
        assert await _applications(scene, injection.event_id) == injection.applied_before
    report = await probe_report(scene.receiver.node.db)
    legitimate = len(scene.sent)
    assert (report.applications, report.distinct_events) == (legitimate, legitimate)


async def _grown(scene: Scene, earlier: int) -> bool:
    return len(await scene.quarantined()) > earlier


async def _applications(scene: Scene, event_id: str) -> int:
    async with scene.receiver.node.db.transaction() as conn:
        query = select(func.count()).select_from(probe).where(probe.c.event_id == event_id)
        return int((await conn.execute(query)).scalar_one())
