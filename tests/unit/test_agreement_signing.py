from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts import AGREEMENTS_DIR
from contracts.agreement import (
    AgreementFileError,
    PartySignature,
    SigningRefused,
    parse_agreement,
    sign_agreement,
)
from contracts.agreement_text import sign_file, write_signatures
from contracts.keys import read_signing_key

ON = date(2026, 5, 1)
DEMO_KEYS = AGREEMENTS_DIR.parents[1] / "deploy" / "demo" / "keys"
SHIPPED = AGREEMENTS_DIR / "dalang-qianfeng.yaml"


def _demo_key(jurisdiction: str) -> Ed25519PrivateKey:
    return read_signing_key(DEMO_KEYS / f"{jurisdiction}.sig.pem")


def _unsigned_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "dalang-qianfeng.yaml"
    copy.write_text(write_signatures(SHIPPED.read_text(encoding="utf-8"), []), encoding="utf-8")
    return copy


def test_signing_rewrites_only_the_signatures_block(tmp_path):
    copy = _unsigned_copy(tmp_path)
    before = copy.read_text(encoding="utf-8").splitlines()

    sign_file(copy, "dongguan-dalang", _demo_key("dongguan-dalang"))

    after = copy.read_text(encoding="utf-8").splitlines()
    head = before.index("signatures: []")
    assert after[:head] == before[:head]  # every comment and value above, as written
    assert after[head] == "signatures:"
    assert after[head + 1] == '  - party: "dongguan-dalang"'


def test_each_party_signs_in_turn_and_then_the_file_is_in_force(tmp_path):
    copy = _unsigned_copy(tmp_path)

    first = sign_file(copy, "dongguan-dalang", _demo_key("dongguan-dalang"))
    second = sign_file(copy, "guangan-qianfeng", _demo_key("guangan-qianfeng"))

    assert first.problems(ON) == ["not signed by guangan-qianfeng"]
    assert second.in_force(ON)


def test_signing_again_replaces_the_partys_earlier_signature(tmp_path):
    copy = _unsigned_copy(tmp_path)
    sign_file(copy, "dongguan-dalang", _demo_key("dongguan-dalang"))

    again = sign_file(copy, "dongguan-dalang", _demo_key("dongguan-dalang"))

    assert [s.party for s in again.agreement.signatures] == ["dongguan-dalang"]


def test_a_key_not_listed_in_the_agreement_cannot_sign():
    loaded = parse_agreement(SHIPPED.read_text(encoding="utf-8"))

    with pytest.raises(SigningRefused, match="not listed"):
        sign_agreement(loaded, "dongguan-dalang", Ed25519PrivateKey.generate())


def test_a_party_cannot_sign_with_another_partys_key():
    loaded = parse_agreement(SHIPPED.read_text(encoding="utf-8"))

    with pytest.raises(SigningRefused, match="belongs to another party"):
        sign_agreement(loaded, "guangan-qianfeng", _demo_key("dongguan-dalang"))


def test_only_a_party_can_sign():
    loaded = parse_agreement(SHIPPED.read_text(encoding="utf-8"))

    with pytest.raises(SigningRefused, match="shenzhen-longgang is not a party"):
        sign_agreement(loaded, "shenzhen-longgang", _demo_key("shenzhen-longgang"))


def test_signatures_block_in_the_middle_of_the_file_is_replaced_in_place():
    text = SHIPPED.read_text(encoding="utf-8")
    body, _, _ = text.partition("# --- Signatures")
    moved = "signatures: []\n\n# kept: the comment above personal data\n" + body.replace(
        "# --- Personal data", "# --- Personal data (moved)"
    )
    signature = PartySignature(party="dongguan-dalang", kid="x", signature="AA==")

    rewritten = write_signatures(moved, [signature])

    assert rewritten.startswith('signatures:\n  - party: "dongguan-dalang"\n')
    assert "\n\n# kept: the comment above personal data\n" in rewritten
    assert rewritten.endswith(body.replace("# --- Personal data", "# --- Personal data (moved)"))


def test_a_file_without_signatures_gets_a_block_at_the_end():
    text = SHIPPED.read_text(encoding="utf-8").partition("# --- Signatures")[0].rstrip() + "\n\n\n"

    rewritten = write_signatures(text, [])

    assert rewritten == text.rstrip() + "\n\nsignatures: []\n"


def test_a_file_whose_signatures_cannot_be_rewritten_safely_is_left_alone():
    text = 'id: x\nsignatures: []\n"version": 1\n'  # a quoted key looks like part of the block
    signature = PartySignature(party="dongguan-dalang", kid="x", signature="AA==")

    with pytest.raises(AgreementFileError, match="signed part"):
        write_signatures(text, [signature])
