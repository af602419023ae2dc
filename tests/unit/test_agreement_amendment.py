import shutil
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts import AGREEMENTS_DIR
from contracts.agreement import AgreementBook, SigningRefused, load_agreement
from contracts.agreement_text import amendment_path, amendment_text, sign_file
from contracts.canonical import b64encode
from contracts.keys import key_id, public_raw, read_signing_key

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
