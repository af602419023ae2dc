"""The order of checks is part of the protocol: docs/protocol.md, errors.py and the code agree."""

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from contracts import TEST_VECTORS_DIR, errors
from contracts.canonical import b64decode
from contracts.registry import schema_uri
from services.bus.verification import StreamPosition
from tests.support.envelopes import LAO_CHENG_ID, Exchange, resign, rewrite, with_data
from tests.support.trust import NOW

PROTOCOL = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def _documented_order() -> list[str]:
    text = PROTOCOL.read_text(encoding="utf-8")
    table = text.split("### Order of checks", 1)[1].split("\n\n", 2)[1]
    return [row.split("|")[3].strip().strip("`") for row in table.splitlines()[2:]]


def test_protocol_lists_every_reason_in_the_order_errors_py_declares() -> None:
    assert _documented_order() == [rejection.reason for rejection in errors.REJECTIONS]


def test_every_reason_code_is_distinct() -> None:
    reasons = [rejection.reason for rejection in errors.REJECTIONS]
    assert len(set(reasons)) == len(reasons) == 20


def test_worked_example_in_the_protocol_is_the_test_vector() -> None:
    text = PROTOCOL.read_text(encoding="utf-8")
    shown = re.search(r"The signed bytes \(UTF-8, one line, (\d+) bytes\):\n\n```\n(.*)\n```", text)
    assert shown is not None
    vector = json.loads((TEST_VECTORS_DIR / "envelope-valid.json").read_text(encoding="utf-8"))
    canonical = b64decode(vector["canonical_b64"])
    assert shown.group(2).encode() == canonical
    assert int(shown.group(1)) == len(canonical)
    assert vector["chain_hash"] in text and vector["signature_b64"] in text
    assert vector["public_key_b64"] in text


@pytest.fixture(scope="module")
def exchange() -> Exchange:
    return Exchange()


def _reason(exchange: Exchange, raw: bytes, **kwargs: object) -> str:
    with pytest.raises(errors.EnvelopeRejected) as caught:
        exchange.verify(raw, **kwargs)  # type: ignore[arg-type]
    return caught.value.reason


def test_unknown_agreement_is_reported_before_a_bad_signature(exchange: Exchange) -> None:
    raw = rewrite(exchange.envelope(), agreement="other-agreement@1")
    assert _reason(exchange, raw) == "unknown_agreement"


def test_bad_signature_is_reported_before_clock_skew_and_recipient(exchange: Exchange) -> None:
    ahead = exchange.envelope(now=NOW + timedelta(hours=1))
    raw = rewrite(ahead, recipient="shenzhen-longgang")
    assert _reason(exchange, raw, now=NOW) == "bad_signature"


def test_clock_skew_is_reported_before_the_recipient(exchange: Exchange) -> None:
    ahead = exchange.envelope(now=NOW + timedelta(hours=1))
    raw = resign(ahead, exchange.dalang.sig, recipient="shenzhen-longgang")
    assert _reason(exchange, raw, now=NOW) == "clock_skew"


def test_wrong_recipient_is_reported_before_a_replay(exchange: Exchange) -> None:
    raw = resign(exchange.envelope(), exchange.dalang.sig, recipient="shenzhen-longgang")
    assert _reason(exchange, raw, position=StreamPosition(seq=5, head="a" * 64)) == (
        "wrong_recipient"
    )


def test_chain_break_is_reported_before_anything_of_stage_two(exchange: Exchange) -> None:
    envelope = exchange.envelope()
    raw = resign(envelope, exchange.dalang.sig, dataschema=schema_uri("dispute.reported", (9, 0)))
    assert _reason(exchange, raw, position=StreamPosition(0, "b" * 64)) == "chain_break"


def test_unknown_event_type_is_reported_before_the_missing_flow(exchange: Exchange) -> None:
    raw = resign(
        exchange.envelope(),
        exchange.dalang.sig,
        type="dispute.vanished",
        dataschema=schema_uri("dispute.vanished", (1, 0)),
    )
    assert _reason(exchange, raw) == "unknown_event_type"


def test_not_permitted_is_reported_before_personal_data_in_clear(exchange: Exchange) -> None:
    envelope = exchange.envelope()

    def reveal(data: dict[str, object]) -> None:
        data["parties"][1]["id_number"] = LAO_CHENG_ID  # type: ignore[index]

    raw = resign(
        envelope,
        exchange.qianfeng.sig,
        source=exchange.qianfeng.id,
        kid=exchange.qianfeng.sig_kid,
        recipient=exchange.dalang.id,
        data=with_data(envelope, reveal),
    )
    one_way = Exchange(
        dalang=exchange.dalang,
        qianfeng=exchange.qianfeng,
        flows=[
            {
                "type": "dispute.reported",
                "senders": [exchange.dalang.id],
                "recipients": [exchange.qianfeng.id],
                "versions": [1],
            }
        ],
    )
    with pytest.raises(errors.NotPermittedByAgreement):
        one_way.verifier(me=exchange.dalang).verify(raw, NOW)


def test_personal_data_in_clear_is_reported_before_a_schema_violation(exchange: Exchange) -> None:
    envelope = exchange.envelope()

    def reveal_and_break(data: dict[str, object]) -> None:
        data["parties"][1]["id_number"] = LAO_CHENG_ID  # type: ignore[index]
        data["risk"] = "extreme"

    raw = resign(envelope, exchange.dalang.sig, data=with_data(envelope, reveal_and_break))
    assert _reason(exchange, raw) == "personal_data_in_clear"


def test_every_reason_has_a_verification_test_that_expects_it() -> None:
    tests = "".join(
        p.read_text(encoding="utf-8")
        for p in PROTOCOL.parents[1].glob("tests/unit/test_verification_*.py")
    )
    missing = [
        r.__name__
        for r in errors.REJECTIONS
        if f"errors.{r.__name__}" not in tests and f'"{r.reason}"' not in tests
    ]
    assert missing == []
