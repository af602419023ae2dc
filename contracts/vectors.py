"""Test vectors: envelope and batch signatures, the hash chain, personal-data sealing, canonical
bytes.

`python -m contracts.vectors` writes contracts/test-vectors/*.json. Everything is fixed (key
seeds, event ids, times, nonces), so every run writes the same bytes. This module follows
docs/protocol.md using only `cryptography` and contracts.canonical, not the node's code: it is
a second reading of the protocol, and the tests hold services/bus to what it writes.
"""

import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from contracts import TEST_VECTORS_DIR
from contracts.canonical import b64decode, b64encode, canonical_bytes, sha256_hex
from contracts.keys import key_id, public_raw
from contracts.vector_cases import CANONICALISATION_CASES, PLAIN_DATA, SEALED_DATA, TRICKY_DATA

AGREEMENT = "test-vectors@1"
DALANG, QIANFENG = "dongguan-dalang", "guangan-qianfeng"
GENESIS = "0" * 64
SCHEMA = "https://fengqiao.example/contracts/dispute.reported/1.0"
PERSONAL_FIELDS = ["parties[].id_number", "parties[].phone", "parties[].address"]
HKDF_INFO = b"fengqiao personal-data v1"
SIGNED_TIME_MS = 1779273000000  # 2026-05-20T10:30:00.000Z


def _seed(label: str) -> bytes:
    return hashlib.sha256(f"fengqiao test vector {label}".encode()).digest()


def signing_key(party: str) -> Ed25519PrivateKey:
    """The fixed Ed25519 key of `party` in the vectors (never a real key)."""
    return Ed25519PrivateKey.from_private_bytes(_seed(f"{party} sig"))


def encryption_key(party: str) -> X25519PrivateKey:
    """The fixed X25519 key of `party` in the vectors (never a real key)."""
    return X25519PrivateKey.from_private_bytes(_seed(f"{party} enc"))


def _raw_private(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def event_id(n: int, ms: int = SIGNED_TIME_MS) -> str:
    """A fixed UUIDv7: 48-bit millisecond time, version 7, variant 10, counter `n`."""
    digits = f"{ms:012x}7{n:03x}8{n:015x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def unsigned_envelope(n: int, data: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A dispute.reported envelope from Dalang to Qianfeng, everything but `signature`."""
    ident = event_id(n)
    return {
        "specversion": "1.0",
        "id": ident,
        "source": DALANG,
        "type": "dispute.reported",
        "subject": "DL-2022-0001",
        "time": "2026-05-20T10:30:00.000Z",
        "dataschema": SCHEMA,
        "datacontenttype": "application/json",
        "agreement": AGREEMENT,
        "recipient": QIANFENG,
        "seq": 1,
        "prev": GENESIS,
        "correlation": ident,
        "kid": key_id(DALANG, "sig", public_raw(signing_key(DALANG))),
        "handling": "H2",
        "data": data,
    } | changes


def signature_vector(
    description: str, envelope: dict[str, Any], key: Ed25519PrivateKey | None = None
) -> dict[str, Any]:
    """A vector that must verify: the envelope, its canonical bytes, key, signature and hash."""
    key = key or signing_key(DALANG)
    canonical = canonical_bytes(envelope)
    signature = b64encode(key.sign(canonical))
    wire = canonical_bytes(envelope | {"signature": signature})
    return {
        "description": description,
        "envelope": envelope,
        "canonical_b64": b64encode(canonical),
        "private_key_b64": b64encode(_raw_private(key)),
        "public_key_b64": b64encode(public_raw(key)),
        "signature_b64": signature,
        "valid": True,
        "wire_b64": b64encode(wire),
        "chain_hash": sha256_hex(wire),
    }


_ONLY_WHEN_VALID = ("private_key_b64", "wire_b64", "chain_hash")


def failing(base: dict[str, Any], description: str, **changes: Any) -> dict[str, Any]:
    """A vector that must not verify, made from a good one (without its signer and wire)."""
    kept = {k: v for k, v in base.items() if k not in _ONLY_WHEN_VALID}
    return kept | {"description": description, "valid": False} | changes


def _content_key(shared: bytes, ident: str) -> bytes:
    salt = bytes.fromhex(ident.replace("-", ""))
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=HKDF_INFO).derive(shared)


