"""Personal data sealed to the recipient: X25519 + HKDF-SHA256 + AES-256-GCM, field by field.

An ephemeral X25519 key (`pdepk`) agrees a secret with the recipient's encryption key (`pdkid`);
the envelopes a sender composes together to one recipient may share it (sealing_keys.py).
HKDF-SHA256 (salt: the 16 bytes of the event id, info: INFO) derives one AES-256 key per
envelope; each personal field's JSON value (RFC 8785 bytes) is encrypted with a fresh 12-byte
nonce and the associated data `<event id>|<concrete field path>`, and replaced by
`pd1:<base64(nonce||ct)>`.
"""

import functools
import json
import os
import re
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from contracts.canonical import b64decode, b64encode, canonical_bytes
from contracts.errors import DecryptionFailed, PersonalDataInClear
from services.bus.envelope import json_number
from services.bus.sealing_keys import SealingKey, SealingKeys, agree

INFO = b"fengqiao personal-data v1"
PREFIX = "pd1:"
MASK = "***"

Key = str | int
Container = dict[str, Any] | list[Any]
Segments = tuple[tuple[str, bool], ...]

# A string with none of these is its own RFC 8785 form between quotes: nothing is escaped, and
# without lone surrogates it encodes to UTF-8.
_UNESCAPED_STRING = re.compile(r'[^"\\\x00-\x1f\ud800-\udfff]*')
# A JSON text that is one string with no escape and no control character: its value is the
# bytes between the quotes (decoded as json.loads decodes bytes: UTF-8, surrogates passed).
_UNESCAPED_JSON_STRING = re.compile(rb'"[^"\\\x00-\x1f]*"')


class Field(NamedTuple):
    """A personal field found in data: its concrete path, its container and key there, and the
    keys that lead from the data to that container."""

    path: str
    container: Container
    key: Key
    route: tuple[Key, ...]

    @property
    def value(self) -> Any:
        """The field's value where it was found."""
        return self.container[self.key]  # type: ignore[index]


def locate(data: dict[str, Any], pattern: str) -> Iterator[tuple[str, Container, Key]]:
    """Every (concrete path, container, key) matched by `pattern` (`a.b`, `parties[].id_number`)."""
    for found in _find(data, pattern):
        yield found.path, found.container, found.key


def find_fields(data: dict[str, Any], patterns: list[str]) -> list[Field]:
    """Every personal field of `data`, pattern by pattern, in one walk each (data unchanged)."""
    return [found for pattern in patterns for found in _find(data, pattern)]


@functools.lru_cache(maxsize=1024)
def _segments(pattern: str) -> Segments:
    """A pattern's (member name, each element) segments; agreements name few, so they are kept."""
    return tuple((part.removesuffix("[]"), part.endswith("[]")) for part in pattern.split("."))


def _find(data: dict[str, Any], pattern: str) -> list[Field]:
    found: list[Field] = []
    _walk(data, _segments(pattern), 0, "", (), found)
    return found


def _walk(
    node: Any, segments: Segments, at: int, prefix: str, route: tuple[Key, ...], out: list[Field]
) -> None:
    if not isinstance(node, dict):
        return
    name, each = segments[at]
    value = node.get(name)
    if value is None:
        return
    here = prefix + name
    last = at + 1 == len(segments)
    if not each:
        if last:
            out.append(Field(here, node, name, route))
        else:
            _walk(value, segments, at + 1, here + ".", (*route, name), out)
        return
    if not isinstance(value, list):
        return
    inner = (*route, name)
    for i, item in enumerate(value):
        if not last:
            _walk(item, segments, at + 1, f"{here}.{i}.", (*inner, i), out)
        elif item is not None:
            out.append(Field(f"{here}.{i}", value, i, inner))


def _put(root: dict[str, Any], found: Field, value: Any, copies: dict[int, Container]) -> Any:
    """`root` with `value` at `found`, copying only the containers on its way (once each).

    `copies` holds the containers copied so far (by id, kept alive so that no id is reused);
    the containers of `root` itself are never changed.
    """
    if id(root) not in copies:
        root = dict(root)
        copies[id(root)] = root
    node: Any = root
    for step in found.route:
        child = node[step]
        if id(child) not in copies:
            child = dict(child) if isinstance(child, dict) else list(child)
            copies[id(child)] = child
            node[step] = child
        node = child
    node[found.key] = value
    return root


def _rewrite(
    data: dict[str, Any], patterns: list[str], change: Callable[[str, Any], Any]
) -> dict[str, Any]:
    """A copy of `data` with each personal field changed, pattern after pattern (a pattern sees
    what the ones before it changed); containers off the fields' ways are shared, not copied."""
    result, copies = data, dict[int, Container]()  # see _put
    for pattern in patterns:
        for found in _find(result, pattern):
            result = _put(result, found, change(found.path, found.value), copies)
    return result


def _content_key(shared: bytes, event_id: str) -> AESGCM:
    salt = uuid_bytes(event_id)
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=INFO).derive(shared)
    return AESGCM(key)


