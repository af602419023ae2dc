"""Canonical bytes (RFC 8785, JSON Canonicalization Scheme), hashes and base64 helpers."""

import base64
import hashlib
from typing import Any

import rfc8785


def canonical_bytes(value: Any) -> bytes:
    """RFC 8785 canonical UTF-8 bytes of a JSON value."""
    return bytes(rfc8785.dumps(value))


def sha256_hex(data: bytes) -> str:
    """Lower-case hex SHA-256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def b64encode(data: bytes) -> str:
    """Standard base64 with padding (RFC 4648 section 4)."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str) -> bytes:
    """Strict, canonical standard base64; raises ValueError on anything else.

    Canonical: the text is exactly what b64encode gives for the bytes. A lenient decoder also
    accepts non-zero padding bits, so one value would have several spellings (and hashes).
    """
    data = base64.b64decode(text.encode("ascii"), validate=True)
    if b64encode(data) != text:
        raise ValueError("not canonical base64: non-zero padding bits or missing padding")
    return data