def _seal_value(aes: AESGCM, ident: str, path: str, value: Any) -> dict[str, Any]:
    nonce = hashlib.sha256(f"nonce {path}".encode()).digest()[:12]
    plaintext = canonical_bytes(value)
    aad = f"{ident}|{path}"
    sealed = aes.encrypt(nonce, plaintext, aad.encode())
    return {
        "path": path,
        "plaintext_b64": b64encode(plaintext),
        "nonce_b64": b64encode(nonce),
        "aad": aad,
        "ciphertext_b64": b64encode(sealed),
        "sealed": "pd1:" + b64encode(nonce + sealed),
    }


def _personal_paths(data: dict[str, Any]) -> list[str]:
    """The concrete paths PERSONAL_FIELDS names in `data`, pattern by pattern."""
    parties = data["parties"]
    return [
        f"parties.{i}.{name}"
        for name in ("id_number", "phone", "address")
        for i, party in enumerate(parties)
        if party.get(name) is not None
    ]


def sealing_vector() -> dict[str, Any]:
    """The seed dispute with its personal fields sealed to Qianfeng, signed by Dalang."""
    ident = event_id(2)
    ephemeral = X25519PrivateKey.from_private_bytes(_seed("ephemeral"))
    recipient = encryption_key(QIANFENG)
    shared = ephemeral.exchange(recipient.public_key())
    content_key = _content_key(shared, ident)
    aes = AESGCM(content_key)
    data = json.loads(json.dumps(SEALED_DATA))
    fields = []
    for path in _personal_paths(SEALED_DATA):
        index, name = path.split(".")[1:]
        sealed = _seal_value(aes, ident, path, data["parties"][int(index)][name])
        data["parties"][int(index)][name] = sealed["sealed"]
        fields.append(sealed)
    pdkid = key_id(QIANFENG, "enc", public_raw(recipient))
    pdepk = b64encode(public_raw(ephemeral))
    envelope = unsigned_envelope(2, data, pdkid=pdkid, pdepk=pdepk)
    vector = signature_vector(
        "dispute.reported with personal fields sealed to the recipient (X25519, HKDF-SHA256, "
        "AES-256-GCM): opening each `sealed` value with the recipient's key gives `plain_data`",
        envelope,
    )
    swapped = [fields[0]["path"], fields[1]["sealed"]]
    vector["sealing"] = {
        "patterns": PERSONAL_FIELDS,
        "recipient_kid": pdkid,
        "recipient_private_b64": b64encode(_raw_private(recipient)),
        "recipient_public_b64": b64encode(public_raw(recipient)),
        "ephemeral_private_b64": b64encode(_raw_private(ephemeral)),
        "ephemeral_public_b64": pdepk,
        "shared_secret_b64": b64encode(shared),
        "hkdf_salt_hex": ident.replace("-", ""),
        "hkdf_info": HKDF_INFO.decode(),
        "content_key_b64": b64encode(content_key),
        "plain_data": SEALED_DATA,
        "fields": fields,
        "must_not_open": [
            {"path": swapped[0], "sealed": swapped[1], "why": "sealed for another path (AAD)"},
            {
                "path": fields[0]["path"],
                "sealed": _flip_last_base64_byte(fields[0]["sealed"]),
                "why": "last byte of the tag changed",
            },
        ],
    }
    return vector


def _flip_last_base64_byte(sealed: str) -> str:
    blob = bytearray(b64decode(sealed.removeprefix("pd1:")))
    blob[-1] ^= 0x01
    return "pd1:" + b64encode(bytes(blob))


