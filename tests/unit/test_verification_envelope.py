"""Stage 1, form: what is not an envelope is refused before anything else is looked at."""

import json
from dataclasses import replace

import pytest

from contracts import errors
from services.bus.verification import DEFAULT_MAX_BYTES
from tests.support.envelopes import ARRIVAL, Exchange, resign


@pytest.fixture(scope="module")
def exchange() -> Exchange:
    return Exchange()


def _reason(exchange: Exchange, raw: bytes) -> str:
    with pytest.raises(errors.EnvelopeRejected) as caught:
        exchange.verify(raw)
    return caught.value.reason


def test_envelope_over_the_size_limit_is_refused_before_it_is_parsed(exchange: Exchange) -> None:
    wire = exchange.envelope().wire_bytes()
    at_limit = replace(exchange.verifier(), max_bytes=len(wire))
    assert at_limit.verify(wire, ARRIVAL).envelope.seq == 1
    with pytest.raises(errors.OversizedEnvelope):
        replace(at_limit, max_bytes=len(wire) - 1).verify(wire, ARRIVAL)
    with pytest.raises(errors.OversizedEnvelope):
        exchange.verify(b"{" * (DEFAULT_MAX_BYTES + 1))


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b'{"id": "unterminated',
        b"[1, 2, 3]",
        b'"an envelope"',
        b"\xff\xfe{}",
        b'\xef\xbb\xbf{"specversion": "1.0"}',
    ],
    ids=["empty", "text", "truncated", "array", "string", "not-utf8", "bom"],
)
def test_bytes_that_are_not_one_json_object_are_malformed(exchange: Exchange, raw: bytes) -> None:
    assert _reason(exchange, raw) == "malformed"


def test_duplicate_member_names_are_malformed_even_when_both_values_agree(
    exchange: Exchange,
) -> None:
    wire = exchange.envelope().wire_bytes()
    doubled = b'{"seq":1,' + wire[1:]
    with pytest.raises(errors.MalformedEnvelope, match="duplicate member names: \\['seq'\\]"):
        exchange.verify(doubled)


def test_duplicate_member_names_inside_data_are_malformed(exchange: Exchange) -> None:
    wire = exchange.envelope().wire_bytes()
    doubled = wire.replace(b'"data":{', b'"data":{"risk":"low",', 1)
    with pytest.raises(errors.MalformedEnvelope, match="duplicate"):
        exchange.verify(doubled)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("specversion", "0.3"),
        ("id", "0190e4c2-9b1e-4c7a-8d6b-0d3f6a1b2c3d"),  # a UUIDv4, not v7
        ("id", "0190E4C2-9B1E-7C7A-8D6B-0D3F6A1B2C3D"),  # upper case
        ("time", "2026-05-20T10:30:00Z"),  # no milliseconds
        ("time", "2026-05-20T18:30:00.000+08:00"),  # not UTC
        ("time", "2026-02-30T10:30:00.000Z"),  # no such day
        ("time", "２０２６-05-20T10:30:00.000Z"),  # full-width digits
        ("seq", 0),
        ("seq", "1"),
        ("seq", True),
        ("seq", 1.5),
        ("prev", "AB" * 32),
        ("agreement", "test-agreement"),
        ("agreement", "test-agreement@01"),
        ("dataschema", "https://fengqiao.example/contracts/dispute.reported/1"),
        ("dataschema", "https://fengqiao.example/contracts/dispute.closed/1.0"),
        ("dataschema", "https://elsewhere.example/dispute.reported/1.0"),
        ("dataschema", "https://fengqiao.example/contracts/dispute.reported/1.²"),
        ("handling", "H4"),
        ("datacontenttype", "text/plain"),
        ("data", ["not", "an", "object"]),
        ("pdkid", None),
        ("comment", "an attribute the protocol does not have"),
    ],
)
def test_attribute_outside_the_protocol_is_malformed(
    exchange: Exchange, name: str, value: object
) -> None:
    raw = resign(exchange.envelope(), exchange.dalang.sig, **{name: value})
    assert _reason(exchange, raw) == "malformed"


def test_missing_attribute_is_malformed(exchange: Exchange) -> None:
    raw = resign(exchange.envelope(), exchange.dalang.sig, subject=None)
    with pytest.raises(errors.MalformedEnvelope, match="subject"):
        exchange.verify(raw)


def test_null_attribute_is_malformed_not_taken_as_absent(exchange: Exchange) -> None:
    document = exchange.envelope().document() | {"causation": None}
    with pytest.raises(errors.MalformedEnvelope, match="never null"):
        exchange.verify(json.dumps(document).encode())


@pytest.mark.parametrize(
    "value",
    [b"-1e400", b"1" * 400, b"NaN", b"-Infinity", b'"\\ud800"', b"1" * 5000],
    ids=["float-overflow", "int-overflow", "nan", "infinity", "lone-surrogate", "5000-digits"],
)
def test_values_without_a_canonical_form_are_malformed(exchange: Exchange, value: bytes) -> None:
    wire = exchange.envelope().wire_bytes()
    raw = wire.replace(b'"data":{', b'"data":{"extra":' + value + b",", 1)
    assert _reason(exchange, raw) == "malformed"


def test_deeply_nested_data_is_malformed_not_a_crash(exchange: Exchange) -> None:
    wire = exchange.envelope().wire_bytes()
    deep = b"[" * 100_000 + b"]" * 100_000
    raw = wire.replace(b'"data":{', b'"data":{"extra":' + deep + b",", 1)
    assert _reason(exchange, raw) == "malformed"


def test_other_spellings_of_the_same_envelope_are_malformed(exchange: Exchange) -> None:
    envelope = exchange.envelope()
    reordered = dict(reversed(list(envelope.document().items())))
    spellings = [
        json.dumps(reordered, separators=(",", ":"), ensure_ascii=False).encode(),
        json.dumps(envelope.document(), indent=2, sort_keys=True, ensure_ascii=False).encode(),
        json.dumps(envelope.document(), separators=(",", ":"), sort_keys=True).encode(),  # \uXXXX
        envelope.wire_bytes().replace(b'"seq":1', b'"seq":1.0'),
        envelope.wire_bytes() + b"\n",
    ]
    for raw in spellings:
        assert raw != envelope.wire_bytes()
        with pytest.raises(errors.MalformedEnvelope):
            exchange.verify(raw)


def test_integer_beyond_2_53_is_read_as_the_nearest_double_as_rfc_8785_reads_numbers(
    exchange: Exchange,
) -> None:
    envelope = exchange.envelope()
    big = float(2**53 + 2)  # canonical form: the integer literal 9007199254740994
    raw = resign(envelope, exchange.dalang.sig, data=envelope.data | {"extra": big})
    assert b'"extra":9007199254740994' in raw
    assert exchange.verify(raw).envelope.data["extra"] == big
    respelled = raw.replace(b"9007199254740994", b"9.007199254740994e15")  # the same double
    with pytest.raises(errors.MalformedEnvelope, match="canonical form"):
        exchange.verify(respelled)
