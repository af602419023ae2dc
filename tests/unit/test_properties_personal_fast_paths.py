"""The short cuts of sealing and opening give exactly what the general path gives."""

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.canonical import NotCanonicalisable, b64decode, b64encode, canonical_bytes
from services.bus.envelope import json_number, new_event_id
from services.bus.personal_data import (
    mask_fields,
    open_fields,
    plaintext_bytes,
    plaintext_value,
    seal_fields,
)

# Every code point, lone surrogates included, with quotes, backslashes and controls made common.
any_text = st.text(
    st.characters(codec=None, exclude_categories=())
    | st.sampled_from(['"', "\\", "\x00", "\x1f", "\x7f", "\n", "\u2028", "\ud800", "老"])
)


def _outcome(work: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "value", work(*args)
    except ValueError as exc:  # NotCanonicalisable, JSONDecodeError, UnicodeDecodeError, binascii
        return "refused", type(exc) if isinstance(exc, NotCanonicalisable) else ValueError


@settings(max_examples=500, deadline=None)
@given(text=any_text)
def test_a_strings_plaintext_is_its_canonical_bytes(text: str) -> None:
    assert _outcome(plaintext_bytes, text) == _outcome(canonical_bytes, text)


@settings(max_examples=200, deadline=None)
@given(value=st.none() | st.booleans() | st.integers() | st.lists(any_text, max_size=3))
def test_any_other_values_plaintext_is_its_canonical_bytes(value: Any) -> None:
    assert _outcome(plaintext_bytes, value) == _outcome(canonical_bytes, value)


def _json_loads(plaintext: bytes) -> Any:
    return json.loads(plaintext, parse_int=json_number)


@settings(max_examples=500, deadline=None)
@given(text=any_text, ascii_only=st.booleans())
def test_an_opened_json_string_reads_as_the_json_parser_reads_it(
    text: str, ascii_only: bool
) -> None:
    plaintext = json.dumps(text, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    assert plaintext_value(plaintext) == _json_loads(plaintext) == text


@settings(max_examples=500, deadline=None)
@given(inner=st.binary(max_size=24) | st.sampled_from([b"\xed\xa0\x80", b"\xff", b"\\u0041"]))
def test_any_quoted_bytes_open_as_the_json_parser_reads_them_or_not_at_all(inner: bytes) -> None:
    for plaintext in (b'"' + inner + b'"', inner, b'"' + inner):
        assert _outcome(plaintext_value, plaintext) == _outcome(_json_loads, plaintext)


def _b64decode_before(text: str) -> bytes:
    """The decoder before the short cut: strict base64, then re-encoded and compared."""
    data = base64.b64decode(text.encode("ascii"), validate=True)
    if b64encode(data) != text:
        raise ValueError("not canonical")
    return data


@settings(max_examples=1000, deadline=None)
@given(
    text=st.text(st.sampled_from("ABCDQRSTwxyz0189+/=\n -_é"), max_size=12)
    | st.binary(max_size=9).map(b64encode)
)
def test_base64_is_refused_exactly_where_it_was(text: str) -> None:
    assert _outcome(b64decode, text) == _outcome(_b64decode_before, text)


@pytest.mark.parametrize("text", ["QQ==", "QR==", "QUI=", "QUJ=", "QQ", "Q===", "QUJD\n", ""])
def test_non_canonical_base64_is_still_refused(text: str) -> None:
    assert _outcome(b64decode, text) == _outcome(_b64decode_before, text)


def _deep_copy(value: Any) -> Any:
    return json.loads(json.dumps(value))


def test_sealing_opening_and_masking_leave_the_input_as_it_was() -> None:
    own, event_id = X25519PrivateKey.generate(), new_event_id()
    patterns = ["people[].id_number", "home.address"]
    data = {
        "people": [{"id_number": "1", "name": "a"}, {"name": "b"}],
        "home": {"address": "x", "city": "y"},
        "other": {"kept": [1, 2]},
    }
    before = _deep_copy(data)
    sealed, pdepk = seal_fields(data, patterns, event_id, own.public_key())
    sealed_before = _deep_copy(sealed)
    assert pdepk is not None
    assert open_fields(sealed, patterns, event_id, pdepk, own) == before
    assert mask_fields(data, patterns)["home"] == {"address": "***", "city": "y"}
    assert data == before and sealed == sealed_before


def test_one_object_at_two_places_is_sealed_at_each_under_its_own_path() -> None:
    own, event_id = X25519PrivateKey.generate(), new_event_id()
    person = {"id_number": "511603196803120058"}
    data = {"people": [person, person]}
    sealed, pdepk = seal_fields(data, ["people[].id_number"], event_id, own.public_key())
    assert pdepk is not None and sealed["people"][0] != sealed["people"][1]
    assert open_fields(sealed, ["people[].id_number"], event_id, pdepk, own) == data
    assert person == {"id_number": "511603196803120058"}