def _signed_other_bytes(base: dict[str, Any], description: str, text: bytes) -> dict[str, Any]:
    """The signer signed `text`, a non-canonical spelling of the envelope: it must fail."""
    signature = signing_key(DALANG).sign(text)
    return failing(
        base, description, signed_b64=b64encode(text), signature_b64=b64encode(signature)
    )


def chain_vectors() -> dict[str, dict[str, Any]]:
    """Two envelopes of one stream: the second's `prev` is the first's chain hash."""
    data = PLAIN_DATA
    first = signature_vector(
        "first envelope of the Dalang -> Qianfeng stream: seq 1, prev = 64 zeros",
        unsigned_envelope(10, data, subject="DL-2022-0010"),
    )
    second = signature_vector(
        "second envelope of the stream: seq 2, prev = chain_hash of chain-1.json",
        unsigned_envelope(11, data, subject="DL-2022-0011", seq=2, prev=first["chain_hash"]),
    )
    return {"chain-1.json": first, "chain-2.json": second}


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def batch_vector() -> dict[str, Any]:
    """Three envelopes of one stream signed together: one signature over their Merkle root.

    The tree of three is written out by hand (RFC 9162: leaf = SHA-256(0x00 || signed bytes),
    node = SHA-256(0x01 || left || right), three leaves split two and one).
    """
    key = signing_key(DALANG)
    envelopes, signed, leaves, prev = [], [], [], GENESIS
    for n in range(3):
        envelope = unsigned_envelope(
            20 + n, PLAIN_DATA, subject=f"DL-2022-{20 + n:04d}", seq=1 + n, prev=prev
        )
        canonical = canonical_bytes(envelope)
        leaf = _h(b"\x00" + canonical)
        envelopes.append(envelope)
        signed.append(canonical)
        leaves.append(leaf)
        prev = leaf.hex()
    left = _h(b"\x01" + leaves[0] + leaves[1])
    batch_root = _h(b"\x01" + left + leaves[2])
    paths = [[leaves[1], leaves[2]], [leaves[0], leaves[2]], [left]]
    message = b"fengqiao batch v1\x00" + (3).to_bytes(4, "big") + batch_root
    signature = b64encode(key.sign(message))
    members: list[dict[str, Any]] = []
    for index, (envelope, canonical, leaf) in enumerate(
        zip(envelopes, signed, leaves, strict=True)
    ):
        proof = f"{index}:3:{b64encode(b''.join(paths[index]))}"
        wire = canonical_bytes(envelope | {"proof": proof, "signature": signature})
        members.append(
            {
                "envelope": envelope,
                "canonical_b64": b64encode(canonical),
                "leaf_hash": leaf.hex(),
                "proof": proof,
                "wire_b64": b64encode(wire),
                "chain_hash": leaf.hex(),
            }
        )
    wrong_place = str(members[1]["proof"]).replace("1:3:", "0:3:", 1)
    return {
        "description": "three dispute.reported envelopes of one stream (seq 1-3) signed as one "
        "batch: each envelope's `prev` is the leaf hash of the one before; each verifies alone "
        "by folding its proof into the root and checking one signature over batch_message",
        "public_key_b64": b64encode(public_raw(key)),
        "private_key_b64": b64encode(_raw_private(key)),
        "root_hex": batch_root.hex(),
        "batch_message_b64": b64encode(message),
        "signature_b64": signature,
        "envelopes": members,
        "must_not_verify": [
            {
                "envelope_index": 1,
                "proof": wrong_place,
                "why": "the second envelope's path given as the first's place: another root",
            },
            {
                "envelope_index": 2,
                "proof": "2:3:",
                "why": "the path left out: shorter than the tree is deep",
            },
        ],
    }


