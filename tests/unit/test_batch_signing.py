"""Batch signatures: one Ed25519 signature over a Merkle root, each envelope with its proof."""

import contextlib
import hashlib
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts import errors
from contracts.canonical import b64encode
from contracts.merkle import (
    BadProof,
    batch_message,
    inclusion_path,
    leaf_hash,
    root,
    root_from_path,
    tree,
)
from services.bus.envelope import (
    GENESIS,
    Envelope,
    parse_proof,
    signing_bytes,
)
from services.bus.verification import StreamPosition
from tests.support.envelopes import ARRIVAL, Exchange, resign

pytestmark = pytest.mark.unit


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(f"envelope {i}".encode()) for i in range(n)]


def _reference_root(leaves: list[bytes]) -> bytes:
    """RFC 9162's Merkle tree hash written out from its definition, as a second reading."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    left, right = _reference_root(leaves[:k]), _reference_root(leaves[k:])
    return hashlib.sha256(b"\x01" + left + right).digest()


@given(st.integers(min_value=1, max_value=70), st.data())
def test_every_leaf_proves_its_way_to_the_root(size: int, data: st.DataObject) -> None:
    leaves = _leaves(size)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    path = inclusion_path(leaves, index)
    batch_root, paths = tree(leaves)
    assert paths[index] == path
    assert root(leaves) == batch_root == _reference_root(leaves)
    assert root_from_path(leaves[index], index, size, path) == root(leaves)


@given(st.integers(min_value=2, max_value=40), st.data())
def test_a_proof_does_not_lead_to_the_root_from_another_place(
    size: int, data: st.DataObject
) -> None:
    leaves = _leaves(size)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    other = data.draw(st.integers(min_value=0, max_value=size - 1).filter(lambda i: i != index))
    path = inclusion_path(leaves, index)
    assert root_from_path(leaves[other], index, size, path) != root(leaves)
    with contextlib.suppress(BadProof):  # or the path has the wrong length for that place
        assert root_from_path(leaves[index], other, size, path) != root(leaves)


def test_a_path_of_the_wrong_length_or_a_place_outside_the_batch_is_refused() -> None:
    leaves = _leaves(5)
    path = inclusion_path(leaves, 2)
    with pytest.raises(BadProof):
        root_from_path(leaves[2], 2, 5, path[:-1])
    with pytest.raises(BadProof):
        root_from_path(leaves[2], 2, 5, [*path, path[0]])
    with pytest.raises(BadProof):
        root_from_path(leaves[2], 5, 5, path)


def test_a_leaf_and_an_inner_node_never_hash_alike() -> None:
    left, right = _leaves(2)
    assert leaf_hash(left + right) != root([left, right])


def test_a_leaf_hashed_in_parts_hashes_as_the_whole() -> None:
    leaf = b'{"agreement":"a@1","seq":1}'
    assert leaf_hash(leaf[:5], memoryview(leaf)[5:9], leaf[9:]) == leaf_hash(leaf)
    assert leaf_hash(leaf) == hashlib.sha256(b"\x00" + leaf).digest()


def test_signed_bytes_cut_from_the_wire_are_the_document_without_signature_and_proof() -> None:
    for envelope in [*Exchange(batch_signing=8).batch(3), Exchange().envelope()]:
        received = Envelope.from_wire(envelope.wire_bytes())
        assert received.signed_bytes() == signing_bytes(received.document())
        assert received.chain_hash() == envelope.chain_hash()


def test_a_batch_shares_one_signature_and_each_envelope_verifies_alone() -> None:
    exchange = Exchange(batch_signing=8)
    batch = exchange.batch(5)
    assert len({e.signature for e in batch}) == 1
    assert [e.batch_size for e in batch] == [5] * 5
    position = StreamPosition()
    for envelope in batch:
        assert Envelope.from_wire(envelope.wire_bytes()).wire_bytes() == envelope.wire_bytes()
        verified = exchange.verify(envelope.wire_bytes(), ARRIVAL, position)
        assert verified.event.parties[0].id_number is not None  # type: ignore[attr-defined]
        position = StreamPosition(envelope.seq, verified.envelope.chain_hash())
    # Out of order and in a fresh verifier, each still verifies on its own.
    assert exchange.verifier().verify(batch[3].wire_bytes(), ARRIVAL).envelope.seq == 4


def test_the_chain_of_a_batch_runs_through_its_leaf_hashes() -> None:
    batch = Exchange(batch_signing=8).batch(3)
    assert batch[0].prev == GENESIS
    for before, after in itertools.pairwise(batch):
        assert after.prev == before.chain_hash() == leaf_hash(before.signed_bytes()).hex()
    index, size, path = parse_proof(batch[2].proof or "")
    assert (index, size, len(path)) == (2, 3, 1)


def test_a_batch_signature_is_refused_where_the_agreement_does_not_provide_for_it() -> None:
    exchange = Exchange(batch_signing=8)
    signed_in_batch = exchange.batch(2)[0]
    plain = Exchange(dalang=exchange.dalang, qianfeng=exchange.qianfeng)
    with pytest.raises(errors.BadSignature, match="does not provide for batch signatures"):
        plain.verify(signed_in_batch.wire_bytes())


def test_a_batch_larger_than_the_agreement_allows_is_refused() -> None:
    exchange = Exchange(batch_signing=8)
    big = Exchange(dalang=exchange.dalang, qianfeng=exchange.qianfeng, batch_signing=16).batch(9)
    with pytest.raises(errors.BadSignature, match="a batch of 9"):
        exchange.verify(big[0].wire_bytes())


def test_a_changed_byte_anywhere_in_one_envelope_of_a_batch_fails_its_signature() -> None:
    exchange = Exchange(batch_signing=8)
    batch = exchange.batch(4)
    key = exchange.dalang.sig
    forged = resign(batch[1], key, subject="DL-forged")  # a single signature over the change
    with pytest.raises(errors.BadSignature):
        exchange.verify(forged)
    document = batch[1].document() | {"subject": "DL-forged"}
    altered = Envelope.from_document(document).wire_bytes()
    with pytest.raises(errors.BadSignature):
        exchange.verify(altered)


@pytest.mark.parametrize(
    ("place", "flip"),
    [("1:4:", False), ("0:4:", False), ("4:4:", False), ("1:3:", False), ("1:4:", True)],
    ids=["path-dropped", "other-place", "outside", "other-size", "path-byte-changed"],
)
def test_a_proof_that_does_not_lead_to_the_signed_root_is_refused(place: str, flip: bool) -> None:
    exchange = Exchange(batch_signing=8)
    envelope = exchange.batch(4)[1]
    _, _, path = parse_proof(envelope.proof or "")
    hashes = b"".join(path)
    if flip:
        hashes = bytes([hashes[0] ^ 1]) + hashes[1:]
    proof = place if place == "1:4:" and not flip else place + b64encode(hashes)
    document = envelope.document() | {"proof": proof}
    with pytest.raises(errors.BadSignature):
        exchange.verify(Envelope.from_document(document).wire_bytes())


def test_a_malformed_proof_is_refused_as_malformed() -> None:
    exchange = Exchange(batch_signing=8)
    envelope = exchange.batch(2)[0]
    for proof in ("0:2", "00:2:", "0:2:!!", "a:b:"):
        with pytest.raises(errors.MalformedEnvelope):
            Envelope.from_document(envelope.document() | {"proof": proof})


def test_the_batch_message_binds_the_batch_size_and_its_context() -> None:
    digest = bytes(32)
    assert batch_message(3, digest) != batch_message(4, digest)
    assert batch_message(3, digest).startswith(b"fengqiao batch v1\x00")
    assert not batch_message(3, digest).startswith(b"{")
