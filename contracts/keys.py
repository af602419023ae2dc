"""Ed25519 signing keys and X25519 encryption keys: raw bytes, key ids, PEM files."""

import functools
import hashlib
import os
from pathlib import Path
from typing import Literal

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

KeyUse = Literal["sig", "enc"]
_RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


def key_id(jurisdiction: str, use: KeyUse, public_raw: bytes) -> str:
    """`<jurisdiction>/<use>/<first 16 hex of SHA-256(raw public key)>`: stable, derived, unique."""
    return f"{jurisdiction}/{use}/{hashlib.sha256(public_raw).hexdigest()[:16]}"


def public_raw(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    """The raw 32-byte public key of a private key."""
    return key.public_key().public_bytes(*_RAW)


def sign(key: Ed25519PrivateKey, message: bytes) -> bytes:
    """Ed25519 (RFC 8032) signature, 64 bytes."""
    return key.sign(message)


def signature_valid(public: bytes, signature: bytes, message: bytes) -> bool:
    """True when `signature` is a valid Ed25519 signature of `message` by raw key `public`."""
    try:
        _ed25519_public(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


@functools.lru_cache(maxsize=256)
def _ed25519_public(raw: bytes) -> Ed25519PublicKey:
    """The key object of a raw public key; partners' keys are few, so they are kept."""
    return Ed25519PublicKey.from_public_bytes(raw)


def x25519_public(raw: bytes) -> X25519PublicKey:
    """An X25519 public key from its raw 32 bytes."""
    return X25519PublicKey.from_public_bytes(raw)


@functools.lru_cache(maxsize=64)
def partner_x25519_public(raw: bytes) -> X25519PublicKey:
    """x25519_public of a partner's encryption key; partners' keys are few, so they are kept."""
    return x25519_public(raw)


def write_private_pem(path: Path, key: Ed25519PrivateKey | X25519PrivateKey) -> None:
    """Write a private key as unencrypted PKCS#8 PEM, readable by its owner only."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)


def read_signing_key(path: Path) -> Ed25519PrivateKey:
    """Load an Ed25519 private key from a PKCS#8 PEM file."""
    key = _read_private_key(path, "an Ed25519 signing key")
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 signing key")
    return key


def read_encryption_key(path: Path) -> X25519PrivateKey:
    """Load an X25519 private key from a PKCS#8 PEM file."""
    key = _read_private_key(path, "an X25519 encryption key")
    if not isinstance(key, X25519PrivateKey):
        raise ValueError(f"{path} does not hold an X25519 encryption key")
    return key


def _read_private_key(path: Path, wanted: str) -> PrivateKeyTypes:
    """The private key in a PEM file; ValueError naming `path` when it is not `wanted`."""
    try:
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    except UnsupportedAlgorithm:  # an SM2 or brainpool key: a key, but not `wanted` either
        raise ValueError(f"{path} does not hold {wanted}") from None
