"""Properties of signed envelopes on the wire: no single changed byte, no changed value gets by."""

from functools import cache
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import errors
from contracts.canonical import canonical_bytes
from services.bus.envelope import Envelope
from tests.support.envelopes import Exchange, rewrite

MALFORMED = {"malformed"}
# What a changed byte inside each attribute's value may be refused as. Every byte may also break
# the JSON or the attribute's form (malformed); only attributes checked before the signature
# may fail for another reason, and the time only for its key's validity window.
AFTER_SIGNATURE = {"malformed", "bad_signature"}
REASONS_BY_ATTRIBUTE: dict[str, set[str]] = {
    "agreement": {"malformed", "unknown_agreement", "agreement_not_in_force"},
    "source": {"malformed", "sender_not_party"},
    "kid": {"malformed", "unknown_key"},
    "time": {"malformed", "key_not_yet_valid", "key_expired", "bad_signature"},
    "specversion": MALFORMED,
    "datacontenttype": MALFORMED,
    "type": MALFORMED,  # must match the type named in dataschema
}


@cache
def _scene() -> tuple[Exchange, Envelope]:
    exchange = Exchange()
    return exchange, exchange.envelope()


def _utf16(name: str) -> bytes:
    return name.encode("utf-16-be")


def attribute_at(envelope: Envelope, offset: int) -> str | None:
    """The attribute whose value holds byte `offset` of the wire bytes; None for structure."""
    position = 1  # after "{"
    for name, value in sorted(envelope.document().items(), key=lambda kv: _utf16(kv[0])):
        start = position + len(canonical_bytes(name)) + 1  # name, then ":"
        end = start + len(canonical_bytes(value))
        if start <= offset < end:
            return name
        position = end + 1  # ","
    return None


def _reason(exchange: Exchange, raw: bytes) -> str:
    try:
        exchange.verify(raw)
    except errors.EnvelopeRejected as rejected:
        return rejected.reason
    return "accepted"


def test_attribute_spans_cover_the_wire_bytes_exactly() -> None:
    _, envelope = _scene()
    wire = envelope.wire_bytes()
    names = {attribute_at(envelope, i) for i in range(len(wire))}
    assert names - {None} == set(envelope.document())
    assert attribute_at(envelope, wire.index(b'"seq":') + 6) == "seq"
    assert attribute_at(envelope, wire.index(b'"seq":')) is None


@settings(max_examples=800, deadline=None)
@given(data=st.data())
def test_any_single_changed_byte_is_refused_for_a_reason_its_place_allows(data: Any) -> None:
    exchange, envelope = _scene()
    wire = envelope.wire_bytes()
    offset = data.draw(st.integers(0, len(wire) - 1), label="offset")
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != wire[offset]), label="byte")
    changed = wire[:offset] + bytes([byte]) + wire[offset + 1 :]
    attribute = attribute_at(envelope, offset)
    allowed = MALFORMED if attribute is None else REASONS_BY_ATTRIBUTE.get(attribute)
    assert _reason(exchange, changed) in (allowed or AFTER_SIGNATURE)


def test_every_byte_with_its_lowest_bit_flipped_is_refused_for_a_reason_its_place_allows() -> None:
    exchange, envelope = _scene()
    wire = envelope.wire_bytes()
    for offset in range(len(wire)):
        changed = wire[:offset] + bytes([wire[offset] ^ 1]) + wire[offset + 1 :]
        attribute = attribute_at(envelope, offset)
        allowed = MALFORMED if attribute is None else REASONS_BY_ATTRIBUTE.get(attribute)
        assert _reason(exchange, changed) in (allowed or AFTER_SIGNATURE), offset


def test_changed_base64_digits_of_the_signature_fail_even_where_only_padding_bits_change() -> None:
    exchange, envelope = _scene()
    wire = envelope.wire_bytes()
    start = wire.index(b'"signature":"') + len(b'"signature":"')
    digits = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = start + 85  # carries 2 bits of the signature and 4 padding bits
    changes = [(at, digit) for at in range(start, last) for digit in digits[at % 61 :][:3]]
    changes += [(last, digit) for digit in digits]
    for offset, digit in changes:
        if wire[offset] == digit:
            continue
        changed = wire[:offset] + bytes([digit]) + wire[offset + 1 :]
        assert _reason(exchange, changed) == "bad_signature", (offset, chr(digit))


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaves(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaves(v, (*path, i))]
    return [path]


def _replaced(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(document, dict):
        return document | {head: _replaced(document[head], rest, value)}
    return [_replaced(v, rest, value) if i == head else v for i, v in enumerate(document)]


def _get(document: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        document = document[step]
    return document


# Attributes checked before the signature are left out: changing them fails earlier, which
# test_any_single_changed_byte... covers. Every other value is covered by the signature.
SIGNED_LATE = [
    path
    for path in _leaves(_scene()[1].document())
    if path[0] not in {"signature", "agreement", "source", "kid", "time"}
]


def _same_kind(original: Any) -> st.SearchStrategy[Any]:
    if isinstance(original, bool):
        return st.just(not original)
    if isinstance(original, int):
        return st.integers(1, 2**53 - 1)
    if isinstance(original, str) and len(original) in (36, 64):  # ids and hashes keep their form
        alphabet = "0123456789abcdef"
        return st.text(alphabet, min_size=1, max_size=1).map(lambda c: _respell(original, c))
    return st.text(min_size=1, max_size=40)


def _respell(text: str, digit: str) -> str:
    return text[:-1] + digit


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_changed_value_covered_by_the_signature_fails_with_bad_signature(data: Any) -> None:
    exchange, envelope = _scene()
    path = data.draw(st.sampled_from(SIGNED_LATE), label="path")
    original = _get(envelope.document(), path)
    value = data.draw(_same_kind(original).filter(lambda v: v != original), label="value")
    document = _replaced(envelope.document(), path, value)
    reason = _reason(exchange, rewrite(document))
    form_broken = reason == "malformed"  # e.g. a subject of 201 characters, a handling of "x"
    assert reason == "bad_signature" or (form_broken and _form_refuses(document))


def _form_refuses(document: dict[str, Any]) -> bool:
    try:
        Envelope.from_document(document)
    except errors.MalformedEnvelope:
        return True
    return False
