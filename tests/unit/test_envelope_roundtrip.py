import re
import time
from datetime import timedelta

import pytest
import uuid6

from contracts import errors
from contracts.events.disputes import DisputeReportedV1
from contracts.registry import ContractRegistry
from services.bus.compose import Addressing, compose
from services.bus.envelope import GENESIS, UUID7_PATTERN, new_event_id
from services.bus.verification import StreamPosition, Verifier
from tests.support.trust import NOW, Bureau, agreement_document, flow, sign_document

DALANG, QIANFENG = Bureau("dongguan-dalang"), Bureau("guangan-qianfeng")


def _agreement():
    doc = agreement_document(
        [DALANG, QIANFENG],
        [flow("dispute.reported", [DALANG, QIANFENG], handling="H2")],
        {"dispute.reported": ["parties[].id_number", "parties[].phone"]},
    )
    return sign_document(doc, [DALANG, QIANFENG])


def _event() -> DisputeReportedV1:
    return DisputeReportedV1(
        dispute_id="DL-2022-0001",
        reported_in="dongguan-dalang",
        category="land",
        risk="medium",
        source="police_assistant",
        place="Xiangtou village, Dalang",
        parties=[
            {
                "name": "Lao Huang",
                "home_jurisdiction": "guangan-qianfeng",
                "id_number": "511602197001010015",
            },
            {"name": "Lao Cheng", "home_jurisdiction": "guangan-qianfeng", "phone": "13800000000"},
        ],
        narrative="Quarrel over land at home turned into a fight at work.",
        occurred_on="2022-02-10",
    )


def _verifier(book_item, me=QIANFENG):
    from contracts.agreement import AgreementBook
    from contracts.events.disputes import DisputeReportedV1 as M

    return Verifier(
        me=me.id,
        agreements=AgreementBook([book_item]),
        contracts=ContractRegistry([M]),
        encryption_keys={me.enc_kid: me.enc},
    )


def test_signed_envelope_verifies_and_personal_data_is_sealed_on_the_wire():
    loaded = _agreement()
    envelope = compose(
        loaded.agreement,
        DALANG.signer,
        _event(),
        Addressing(recipient=QIANFENG.id, subject="DL-2022-0001", seq=1, prev=GENESIS),
        NOW,
    )
    wire = envelope.wire_bytes()
    assert b"511602197001010015" not in wire and b"13800000000" not in wire
    assert envelope.handling == "H2"
    verified = _verifier(loaded).verify(wire, NOW + timedelta(seconds=3), StreamPosition())
    assert verified.event.parties[0].id_number == "511602197001010015"
    assert verified.event.parties[1].phone == "13800000000"


def test_tampered_envelope_is_rejected_with_bad_signature():
    loaded = _agreement()
    envelope = compose(
        loaded.agreement,
        DALANG.signer,
        _event(),
        Addressing(recipient=QIANFENG.id, subject="DL-2022-0001", seq=1, prev=GENESIS),
        NOW,
    )
    wire = envelope.wire_bytes().replace(b"Xiangtou", b"Xiangwei")
    with pytest.raises(errors.BadSignature):
        _verifier(loaded).verify(wire, NOW)


def test_an_event_id_made_after_one_of_a_clock_a_day_ahead_sorts_after_it():
    ahead_ms = int((time.time() + 86_400) * 1000)
    ahead = str(uuid6.UUID(int=(ahead_ms << 80) | 0xFFF_FFFF, version=7))
    made = [new_event_id(after=ahead) for _ in range(3)]
    assert all(m > ahead and re.fullmatch(UUID7_PATTERN, m) for m in made)
    past = new_event_id()
    assert new_event_id(after=past) > past