def signature_vectors() -> dict[str, dict[str, Any]]:
    """Every envelope vector, by file name."""
    good = signature_vector(
        "dispute.reported without personal fields, signed by Dalang: verifies",
        unsigned_envelope(1, PLAIN_DATA),
    )
    envelope = good["envelope"]
    tampered = envelope | {"data": envelope["data"] | {"risk": "low"}}
    signature = good["signature_b64"]
    twin = signature[:85] + _neighbour(signature[85]) + "=="
    return {
        "envelope-valid.json": good,
        "envelope-valid-sealed.json": sealing_vector(),
        "envelope-valid-unicode-numbers.json": signature_vector(
            "data with non-ASCII member names, escapes and numbers: canonical bytes per RFC 8785",
            unsigned_envelope(3, TRICKY_DATA),
        ),
        "envelope-invalid-altered-field.json": failing(
            good,
            "data.risk changed from medium to low after signing: must not verify",
            envelope=tampered,
            canonical_b64=b64encode(canonical_bytes(tampered)),
        ),
        "envelope-invalid-wrong-key.json": failing(
            good,
            "verified with Qianfeng's signing key instead of Dalang's: must not verify",
            public_key_b64=b64encode(public_raw(signing_key(QIANFENG))),
        ),
        "envelope-invalid-key-order.json": _signed_other_bytes(
            good,
            "signed over the members in their written order, not sorted: must not verify "
            "(signed_b64 holds the bytes that were signed)",
            json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode(),
        ),
        "envelope-invalid-whitespace.json": _signed_other_bytes(
            good,
            "signed over sorted members with whitespace: must not verify",
            json.dumps(envelope, indent=2, sort_keys=True, ensure_ascii=False).encode(),
        ),
        "envelope-invalid-truncated-signature.json": failing(
            good,
            "signature cut to its first 63 bytes: must not verify",
            signature_b64=b64encode(b64decode(signature)[:63]),
        ),
        "envelope-invalid-noncanonical-base64.json": failing(
            good,
            "signature text with non-zero padding bits: lenient base64 decoders read the right "
            "64 bytes, but only canonical base64 is accepted: must not verify",
            signature_b64=twin,
        ),
    } | chain_vectors()


def _neighbour(char: str) -> str:
    """The base64 digit that differs from `char` only in its lowest bit."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    return alphabet[alphabet.index(char) ^ 1]


def canonicalisation_vector() -> dict[str, Any]:
    """JSON texts and their RFC 8785 bytes; `valid: false` texts must be refused."""
    cases = []
    for description, text, valid in CANONICALISATION_CASES:
        case: dict[str, Any] = {"description": description, "input": text, "valid": valid}
        if valid:
            canonical = canonical_bytes(json.loads(text, parse_int=_number))
            case |= {"canonical": canonical.decode(), "canonical_b64": b64encode(canonical)}
        cases.append(case)
    return {
        "description": "RFC 8785 canonical bytes: parse `input`, canonicalise, compare with "
        "`canonical_b64`; refuse every case marked valid: false",
        "cases": cases,
    }


def _number(text: str) -> int | float:
    """RFC 8785 reads every number as a double; Python's int is the same double up to 2**53."""
    value = int(text)
    return value if abs(value) < 2**53 else float(value)


def build() -> dict[str, str]:
    """Every vector file's name and exact text."""
    files: dict[str, Any] = signature_vectors() | {
        "canonicalisation.json": canonicalisation_vector(),
        "batch-signed.json": batch_vector(),
    }
    return {name: _text(body) for name, body in sorted(files.items())}


def _text(body: dict[str, Any]) -> str:
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


def write(directory: Path = TEST_VECTORS_DIR, out: Callable[[str], None] = print) -> None:
    """Write every vector file into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in build().items():
        (directory / name).write_text(text, encoding="utf-8")
        out(f"wrote {directory / name}")


if __name__ == "__main__":
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else TEST_VECTORS_DIR)