def uuid_bytes(event_id: str) -> bytes:
    """`uuid.UUID(event_id).bytes` for a UUID in its standard form (as every event id is),
    without building the UUID; ValueError for another form."""
    if len(event_id) != 36 or event_id.count("-") != 4:
        raise ValueError(f"{event_id!r} is not a UUID in its standard form")
    raw = bytes.fromhex(event_id.replace("-", ""))  # ValueError for a non-hex digit
    if len(raw) != 16:  # fromhex skips whitespace
        raise ValueError(f"{event_id!r} is not a UUID in its standard form")
    return raw


def _aad(event_id: str, path: str) -> bytes:
    return f"{event_id}|{path}".encode()


def plaintext_bytes(value: Any) -> bytes:
    """The canonical bytes of a field's value; a string that needs no escape is not serialised."""
    if type(value) is str and _UNESCAPED_STRING.fullmatch(value):
        return b'"' + value.encode() + b'"'
    return canonical_bytes(value)


def plaintext_value(plaintext: bytes) -> Any:
    """The JSON value of an opened field (as json.loads reads it: numbers as RFC 8785 does);
    a string with no escape is read without the JSON parser."""
    if _UNESCAPED_JSON_STRING.fullmatch(plaintext):
        return plaintext[1:-1].decode("utf-8", "surrogatepass")
    return json.loads(plaintext, parse_int=json_number)


def seal_fields(
    data: dict[str, Any],
    patterns: list[str],
    event_id: str,
    recipient: X25519PublicKey,
    keys: SealingKeys | None = None,
) -> tuple[dict[str, Any], str | None]:
    """Encrypt the personal fields of `data`; returns the sealed data and `pdepk` (None if none).

    The ephemeral key is taken from `keys` (those of the envelopes composed together), or is
    fresh when none are given.
    """
    sealing = SealingKeys() if keys is None else keys
    return _sealed(data, patterns, event_id, lambda: sealing.take(recipient), _fresh_nonce)


def _fresh_nonce(_path: str) -> bytes:
    return os.urandom(12)


def _seal(
    data: dict[str, Any],
    patterns: list[str],
    event_id: str,
    recipient: X25519PublicKey,
    ephemeral_key: Callable[[], X25519PrivateKey],
    nonce_for: Callable[[str], bytes],
) -> tuple[dict[str, Any], str | None]:
    """seal_fields with the ephemeral key and the nonces given: test vectors need them fixed."""
    return _sealed(
        data, patterns, event_id, lambda: SealingKey.agree(ephemeral_key(), recipient), nonce_for
    )


def _sealed(
    data: dict[str, Any],
    patterns: list[str],
    event_id: str,
    key_for: Callable[[], SealingKey],
    nonce_for: Callable[[str], bytes],
) -> tuple[dict[str, Any], str | None]:
    """Sealed data and pdepk; the key is taken at the first personal field (none, none taken)."""
    result, copies = data, dict[int, Container]()  # see _put
    key, aes = None, None
    for pattern in patterns:  # one after the other, as _rewrite
        for found in _find(result, pattern):
            if key is None or aes is None:
                key = key_for()
                aes = _content_key(key.shared, event_id)
            nonce = nonce_for(found.path)
            sealed = aes.encrypt(nonce, plaintext_bytes(found.value), _aad(event_id, found.path))
            result = _put(result, found, PREFIX + b64encode(nonce + sealed), copies)
    return result, None if key is None else key.pdepk


def open_fields(
    data: dict[str, Any], patterns: list[str], event_id: str, pdepk: str, own: X25519PrivateKey
) -> dict[str, Any]:
    """Decrypt the personal fields sealed to `own`; raises DecryptionFailed on any tampering."""
    fields = find_fields(data, patterns)
    if not fields:
        return data
    return open_found(data, fields, event_id, agree(own, pdepk))


def open_found(
    data: dict[str, Any], fields: list[Field], event_id: str, shared: bytes
) -> dict[str, Any]:
    """A copy of `data` with each of `fields` (found in it by find_fields) decrypted."""
    aes = _content_key(shared, event_id)
    result, copies = data, dict[int, Container]()  # see _put
    for found in fields:
        value = found.value
        if not is_sealed(value):
            raise PersonalDataInClear(f"personal field {found.path} travels unencrypted")
        try:
            blob = b64decode(value[len(PREFIX) :])
            plaintext = aes.decrypt(blob[:12], blob[12:], _aad(event_id, found.path))
            opened = plaintext_value(plaintext)
        except (ValueError, InvalidTag, RecursionError) as exc:
            raise DecryptionFailed(f"personal field {found.path} does not decrypt") from exc
        result = _put(result, found, opened, copies)
    return result


def is_sealed(value: Any) -> bool:
    """Whether a personal field's value has the sealed form `pd1:<base64>`."""
    return isinstance(value, str) and value.startswith(PREFIX)


def mask_fields(data: dict[str, Any], patterns: list[str]) -> dict[str, Any]:
    """A copy of `data` with every personal field replaced by MASK, for logs."""
    return _rewrite(data, patterns, lambda _path, _value: MASK)
