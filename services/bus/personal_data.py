"""Personal data sealed to the recipient: X25519 + HKDF-SHA256 + AES-256-GCM, field by field.

One ephemeral X25519 key per envelope (`pdepk`) agrees a secret with the recipient's encryption
key (`pdkid`); HKDF-SHA256 (salt: the 16 bytes of the event id, info: INFO) derives one AES-256
key; each personal field's JSON value (RFC 8785 bytes) is encrypted with a fresh 12-byte nonce and
the associated data `<event id>|<concrete field path>`, and replaced by `pd1:<base64(nonce||ct)>`.
"""

import json
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from contracts.canonical import b64decode, b64encode, canonical_bytes
from contracts.errors import DecryptionFailed, PersonalDataInClear
from contracts.keys import public_raw
from services.bus.envelope import json_number

INFO = b"fengqiao personal-data v1"
PREFIX = "pd1:"
MASK = "***"


def _content_key(shared: bytes, event_id: str) -> AESGCM:
    salt = uuid.UUID(event_id).bytes
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=INFO).derive(shared)
    return AESGCM(key)


def _aad(event_id: str, path: str) -> bytes:
    return f"{event_id}|{path}".encode()


def locate(
    data: dict[str, Any], pattern: str
) -> Iterator[tuple[str, dict[str, Any] | list[Any], str | int]]:
    """Every (concrete path, container, key) matched by `pattern` (`a.b`, `parties[].id_number`)."""

    def walk(node: Any, parts: list[str], prefix: str) -> Iterator[tuple[str, Any, Any]]:
        name, rest = parts[0], parts[1:]
        each = name.endswith("[]")
        name = name.removesuffix("[]")
        if not isinstance(node, dict) or node.get(name) is None:
            return
        here = f"{prefix}{name}"
        if each:
            items = node[name]
            if not isinstance(items, list):
                return
            for i, item in enumerate(items):
                if rest:
                    yield from walk(item, rest, f"{here}.{i}.")
                elif item is not None:
                    yield f"{here}.{i}", items, i
        elif rest:
            yield from walk(node[name], rest, f"{here}.")
        else:
            yield here, node, name

    yield from walk(data, pattern.split("."), "")


def _transform(
    data: dict[str, Any], patterns: list[str], change: Callable[[str, Any], Any]
) -> dict[str, Any]:
    copy: dict[str, Any] = _deep_copy(data)
    for pattern in patterns:
        for path, container, key in list(locate(copy, pattern)):
            container[key] = change(path, container[key])  # type: ignore[index]
    return copy


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


def seal_fields(
    data: dict[str, Any], patterns: list[str], event_id: str, recipient: X25519PublicKey
) -> tuple[dict[str, Any], str | None]:
    """Encrypt the personal fields of `data`; returns the sealed data and `pdepk` (None if none)."""
    return _seal(
        data, patterns, event_id, recipient, X25519PrivateKey.generate, lambda _path: os.urandom(12)
    )


def _seal(
    data: dict[str, Any],
    patterns: list[str],
    event_id: str,
    recipient: X25519PublicKey,
    ephemeral_key: Callable[[], X25519PrivateKey],
    nonce_for: Callable[[str], bytes],
) -> tuple[dict[str, Any], str | None]:
    """seal_fields with the ephemeral key and the nonces given: test vectors need them fixed."""
    if not any(True for p in patterns for _ in locate(data, p)):
        return data, None
    ephemeral = ephemeral_key()
    aes = _content_key(ephemeral.exchange(recipient), event_id)

    def encrypt(path: str, value: Any) -> str:
        nonce = nonce_for(path)
        sealed = aes.encrypt(nonce, canonical_bytes(value), _aad(event_id, path))
        return PREFIX + b64encode(nonce + sealed)

    return _transform(data, patterns, encrypt), b64encode(public_raw(ephemeral))


Field = tuple[str, dict[str, Any] | list[Any], str | int]
"""A personal field found in data: its concrete path, its container and its key there."""


def personal_fields(
    data: dict[str, Any], patterns: list[str]
) -> tuple[dict[str, Any], list[Field]]:
    """A deep copy of `data` and every personal field in that copy, found in one walk."""
    copy: dict[str, Any] = _deep_copy(data)
    return copy, [found for pattern in patterns for found in locate(copy, pattern)]


def open_fields(
    data: dict[str, Any], patterns: list[str], event_id: str, pdepk: str, own: X25519PrivateKey
) -> dict[str, Any]:
    """Decrypt the personal fields sealed to `own`; raises DecryptionFailed on any tampering."""
    copy, fields = personal_fields(data, patterns)
    open_in_place(fields, event_id, pdepk, own)
    return copy


def open_in_place(fields: list[Field], event_id: str, pdepk: str, own: X25519PrivateKey) -> None:
    """Decrypt each of `fields` where it stands (in a copy from personal_fields)."""
    if not fields:
        return
    try:
        shared = own.exchange(X25519PublicKey.from_public_bytes(b64decode(pdepk)))
    except ValueError as exc:
        raise DecryptionFailed(f"pdepk is not an X25519 public key: {exc}") from exc
    aes = _content_key(shared, event_id)
    for path, container, key in fields:
        value = container[key]  # type: ignore[index]
        if not is_sealed(value):
            raise PersonalDataInClear(f"personal field {path} travels unencrypted")
        try:
            blob = b64decode(value.removeprefix(PREFIX))
            plaintext = aes.decrypt(blob[:12], blob[12:], _aad(event_id, path))
            container[key] = json.loads(plaintext, parse_int=json_number)  # type: ignore[index]
        except (ValueError, InvalidTag, RecursionError) as exc:
            raise DecryptionFailed(f"personal field {path} does not decrypt") from exc


def is_sealed(value: Any) -> bool:
    """Whether a personal field's value has the sealed form `pd1:<base64>`."""
    return isinstance(value, str) and value.startswith(PREFIX)


def mask_fields(data: dict[str, Any], patterns: list[str]) -> dict[str, Any]:
    """A copy of `data` with every personal field replaced by MASK, for logs."""
    return _transform(data, patterns, lambda _path, _value: MASK)
