"""Received bytes are taken as canonical exactly when RFC 8785 would have written them so.

`canonical_document` and `plain_canonical_bytes` skip work for plain values; whatever the value,
they must agree with `canonical_bytes` (which the test vectors hold to RFC 8785).
"""

import contextlib
import json
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.canonical import NotCanonicalisable, canonical_bytes, plain_canonical_bytes
from services.bus.envelope import MAX_EXACT_INT, canonical_document, json_number

# Names and strings from every plane: controls, quotes, backslashes, U+E000-U+FFFF, astral.
texts = st.text(
    st.characters(codec="utf-8")
    | st.sampled_from(['"', "\\", "\x00", "\x1f", "\x7f", "\u2028", "\ue000", "\uffff"])
    | st.sampled_from(["\U0001f600", "\U00010000", "\U0010ffff", "巷", "é"]),
    max_size=6,
)
numbers = (
    st.integers(-MAX_EXACT_INT, MAX_EXACT_INT)
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=20,
)
plain_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-MAX_EXACT_INT, MAX_EXACT_INT)
    | st.text(st.characters(codec="utf-8", max_codepoint=0xFFFF), max_size=6),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(st.characters(codec="utf-8"), max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


def _reference(raw: bytes) -> dict[str, Any] | None:
    """The object `raw` holds if it is exactly its canonical bytes, by the general encoder."""
    try:
        document = json.loads(raw, parse_int=json_number)
        if isinstance(document, dict) and canonical_bytes(document) == raw:
            return document
    except (ValueError, RecursionError):
        pass
    return None


def _writings(document: dict[str, Any]) -> list[bytes]:
    """The document's canonical bytes (if it has some) and other ways of writing it."""
    writings = []
    with contextlib.suppress(NotCanonicalisable):
        writings.append(canonical_bytes(document))
    for ensure_ascii in (False, True):
        for sort_keys in (False, True):
            text = json.dumps(
                document, ensure_ascii=ensure_ascii, sort_keys=sort_keys, separators=(",", ":")
            )
            writings.append(text.encode("utf-8", "surrogatepass"))
    return writings


@settings(max_examples=500, deadline=None)
@given(value=json_values)
def test_wire_bytes_are_canonical_exactly_when_the_general_encoder_says_so(value: Any) -> None:
    document = {"value": value, "其他": [value], "\U0001f600": 1, "\ue000": 2}
    for raw in _writings(document) + _writings({"value": value}):
        assert canonical_document(raw) == _reference(raw)


@settings(max_examples=300, deadline=None)
@given(value=plain_values)
def test_plain_values_encode_as_rfc_8785_does(value: Any) -> None:
    names_sort_alike = all(max(k, default="") <= "\uffff" for k in _names(value)) or all(
        max(k, default="") < "\ue000" for k in _names(value)
    )
    if names_sort_alike:
        assert plain_canonical_bytes(value) == rfc8785.dumps(value)


def _names(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [*value, *(n for item in value.values() for n in _names(item))]
    if isinstance(value, list):
        return [n for item in value for n in _names(item)]
    return []


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":NaN}',
        b'{"a":Infinity}',
        b'{"a":-Infinity}',
        b'{"a":-0}',
        b'{"a":0}',
        b'{"a":1.0}',
        b'{"a":1.5}',
        b'{"a":1e20}',
        b'{"a":100000000000000000000}',
        b'{"a":9007199254740991}',
        b'{"a":9007199254740992}',
        b'{"a":-9007199254740992}',
        b'{"a":1E400}',
        b'{"a":"\\u0041"}',
        b'{"a":"\\/"}',
        b'{"a":"\\n\\u001f\\"\\\\"}',
        b'{"a":"\\u000a"}',
        b'{"a":"\x7f\xe2\x80\xa8"}',
        b'{"a":"\\ud800"}',
        b'{"a":"\xed\xa0\x80"}',
        b'{"a":"\\ud83d\\ude00"}',
        b'{"a":"\xf0\x9f\x98\x80"}',
        '{"\ue000":1,"\U0001f600":2}'.encode(),
        '{"\U0001f600":2,"\ue000":1}'.encode(),
        '{"\ue000":1,"\uffff":2}'.encode(),
        '{"b":{"\U0001f600":[1,{"\ue000":"x"}],"\ue000":[]}}'.encode(),
        b'{"a":1,"a":1}',
        b'{"a":1,"b":2}',
        b'{"b":2,"a":1}',
        b'{"a": 1}',
        b' {"a":1}',
        b'{"a":1}\n',
        b'{"a":1}x',
        b'{"a":1}{"b":2}',
        b'{"a":1}1.5',
        b'\xef\xbb\xbf{"a":1}',
        b'{"a":[1,[2,[3,{"b":null,"c":true,"d":false}]]]}',
        b"[1]",
        b'"a"',
        "{}".encode("utf-16-le"),
        b'{"a":"\xf5"}',
        b"[" * 10_000 + b"]" * 10_000,
    ],
)
def test_tricky_wire_bytes_are_judged_as_the_general_encoder_judges_them(raw: bytes) -> None:
    assert canonical_document(raw) == _reference(raw)


def test_values_nested_deeper_than_orjson_goes_are_written_all_the_same() -> None:
    deep: Any = "x"
    for _ in range(400):  # orjson refuses beyond 255 levels
        deep = {"a": [deep]}
    expected = json.dumps(deep, sort_keys=True, separators=(",", ":")).encode()
    assert plain_canonical_bytes(deep) == expected
    assert canonical_document(expected) == deep


def test_a_lone_surrogate_has_no_plain_bytes() -> None:
    with pytest.raises(UnicodeEncodeError):
        plain_canonical_bytes({"a": "\udaa3"})
