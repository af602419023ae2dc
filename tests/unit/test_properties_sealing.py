"""Sealed personal data opens to exactly what was sealed, and to nothing once a byte changes."""

from functools import cache
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from contracts import errors
from contracts.canonical import b64decode, b64encode
from services.bus.envelope import MAX_EXACT_INT, new_event_id
from services.bus.personal_data import PREFIX, open_fields, seal_fields

PATTERNS = ["secret", "people[].id_number"]
json_values = st.recursive(
    st.booleans()
    | st.integers(-MAX_EXACT_INT, MAX_EXACT_INT)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner | st.none(), max_size=4)
        | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=15,
)


@cache
def _recipient() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


def _data(secret: Any, numbers: list[Any]) -> dict[str, Any]:
    return {"secret": secret, "people": [{"id_number": n, "name": "老黄"} for n in numbers]}


@settings(max_examples=150, deadline=None)
@given(secret=json_values, numbers=st.lists(json_values, max_size=3))
def test_sealed_data_opens_to_what_was_sealed(secret: Any, numbers: list[Any]) -> None:
    data, event_id = _data(secret, numbers), new_event_id()
    sealed, pdepk = seal_fields(data, PATTERNS, event_id, _recipient().public_key())
    assert pdepk is not None
    assert sealed["secret"].startswith(PREFIX)
    assert all(p["id_number"].startswith(PREFIX) for p in sealed["people"])
    assert open_fields(sealed, PATTERNS, event_id, pdepk, _recipient()) == data


def _changed(sealed: str, index: int, mask: int) -> str:
    blob = bytearray(b64decode(sealed.removeprefix(PREFIX)))
    blob[index % len(blob)] ^= mask
    return PREFIX + b64encode(bytes(blob))


@settings(max_examples=150, deadline=None)
@given(secret=json_values, index=st.integers(0, 10_000), mask=st.integers(1, 255))
def test_any_changed_byte_of_nonce_ciphertext_or_tag_fails_to_decrypt(
    secret: Any, index: int, mask: int
) -> None:
    event_id = new_event_id()
    sealed, pdepk = seal_fields(_data(secret, []), PATTERNS, event_id, _recipient().public_key())
    assert pdepk is not None
    tampered = sealed | {"secret": _changed(sealed["secret"], index, mask)}
    with pytest.raises(errors.DecryptionFailed):
        open_fields(tampered, PATTERNS, event_id, pdepk, _recipient())


@settings(max_examples=100, deadline=None)
@given(secret=json_values, index=st.integers(0, 10_000), char=st.characters(max_codepoint=127))
def test_any_changed_character_of_the_sealed_text_fails(secret: Any, index: int, char: str) -> None:
    event_id = new_event_id()
    sealed, pdepk = seal_fields(_data(secret, []), PATTERNS, event_id, _recipient().public_key())
    assert pdepk is not None
    text = sealed["secret"]
    at = len(PREFIX) + index % (len(text) - len(PREFIX))
    assume(text[at] != char)
    tampered = sealed | {"secret": text[:at] + char + text[at + 1 :]}
    with pytest.raises(errors.DecryptionFailed):
        open_fields(tampered, PATTERNS, event_id, pdepk, _recipient())


@settings(max_examples=50, deadline=None)
@given(secret=json_values)
def test_sealed_data_does_not_open_under_another_event_id(secret: Any) -> None:
    event_id = new_event_id()
    sealed, pdepk = seal_fields(_data(secret, []), PATTERNS, event_id, _recipient().public_key())
    assert pdepk is not None
    with pytest.raises(errors.DecryptionFailed):
        open_fields(sealed, PATTERNS, new_event_id(), pdepk, _recipient())
