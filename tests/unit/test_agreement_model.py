from datetime import date

import pytest
import yaml

from contracts.agreement import (
    AgreementFileError,
    InvalidAgreement,
    parse_agreement,
    parse_document,
    signing_bytes,
)
from contracts.keys import key_id, public_raw
from tests.support.trust import Bureau, agreement_document, flow, sign_document

ON = date(2026, 5, 1)


def _parties() -> tuple[Bureau, Bureau]:
    return Bureau("dongguan-dalang"), Bureau("guangan-qianfeng")


def _document(dalang: Bureau, qianfeng: Bureau) -> dict:
    return agreement_document(
        [dalang, qianfeng],
        [flow("dispute.reported", [dalang, qianfeng], handling="H2")],
        {"dispute.reported": ["parties[].id_number"]},
    )


def test_agreement_is_in_force_only_when_every_party_has_signed():
    dalang, qianfeng = _parties()
    document = _document(dalang, qianfeng)

    half = sign_document(document, [dalang])
    full = sign_document(document, [dalang, qianfeng])

    assert not half.in_force(ON)
    assert half.problems(ON) == ["not signed by guangan-qianfeng"]
    assert full.in_force(ON)
    assert full.signed_by() == ["dongguan-dalang", "guangan-qianfeng"]


def test_a_changed_field_breaks_every_signature():
    dalang, qianfeng = _parties()
    signed = sign_document(_document(dalang, qianfeng), [dalang, qianfeng])
    tampered = dict(signed.document, retention_days=36500)

    reloaded = parse_agreement(yaml.safe_dump(tampered, allow_unicode=True))

    assert not reloaded.in_force(ON)
    assert reloaded.signature_problems() == [
        "signature of dongguan-dalang: does not verify",
        "signature of guangan-qianfeng: does not verify",
        "not signed by dongguan-dalang",
        "not signed by guangan-qianfeng",
    ]


def test_signature_by_a_revoked_key_does_not_count():
    dalang, qianfeng = _parties()
    dalang.key_overrides = {"sig": {"revoked_at": "2025-01-01T00:00:00Z"}}

    signed = sign_document(_document(dalang, qianfeng), [dalang, qianfeng])

    assert not signed.in_force(ON)
    assert f"signature of dongguan-dalang: key {dalang.sig_kid} is revoked" in signed.problems(ON)


def test_signature_made_with_another_partys_key_does_not_count():
    dalang, qianfeng = _parties()
    document = _document(dalang, qianfeng)
    signed = sign_document(document, [dalang, qianfeng])
    forged = signed.document | {
        "signatures": [
            signed.document["signatures"][0],
            # Dalang's valid signature presented as Qianfeng's.
            dict(signed.document["signatures"][0], party="guangan-qianfeng"),
        ]
    }

    reloaded = parse_agreement(yaml.safe_dump(forged, allow_unicode=True))

    assert not reloaded.in_force(ON)
    assert "not signed by guangan-qianfeng" in reloaded.problems(ON)
    assert reloaded.signed_by() == ["dongguan-dalang"]


def test_signed_agreement_is_in_force_only_between_its_effective_dates():
    dalang, qianfeng = _parties()
    document = _document(dalang, qianfeng) | {
        "effective_from": "2022-03-01",
        "effective_until": "2027-02-28",
    }
    signed = sign_document(document, [dalang, qianfeng])

    assert signed.in_force(date(2022, 3, 1)) and signed.in_force(date(2027, 2, 28))
    assert signed.problems(date(2022, 2, 28)) == [
        "not yet effective on 2022-02-28: takes effect on 2022-03-01"
    ]
    assert signed.problems(date(2027, 3, 1)) == [
        "no longer effective on 2027-03-01: ended on 2027-02-28"
    ]


def test_signed_bytes_leave_out_only_the_signatures():
    dalang, qianfeng = _parties()
    document = _document(dalang, qianfeng)
    signed = sign_document(document, [dalang, qianfeng])

    assert signed.signing_bytes() == signing_bytes(document)
    assert b'"effective_from":"2022-01-01"' in signed.signing_bytes()


def test_dates_stay_strings_when_the_file_is_read():
    document = parse_document("effective_from: 2022-03-01\nvalid_from: 2022-01-01T00:00:00Z\n")

    assert document == {"effective_from": "2022-03-01", "valid_from": "2022-01-01T00:00:00Z"}


def test_invalid_agreement_lists_every_field_in_error():
    dalang, qianfeng = _parties()
    document = _document(dalang, qianfeng)
    document["version"] = 0
    document["flows"][0]["recipients"] = ["dongguan-dalang", "chengdu-jinjiang"]
    document["parties"][0]["keys"][0]["public"] = "not base64!"

    with pytest.raises(InvalidAgreement) as caught:
        parse_agreement(yaml.safe_dump(document, allow_unicode=True))

    fields = [p.split(":")[0] for p in caught.value.problems]
    assert fields == ["version", "parties.0.keys.0.public"]
    document["version"] = 1
    document["parties"][0]["keys"][0]["public"] = dalang.document()["keys"][0]["public"]
    with pytest.raises(InvalidAgreement) as caught:
        parse_agreement(yaml.safe_dump(document, allow_unicode=True))
    assert caught.value.problems == [
        "(top): flow dispute.reported names unknown party chengdu-jinjiang"
    ]


def test_key_pasted_under_the_wrong_party_is_refused():
    dalang, qianfeng = _parties()
    document = _document(dalang, qianfeng)
    document["parties"][0]["keys"][0] = qianfeng.document()["keys"][0]

    with pytest.raises(InvalidAgreement) as caught:
        parse_agreement(yaml.safe_dump(document, allow_unicode=True))

    expected = key_id("dongguan-dalang", "sig", public_raw(qianfeng.sig))
    assert caught.value.problems == [
        f"parties.0: key {qianfeng.sig_kid} does not match its public key (expected {expected})"
    ]


def test_bad_yaml_is_reported_in_one_line_with_its_position():
    with pytest.raises(AgreementFileError) as caught:
        parse_agreement("id: x\nflows: [a, b\nversion: 1\n")

    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("not valid YAML: line 3, column 8")
