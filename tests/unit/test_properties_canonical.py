"""Canonical bytes (RFC 8785) depend on the JSON value only, never on how it was written."""

import json
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.canonical import NotCanonicalisable, canonical_bytes
from services.bus.envelope import MAX_EXACT_INT, parse_document

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-MAX_EXACT_INT, MAX_EXACT_INT)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


def _shuffled(value: Any, rng: random.Random) -> Any:
    """The same value with every object's members in another order."""
    if isinstance(value, dict):
        items = [(k, _shuffled(v, rng)) for k, v in value.items()]
        rng.shuffle(items)
        return dict(items)
    if isinstance(value, list):
        return [_shuffled(v, rng) for v in value]
    return value


writings = st.fixed_dictionaries(
    {
        "indent": st.sampled_from([None, 0, 1, 4, "\t"]),
        "separators": st.sampled_from([(",", ":"), (", ", ": "), (" ,", " : ")]),
        "ensure_ascii": st.booleans(),
        "sort_keys": st.booleans(),
    }
)


@settings(max_examples=200, deadline=None)
@given(value=json_values, writing=writings, seed=st.integers(0, 2**32))
def test_canonical_bytes_do_not_depend_on_member_order_or_whitespace(
    value: Any, writing: dict[str, Any], seed: int
) -> None:
    document = {"value": value}
    text = json.dumps(_shuffled(document, random.Random(seed)), **writing)
    assert canonical_bytes(parse_document(text.encode())) == canonical_bytes(document)


@settings(max_examples=200, deadline=None)
@given(value=json_values)
def test_canonical_bytes_read_back_give_the_same_canonical_bytes(value: Any) -> None:
    canonical = canonical_bytes({"value": value})
    assert canonical_bytes(parse_document(canonical)) == canonical


@settings(max_examples=100, deadline=None)
@given(value=json_values)
def test_canonical_bytes_have_no_whitespace_outside_strings(value: Any) -> None:
    canonical = canonical_bytes({"value": value})
    unescaped = canonical.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside = b"".join(unescaped.split(b'"')[0::2])  # now every '"' opens or closes a string
    assert not any(c in outside for c in b" \t\r\n")


@pytest.mark.parametrize("value", [{"amount_fen": 2**53}, [-(2**60)], float("nan"), "\udaa3"])
def test_what_rfc_8785_cannot_represent_is_refused_as_not_canonicalisable(value: Any) -> None:
    with pytest.raises(NotCanonicalisable):
        canonical_bytes(value)


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ({"a": "\udaa3"}, "a string with a lone surrogate is not UTF-8"),
        ({"a": {1, 2}}, "not a JSON value: unsupported type: <class 'set'>"),
        ({1: "a"}, "not a JSON value: object keys must be strings"),
    ],
)
def test_the_refusal_says_what_has_no_canonical_form(value: Any, said: str) -> None:
    with pytest.raises(NotCanonicalisable) as refused:
        canonical_bytes(value)
    assert str(refused.value) == said
