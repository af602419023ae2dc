import shutil
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts import AGREEMENTS_DIR
from contracts.agreement import (
    AgreementBook,
    SigningRefused,
    load_agreement,
    signed_only_with_new_keys,
)
from contracts.agreement_text import amendment_path, amendment_text, sign_file
from contracts.canonical import b64encode
from contracts.keys import key_id, public_raw, read_signing_key
from tests.unit.test_cli_agreement import fengqiao

ON = date(2026, 5, 1)
DEMO_KEYS = AGREEMENTS_DIR.parents[1] / "deploy" / "demo" / "keys"
OLD_DALANG_KID = "dongguan-dalang/sig/4aaa2ac3496692c5"


def _demo_key(jurisdiction: str) -> Ed25519PrivateKey:
    return read_signing_key(DEMO_KEYS / f"{jurisdiction}.sig.pem")


def _revoke_and_rotate(text: str, new_key: Ed25519PrivateKey) -> str:
    """Dalang's v2: its old signing key revoked from 2026-04-01, a new one added after it."""
    raw = public_raw(new_key)
    next_entry = '      - kid: "dongguan-dalang/enc/'  # the line after the old signing key
    assert text.count(next_entry) == 1
    edit = (
        '        revoked_at: "2026-04-01T00:00:00Z"\n'
        f'      - kid: "{key_id("dongguan-dalang", "sig", raw)}"\n'
        '        use: "sig"\n'
        f'        public: "{b64encode(raw)}"\n'
        '        valid_from: "2026-04-01T00:00:00Z"\n'
        '        valid_until: "2029-04-01T00:00:00Z"\n'
    )
    return text.replace(next_entry, edit + next_entry)


@pytest.fixture
def book_dir(tmp_path: Path) -> Path:
    shutil.copy(AGREEMENTS_DIR / "dalang-qianfeng.yaml", tmp_path)
    return tmp_path


def test_amendment_is_the_next_version_unsigned_with_every_comment_kept():
    v1 = (AGREEMENTS_DIR / "dalang-qianfeng.yaml").read_text(encoding="utf-8")

    v2 = amendment_text(v1)

    old, new = v1.splitlines(), v2.splitlines()
    assert new[new.index("version: 2") + 1] == "supersedes: 1"
    assert [line for line in old if line.startswith("#")] == [
        line for line in new if line.startswith("#")
    ]
    assert new[-1] == "signatures: []"


def test_amendment_file_sits_beside_the_original_with_its_version_in_the_name():
    original = AGREEMENTS_DIR / "dalang-qianfeng.yaml"

    assert amendment_path(original, 2).name == "dalang-qianfeng.v2.yaml"
    assert amendment_path(original.with_name("dalang-qianfeng.v2.yaml"), 3).name == (
        "dalang-qianfeng.v3.yaml"
    )


def test_amendment_revoking_a_key_takes_over_once_every_party_has_signed_it(book_dir):
    new_dalang = Ed25519PrivateKey.generate()
    v1_text = (book_dir / "dalang-qianfeng.yaml").read_text(encoding="utf-8")
    v2_path = book_dir / "dalang-qianfeng.v2.yaml"
    v2_path.write_text(_revoke_and_rotate(amendment_text(v1_text), new_dalang), encoding="utf-8")

    assert (
        AgreementBook.from_directory(book_dir).in_force("dalang-qianfeng", ON).agreement.version
        == 1
    )

    sign_file(v2_path, "dongguan-dalang", new_dalang)
    assert (
        AgreementBook.from_directory(book_dir).in_force("dalang-qianfeng", ON).agreement.version
        == 1
    )

    sign_file(v2_path, "guangan-qianfeng", _demo_key("guangan-qianfeng"))
    book = AgreementBook.from_directory(book_dir)
    in_force = book.in_force("dalang-qianfeng", ON)
    assert in_force is not None and in_force.agreement.version == 2
    assert in_force.agreement.supersedes == 1
    assert in_force.agreement.key(OLD_DALANG_KID)[1].revoked_at is not None

    v1 = load_agreement(book_dir / "dalang-qianfeng.yaml")  # the old version stays readable
    assert v1.in_force(ON) and sorted(book.versions("dalang-qianfeng")) == [1, 2]


