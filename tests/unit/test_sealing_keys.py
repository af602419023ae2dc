"""Envelopes composed together to one recipient share one ephemeral key; each still opens alone."""

import pickle

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from contracts import errors
from contracts.canonical import b64encode
from contracts.keys import public_raw
from services.bus.compose import Addressing, compose
from services.bus.envelope import GENESIS, Envelope
from services.bus.personal_data import PREFIX
from services.bus.sealing_keys import SHARED_SECRETS_KEPT, SealingKeys, SharedSecrets
from tests.support.envelopes import (
    ARRIVAL,
    LAO_CHENG_ID,
    LAO_HUANG_ID,
    Exchange,
    resign,
    seed_dispute,
    with_data,
)
from tests.support.trust import NOW


@pytest.fixture(scope="module")
def exchange() -> Exchange:
    return Exchange()


def _composed_together(exchange: Exchange, count: int, keys: SealingKeys) -> list[Envelope]:
    """Dalang's envelopes to Qianfeng composed with one set of sealing keys, as enqueue_many."""
    envelopes, prev = [], GENESIS
    for seq in range(1, count + 1):
        to = Addressing(recipient=exchange.qianfeng.id, subject="DL-2022-0001", seq=seq, prev=prev)
        envelope = compose(
            exchange.loaded.agreement, exchange.dalang.signer, seed_dispute(), to, NOW, sealing=keys
        )
        envelopes.append(envelope)
        prev = envelope.chain_hash()
    return envelopes


def _id_numbers(exchange: Exchange, envelope: Envelope) -> list[str]:
    verified = exchange.verifier().verify(envelope.wire_bytes(), ARRIVAL)
    return [p["id_number"] for p in verified.event.model_dump()["parties"]]


def test_envelopes_composed_together_share_one_pdepk_and_each_opens_alone(
    exchange: Exchange,
) -> None:
    envelopes = _composed_together(exchange, 4, SealingKeys())
    assert len({e.pdepk for e in envelopes}) == 1 and envelopes[0].pdepk is not None
    assert len({e.data["parties"][0]["id_number"] for e in envelopes}) == 4
    for envelope in [envelopes[2], envelopes[0], envelopes[3], envelopes[1]]:
        assert _id_numbers(exchange, envelope) == [LAO_HUANG_ID, LAO_CHENG_ID]


def test_tampered_field_of_one_envelope_of_a_batch_fails_and_the_others_still_open(
    exchange: Exchange,
) -> None:
    first, second, third = _composed_together(exchange, 3, SealingKeys())
    verifier = exchange.verifier()
    verifier.verify(first.wire_bytes(), ARRIVAL)  # the batch's secret is now known here

    def tamper(data: dict[str, object]) -> None:
        party = data["parties"][1]  # type: ignore[index]
        party["phone"] = PREFIX + b64encode(b"\0" * 12 + b"\1" * 27)

    raw = resign(second, exchange.dalang.sig, data=with_data(second, tamper))
    with pytest.raises(errors.DecryptionFailed, match=r"parties\.1\.phone"):
        verifier.verify(raw, ARRIVAL)
    assert verifier.verify(third.wire_bytes(), ARRIVAL).envelope.id == third.id


def test_sealed_field_moved_between_envelopes_of_one_batch_fails_to_decrypt(
    exchange: Exchange,
) -> None:
    first, second = _composed_together(exchange, 2, SealingKeys())
    raw = resign(second, exchange.dalang.sig, data=first.data)
    with pytest.raises(errors.DecryptionFailed):
        exchange.verifier().verify(raw, ARRIVAL)


def test_each_envelope_composed_alone_gets_a_fresh_pdepk(exchange: Exchange) -> None:
    assert len({exchange.envelope().pdepk for _ in range(3)}) == 3


def test_envelopes_to_different_recipients_never_share_an_ephemeral_key(exchange: Exchange) -> None:
    keys = SealingKeys()
    to_qianfeng = _composed_together(exchange, 2, keys)
    to_dalang = Addressing(
        recipient=exchange.dalang.id, subject="DL-2022-0001", seq=1, prev=GENESIS
    )
    back = compose(
        exchange.loaded.agreement,
        exchange.qianfeng.signer,
        seed_dispute(),
        to_dalang,
        NOW,
        sealing=keys,
    )
    assert back.pdepk not in {e.pdepk for e in to_qianfeng}
    assert keys.take(X25519PrivateKey.generate().public_key()).pdepk != back.pdepk


def test_an_ephemeral_key_seals_at_most_its_limit_of_envelopes(exchange: Exchange) -> None:
    envelopes = _composed_together(exchange, 5, SealingKeys(limit=2))
    assert [e.pdepk for e in envelopes].count(envelopes[0].pdepk) == 2
    assert len({e.pdepk for e in envelopes}) == 3
    for envelope in envelopes:
        assert _id_numbers(exchange, envelope)[0] == LAO_HUANG_ID


def test_shared_secret_cache_keeps_only_its_size() -> None:
    own, cache = X25519PrivateKey.generate(), SharedSecrets(size=4)
    for _ in range(10):
        cache.agree("kid", b64encode(public_raw(X25519PrivateKey.generate())), own)
    assert len(cache) == 4


def test_verifiers_shared_secret_cache_does_not_grow_past_its_size(exchange: Exchange) -> None:
    verifier, own = exchange.verifier(), exchange.qianfeng.enc
    for _ in range(SHARED_SECRETS_KEPT + 20):
        pdepk = b64encode(public_raw(X25519PrivateKey.generate()))
        verifier.shared_secrets.agree(exchange.qianfeng.enc_kid, pdepk, own)
    assert len(verifier.shared_secrets) == SHARED_SECRETS_KEPT


def test_a_cached_secret_is_the_one_the_key_agrees() -> None:
    own, ephemeral = X25519PrivateKey.generate(), X25519PrivateKey.generate()
    pdepk, cache = b64encode(public_raw(ephemeral)), SharedSecrets()
    expected = ephemeral.exchange(own.public_key())
    assert cache.agree("kid", pdepk, own) == cache.agree("kid", pdepk, own) == expected


def test_pdepk_that_is_no_key_fails_to_decrypt_and_is_not_kept() -> None:
    cache = SharedSecrets()
    with pytest.raises(errors.DecryptionFailed):
        cache.agree("kid", "AAAA", X25519PrivateKey.generate())
    assert len(cache) == 0


def test_shared_secret_cache_travels_to_other_processes_empty() -> None:
    own, cache = X25519PrivateKey.generate(), SharedSecrets(size=8)
    cache.agree("kid", b64encode(public_raw(X25519PrivateKey.generate())), own)
    copy = pickle.loads(pickle.dumps(cache))
    assert len(copy) == 0 and copy.size == 8
