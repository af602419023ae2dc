"""The node against contracts/test-vectors: the files another bureau checks its own code with."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from contracts import TEST_VECTORS_DIR, errors, vectors
from contracts.agreement import AgreementBook, LoadedAgreement
from contracts.canonical import b64decode, b64encode, canonical_bytes
from contracts.events.disputes import DisputeReportedV1
from contracts.keys import key_id, public_raw, signature_valid
from contracts.registry import ContractRegistry
from services.bus import personal_data
from services.bus.envelope import Envelope, parse_document, signing_bytes
from services.bus.verification import StreamPosition, Verifier
from tests.support.trust import Bureau, agreement_document, flow, sign_document

ENVELOPE_FILES = sorted(
    p.name
    for p in TEST_VECTORS_DIR.glob("*.json")
    if p.name not in ("canonicalisation.json", "batch-signed.json")
)
ARRIVAL = datetime(2026, 5, 20, 10, 30, 1, tzinfo=UTC)


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((TEST_VECTORS_DIR / name).read_text(encoding="utf-8"))
    return loaded


def _signature_verifies(vector: dict[str, Any]) -> bool:
    try:
        public, signature = b64decode(vector["public_key_b64"]), b64decode(vector["signature_b64"])
    except ValueError:
        return False
    return signature_valid(public, signature, b64decode(vector["canonical_b64"]))


def _wire(vector: dict[str, Any]) -> bytes:
    return canonical_bytes(vector["envelope"] | {"signature": vector["signature_b64"]})


def _vector_agreement(batch_signing: int | None = None) -> LoadedAgreement:
    dalang = Bureau(
        vectors.DALANG,
        sig=vectors.signing_key(vectors.DALANG),
        enc=vectors.encryption_key(vectors.DALANG),
    )
    qianfeng = Bureau(
        vectors.QIANFENG,
        sig=vectors.signing_key(vectors.QIANFENG),
        enc=vectors.encryption_key(vectors.QIANFENG),
    )
    document = agreement_document(
        [dalang, qianfeng],
        [flow("dispute.reported", [dalang, qianfeng], handling="H2")],
        {"dispute.reported": vectors.PERSONAL_FIELDS},
        agreement_id="test-vectors",
        batch_signing=batch_signing,
    )
    return sign_document(document, [dalang, qianfeng])


@pytest.fixture(scope="module")
def qianfeng_node() -> Verifier:
    enc = vectors.encryption_key(vectors.QIANFENG)
    return Verifier(
        me=vectors.QIANFENG,
        agreements=AgreementBook([_vector_agreement()]),
        contracts=ContractRegistry([DisputeReportedV1]),
        encryption_keys={key_id(vectors.QIANFENG, "enc", public_raw(enc)): enc},
    )


def test_vector_files_are_exactly_what_the_generator_writes() -> None:
    built = vectors.build()
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in TEST_VECTORS_DIR.glob("*.json")}
    assert sorted(on_disk) == sorted(built)
    for name, text in built.items():
        assert on_disk[name] == text, f"{name} differs: run python -m contracts.vectors"


def test_generator_writes_the_same_bytes_every_time(tmp_path: Path) -> None:
    vectors.write(tmp_path, out=lambda _line: None)
    again = vectors.build()
    assert {p.name: p.read_text(encoding="utf-8") for p in tmp_path.iterdir()} == again


def test_vectors_cover_what_an_implementation_must_refuse() -> None:
    verdicts = {name: _load(name)["valid"] for name in ENVELOPE_FILES}
    assert sum(verdicts.values()) >= 4 and len(verdicts) - sum(verdicts.values()) >= 6
    for name in ("altered-field", "wrong-key", "key-order", "whitespace", "truncated-signature"):
        assert verdicts[f"envelope-invalid-{name}.json"] is False


@pytest.mark.parametrize("name", ENVELOPE_FILES)
def test_canonical_bytes_of_the_envelope_equal_the_vectors(name: str) -> None:
    vector = _load(name)
    assert canonical_bytes(vector["envelope"]) == b64decode(vector["canonical_b64"])
    document = vector["envelope"] | {"signature": vector["signature_b64"]}
    assert signing_bytes(document) == b64decode(vector["canonical_b64"])


@pytest.mark.parametrize("name", ENVELOPE_FILES)
def test_signature_verifies_exactly_when_the_vector_says_valid(name: str) -> None:
    vector = _load(name)
    assert _signature_verifies(vector) is vector["valid"]


@pytest.mark.parametrize("name", [n for n in ENVELOPE_FILES if "signed_b64" in _load(n)])
def test_signature_over_non_canonical_bytes_is_over_other_bytes(name: str) -> None:
    vector = _load(name)
    signed = b64decode(vector["signed_b64"])
    assert signed != b64decode(vector["canonical_b64"])
    assert json.loads(signed) == vector["envelope"]
    public = b64decode(vector["public_key_b64"])
    assert signature_valid(public, b64decode(vector["signature_b64"]), signed)


@pytest.mark.parametrize("name", [n for n in ENVELOPE_FILES if _load(n)["valid"]])
def test_valid_vector_is_reproduced_and_accepted_by_this_node(
    name: str, qianfeng_node: Verifier
) -> None:
    vector = _load(name)
    key = Ed25519PrivateKey.from_private_bytes(b64decode(vector["private_key_b64"]))
    assert b64encode(key.sign(b64decode(vector["canonical_b64"]))) == vector["signature_b64"]
    envelope = Envelope.from_document(parse_document(b64decode(vector["wire_b64"])))
    assert envelope.wire_bytes() == b64decode(vector["wire_b64"]) == _wire(vector)
    assert envelope.chain_hash() == vector["chain_hash"]
    assert qianfeng_node.verify(_wire(vector), ARRIVAL).envelope.id == vector["envelope"]["id"]


@pytest.mark.parametrize(
    "name", [n for n in ENVELOPE_FILES if not _load(n)["valid"] and "wrong-key" not in n]
)
def test_invalid_vector_is_refused_by_this_node_with_bad_signature(
    name: str, qianfeng_node: Verifier
) -> None:
    with pytest.raises(errors.BadSignature):
        qianfeng_node.verify(_wire(_load(name)), ARRIVAL)


def test_chain_vectors_link_and_verify_in_stream_order(qianfeng_node: Verifier) -> None:
    first, second = _load("chain-1.json"), _load("chain-2.json")
    assert first["envelope"]["prev"] == "0" * 64 and first["envelope"]["seq"] == 1
    assert second["envelope"]["prev"] == first["chain_hash"] and second["envelope"]["seq"] == 2
    applied = qianfeng_node.verify(_wire(first), ARRIVAL, StreamPosition())
    position = StreamPosition(seq=1, head=applied.envelope.chain_hash())
    assert qianfeng_node.verify(_wire(second), ARRIVAL, position).envelope.seq == 2
    with pytest.raises(errors.ChainBreak):
        qianfeng_node.verify(_wire(second), ARRIVAL, StreamPosition(seq=1, head="f" * 64))


def _sealing() -> dict[str, Any]:
    sealing: dict[str, Any] = _load("envelope-valid-sealed.json")["sealing"]
    return sealing


def test_sealing_vector_paths_follow_the_path_grammar() -> None:
    sealing = _sealing()
    paths = [
        path
        for pattern in sealing["patterns"]
        for path, _, _ in personal_data.locate(sealing["plain_data"], pattern)
    ]
    assert paths == [f["path"] for f in sealing["fields"]]


def test_sealing_with_the_vectors_ephemeral_key_and_nonces_gives_the_vectors_ciphertexts() -> None:
    vector = _load("envelope-valid-sealed.json")
    sealing = vector["sealing"]
    nonces = {f["path"]: b64decode(f["nonce_b64"]) for f in sealing["fields"]}
    ephemeral = X25519PrivateKey.from_private_bytes(b64decode(sealing["ephemeral_private_b64"]))
    recipient = X25519PublicKey.from_public_bytes(b64decode(sealing["recipient_public_b64"]))
    sealed, pdepk = personal_data._seal(
        sealing["plain_data"],
        sealing["patterns"],
        vector["envelope"]["id"],
        recipient,
        lambda: ephemeral,
        nonces.__getitem__,
    )
    assert sealed == vector["envelope"]["data"]
    assert pdepk == vector["envelope"]["pdepk"] == sealing["ephemeral_public_b64"]


def test_opening_the_sealed_vector_gives_the_plain_data() -> None:
    vector = _load("envelope-valid-sealed.json")
    sealing = vector["sealing"]
    own = X25519PrivateKey.from_private_bytes(b64decode(sealing["recipient_private_b64"]))
    envelope = vector["envelope"]
    opened = personal_data.open_fields(
        envelope["data"], sealing["patterns"], envelope["id"], envelope["pdepk"], own
    )
    assert opened == sealing["plain_data"]
    for field in sealing["fields"]:
        assert b64decode(field["nonce_b64"]) + b64decode(field["ciphertext_b64"]) == b64decode(
            field["sealed"].removeprefix("pd1:")
        )
        assert field["aad"] == f"{envelope['id']}|{field['path']}"


@pytest.mark.parametrize("case", range(2))
def test_sealed_values_the_vector_marks_must_not_open_do_not(case: int) -> None:
    vector = _load("envelope-valid-sealed.json")
    sealing, envelope = vector["sealing"], vector["envelope"]
    bad = sealing["must_not_open"][case]
    index, name = bad["path"].split(".")[1:]
    data = json.loads(json.dumps(envelope["data"]))
    data["parties"][int(index)][name] = bad["sealed"]
    own = X25519PrivateKey.from_private_bytes(b64decode(sealing["recipient_private_b64"]))
    with pytest.raises(errors.DecryptionFailed):
        personal_data.open_fields(data, sealing["patterns"], envelope["id"], envelope["pdepk"], own)


CANONICAL_CASES = _load("canonicalisation.json")["cases"]


@pytest.mark.parametrize(
    "case", [c for c in CANONICAL_CASES if c["valid"]], ids=lambda c: c["description"][:40]
)
def test_canonical_bytes_of_each_json_text_equal_the_vectors(case: dict[str, Any]) -> None:
    canonical = canonical_bytes(parse_document(case["input"].encode()))
    assert canonical == b64decode(case["canonical_b64"])
    assert canonical.decode() == case["canonical"]


@pytest.mark.parametrize(
    "case", [c for c in CANONICAL_CASES if not c["valid"]], ids=lambda c: c["description"][:40]
)
def test_json_texts_the_vectors_refuse_are_refused(case: dict[str, Any]) -> None:
    with pytest.raises((errors.MalformedEnvelope, ValueError)):
        canonical_bytes(parse_document(case["input"].encode()))


def test_batch_vector_verifies_each_envelope_alone_and_chains_by_leaf_hash() -> None:
    vector = _load("batch-signed.json")
    enc = vectors.encryption_key(vectors.QIANFENG)
    node = Verifier(
        me=vectors.QIANFENG,
        agreements=AgreementBook([_vector_agreement(batch_signing=4)]),
        contracts=ContractRegistry([DisputeReportedV1]),
        encryption_keys={key_id(vectors.QIANFENG, "enc", public_raw(enc)): enc},
    )
    public = b64decode(vector["public_key_b64"])
    message = b64decode(vector["batch_message_b64"])
    assert message == b"fengqiao batch v1\x00\x00\x00\x00\x03" + bytes.fromhex(vector["root_hex"])
    assert signature_valid(public, b64decode(vector["signature_b64"]), message)
    position = StreamPosition()
    for member in vector["envelopes"]:
        envelope = Envelope.from_wire(b64decode(member["wire_b64"]))
        assert envelope.signed_bytes() == b64decode(member["canonical_b64"])
        assert envelope.chain_hash() == member["chain_hash"] == member["leaf_hash"]
        assert envelope.signature_message() == message
        verified = node.verify(envelope.wire_bytes(), ARRIVAL, position)
        position = StreamPosition(verified.envelope.seq, verified.envelope.chain_hash())
    for bad in vector["must_not_verify"]:
        member = vector["envelopes"][bad["envelope_index"]]
        document = member["envelope"] | {
            "proof": bad["proof"],
            "signature": vector["signature_b64"],
        }
        with pytest.raises(errors.BadSignature):
            node.verify(canonical_bytes(document), ARRIVAL)
    # Where the agreement does not provide for batches, the same bytes are refused.
    with pytest.raises(errors.BadSignature, match="batch"):
        Verifier(
            me=vectors.QIANFENG,
            agreements=AgreementBook([_vector_agreement()]),
            contracts=ContractRegistry([DisputeReportedV1]),
            encryption_keys={},
        ).verify(b64decode(vector["envelopes"][0]["wire_b64"]), ARRIVAL)