def test_a_key_revoked_by_the_amendment_cannot_sign_it(book_dir):
    v2_path = book_dir / "dalang-qianfeng.v2.yaml"
    v1_text = (book_dir / "dalang-qianfeng.yaml").read_text(encoding="utf-8")
    v2_path.write_text(
        _revoke_and_rotate(amendment_text(v1_text), Ed25519PrivateKey.generate()),
        encoding="utf-8",
    )

    with pytest.raises(SigningRefused, match="revoked"):
        sign_file(v2_path, "dongguan-dalang", _demo_key("dongguan-dalang"))


def _with_key(text: str, jurisdiction: str, new_key: Ed25519PrivateKey) -> str:
    """The amendment's text with a signing key added under `jurisdiction`, by whoever drafts it."""
    raw = public_raw(new_key)
    enc_entry = f'      - kid: "{jurisdiction}/enc/'
    assert text.count(enc_entry) == 1
    entry = (
        f'      - kid: "{key_id(jurisdiction, "sig", raw)}"\n'
        '        use: "sig"\n'
        f'        public: "{b64encode(raw)}"\n'
        '        valid_from: "2026-04-01T00:00:00Z"\n'
        '        valid_until: "2029-04-01T00:00:00Z"\n'
    )
    return text.replace(enc_entry, entry + enc_entry)


def test_a_party_signing_an_amendment_only_with_a_key_new_in_it_is_named(book_dir):
    """Whoever drafts an amendment can list a key under another party's name and sign with it:
    the agreement is then signed by all, so `agreement verify` names the party to ask."""
    v1_text = (book_dir / "dalang-qianfeng.yaml").read_text(encoding="utf-8")
    v2_path = book_dir / "dalang-qianfeng.v2.yaml"
    planted = Ed25519PrivateKey.generate()  # Dalang's, listed as Qianfeng's
    v2_path.write_text(_with_key(amendment_text(v1_text), "guangan-qianfeng", planted), "utf-8")
    sign_file(v2_path, "dongguan-dalang", _demo_key("dongguan-dalang"))
    sign_file(v2_path, "guangan-qianfeng", planted)
    v1, v2 = load_agreement(book_dir / "dalang-qianfeng.yaml"), load_agreement(v2_path)

    assert v2.in_force(ON)  # as the design has it: every party's listed key signed
    assert signed_only_with_new_keys(v2, v1.agreement) == ["guangan-qianfeng"]
    verified = fengqiao("agreement", "verify", v2_path, "--on", ON.isoformat())
    assert verified.exit_code == 0
    assert (
        "warning: guangan-qianfeng signed dalang-qianfeng@2 only with a key version 1 does not "
        "list: confirm with guangan-qianfeng that the key is theirs before installing it"
    ) in verified.stderr


def test_an_amendment_signed_with_the_keys_of_the_version_before_names_nobody(book_dir):
    v1_text = (book_dir / "dalang-qianfeng.yaml").read_text(encoding="utf-8")
    v2_path = book_dir / "dalang-qianfeng.v2.yaml"
    rotated = _with_key(amendment_text(v1_text), "dongguan-dalang", Ed25519PrivateKey.generate())
    v2_path.write_text(rotated, encoding="utf-8")
    for jurisdiction in ("dongguan-dalang", "guangan-qianfeng"):
        sign_file(v2_path, jurisdiction, _demo_key(jurisdiction))
    v1, v2 = load_agreement(book_dir / "dalang-qianfeng.yaml"), load_agreement(v2_path)

    assert signed_only_with_new_keys(v2, v1.agreement) == []
    verified = fengqiao("agreement", "verify", v2_path, "--on", ON.isoformat())
    assert verified.exit_code == 0 and "warning: " not in verified.stderr
