"""Material files: the content-addressed store, and files sealed for the recipient."""

import hashlib
import os

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from services.registry.materials import (
    MAGIC,
    MaterialCorrupt,
    MaterialDigestMismatch,
    MaterialMissing,
    MaterialSealBroken,
    MaterialStore,
    NotADigest,
    _seal,
    open_material,
    seal_material,
)

REQUEST = "dongguan-dalang:20260520-0a1b2c3d"
SCAN = b"%PDF-1.7 household register booklet, page 1" + bytes(range(256)) * 64
DIGEST = hashlib.sha256(SCAN).hexdigest()


@pytest.fixture
def qianfeng() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


def test_a_file_is_kept_under_its_sha256_in_the_materials_directory(tmp_path):
    store = MaterialStore.in_data_dir(tmp_path)
    assert store.put(SCAN) == DIGEST
    assert (tmp_path / "materials" / DIGEST).read_bytes() == SCAN
    assert store.get(DIGEST) == SCAN and store.has(DIGEST)


def test_keeping_the_same_file_twice_keeps_one_file_and_no_temporaries(tmp_path):
    store = MaterialStore.in_data_dir(tmp_path)
    store.put(SCAN)
    store.put(SCAN)
    assert os.listdir(tmp_path / "materials") == [DIGEST]


def test_kept_files_are_readable_by_the_node_only(tmp_path):
    store = MaterialStore.in_data_dir(tmp_path)
    store.put(SCAN)
    assert (tmp_path / "materials" / DIGEST).stat().st_mode & 0o077 == 0
    assert (tmp_path / "materials").stat().st_mode & 0o077 == 0


def test_a_file_not_in_the_store_is_missing(tmp_path):
    store = MaterialStore.in_data_dir(tmp_path)
    assert not store.has(DIGEST)
    with pytest.raises(MaterialMissing):
        store.get(DIGEST)


def test_a_stored_file_changed_on_disk_is_reported_corrupt(tmp_path):
    store = MaterialStore.in_data_dir(tmp_path)
    store.put(SCAN)
    (tmp_path / "materials" / DIGEST).write_bytes(SCAN + b"!")
    with pytest.raises(MaterialCorrupt):
        store.get(DIGEST)


@pytest.mark.parametrize("name", ["../../etc/passwd", DIGEST.upper(), DIGEST[:-1], ""])
def test_a_name_that_is_not_a_digest_never_becomes_a_path(tmp_path, name):
    with pytest.raises(NotADigest):
        MaterialStore.in_data_dir(tmp_path).get(name)


def test_a_sealed_file_opens_for_its_recipient_request_and_digest(qianfeng):
    sealed = seal_material(SCAN, REQUEST, qianfeng.public_key())
    assert sealed.startswith(MAGIC) and SCAN[:40] not in sealed
    assert open_material(sealed, REQUEST, DIGEST, qianfeng) == SCAN


def test_each_sealing_uses_a_fresh_key_so_two_seals_differ(qianfeng):
    public = qianfeng.public_key()
    assert seal_material(SCAN, REQUEST, public) != seal_material(SCAN, REQUEST, public)


@pytest.mark.parametrize("where", [4, 4 + 32, 4 + 32 + 12, -1], ids=["key", "nonce", "body", "tag"])
def test_a_tampered_byte_anywhere_fails_to_open(qianfeng, where):
    sealed = bytearray(seal_material(SCAN, REQUEST, qianfeng.public_key()))
    sealed[where] ^= 0x01
    with pytest.raises(MaterialSealBroken):
        open_material(bytes(sealed), REQUEST, DIGEST, qianfeng)


def test_another_private_key_fails_to_open(qianfeng):
    sealed = seal_material(SCAN, REQUEST, qianfeng.public_key())
    with pytest.raises(MaterialSealBroken):
        open_material(sealed, REQUEST, DIGEST, X25519PrivateKey.generate())


def test_a_file_sealed_for_one_request_does_not_open_for_another(qianfeng):
    sealed = seal_material(SCAN, REQUEST, qianfeng.public_key())
    with pytest.raises(MaterialSealBroken):
        open_material(sealed, "dongguan-dalang:20260520-ffffffff", DIGEST, qianfeng)


def test_a_file_does_not_open_under_another_digest(qianfeng):
    sealed = seal_material(SCAN, REQUEST, qianfeng.public_key())
    with pytest.raises(MaterialSealBroken):
        open_material(sealed, REQUEST, hashlib.sha256(b"other").hexdigest(), qianfeng)


def test_bytes_sealed_under_a_digest_they_do_not_have_are_refused_after_opening(qianfeng):
    sealed = _seal(b"a different scan", REQUEST, DIGEST, qianfeng.public_key())
    with pytest.raises(MaterialDigestMismatch):
        open_material(sealed, REQUEST, DIGEST, qianfeng)


@pytest.mark.parametrize(
    "sealed", [b"", MAGIC, b"xxxx" + bytes(80)], ids=["empty", "short", "magic"]
)
def test_bytes_that_are_not_a_sealed_file_fail_to_open(qianfeng, sealed):
    with pytest.raises(MaterialSealBroken):
        open_material(sealed, REQUEST, DIGEST, qianfeng)
