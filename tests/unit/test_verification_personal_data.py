"""Stage 2, personal data: it travels sealed to the recipient, and any tampering is caught."""

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from contracts import errors
from contracts.canonical import b64decode, b64encode
from contracts.keys import public_raw
from services.bus.personal_data import PREFIX
from tests.support.envelopes import LAO_HUANG_ID, Exchange, resign, with_data


@pytest.fixture(scope="module")
def exchange() -> Exchange:
    return Exchange()


def _flip_last_byte(value: str) -> str:
    blob = bytearray(b64decode(value.removeprefix(PREFIX)))
    blob[-1] ^= 0x01
    return PREFIX + b64encode(bytes(blob))


def test_personal_fields_are_sealed_on_the_wire_and_opened_for_the_recipient(
    exchange: Exchange,
) -> None:
    envelope = exchange.envelope()
    assert LAO_HUANG_ID.encode() not in envelope.wire_bytes()
    assert "广兴镇".encode() not in envelope.wire_bytes()
    assert envelope.data["parties"][0]["name"] == "老黄"  # not personal data: in clear
    assert envelope.pdkid == exchange.qianfeng.enc_kid
    verified = exchange.verify(envelope.wire_bytes())
    assert verified.event.model_dump()["parties"][0]["id_number"] == LAO_HUANG_ID


def test_personal_field_sent_in_clear_is_refused(exchange: Exchange) -> None:
    envelope = exchange.envelope()

    def reveal(data: dict[str, object]) -> None:
        data["parties"][1]["id_number"] = "511603197108250031"  # type: ignore[index]

    raw = resign(envelope, exchange.dalang.sig, data=with_data(envelope, reveal))
    with pytest.raises(errors.PersonalDataInClear, match=r"parties\.1\.id_number"):
        exchange.verify(raw)


def test_personal_data_in_clear_without_any_sealing_is_refused(exchange: Exchange) -> None:
    unsealed = Exchange(dalang=exchange.dalang, qianfeng=exchange.qianfeng, personal=[])
    envelope = unsealed.envelope()
    assert envelope.pdepk is None and LAO_HUANG_ID in str(envelope.data)
    with pytest.raises(errors.PersonalDataInClear):
        exchange.verify(envelope.wire_bytes())


def test_tampered_ciphertext_fails_to_decrypt(exchange: Exchange) -> None:
    envelope = exchange.envelope()

    def tamper(data: dict[str, object]) -> None:
        party = data["parties"][0]  # type: ignore[index]
        party["id_number"] = _flip_last_byte(party["id_number"])

    raw = resign(envelope, exchange.dalang.sig, data=with_data(envelope, tamper))
    with pytest.raises(errors.DecryptionFailed, match=r"parties\.0\.id_number"):
        exchange.verify(raw)


def test_ciphertext_moved_to_another_field_fails_to_decrypt(exchange: Exchange) -> None:
    envelope = exchange.envelope()

    def swap(data: dict[str, object]) -> None:
        huang, cheng = data["parties"]  # type: ignore[misc]
        huang["id_number"], cheng["id_number"] = cheng["id_number"], huang["id_number"]

    raw = resign(envelope, exchange.dalang.sig, data=with_data(envelope, swap))
    with pytest.raises(errors.DecryptionFailed):
        exchange.verify(raw)


def test_ciphertext_copied_from_another_envelope_fails_to_decrypt(exchange: Exchange) -> None:
    first, second = exchange.envelope(), exchange.envelope()
    raw = resign(second, exchange.dalang.sig, data=first.data, pdepk=first.pdepk)
    with pytest.raises(errors.DecryptionFailed):
        exchange.verify(raw)


def test_sealed_to_a_key_this_node_does_not_hold_fails_to_decrypt(exchange: Exchange) -> None:
    raw = resign(exchange.envelope(), exchange.dalang.sig, pdkid="guangan-qianfeng/enc/0000")
    with pytest.raises(errors.DecryptionFailed, match="no private key"):
        exchange.verify(raw)


def test_wrong_ephemeral_key_fails_to_decrypt(exchange: Exchange) -> None:
    other = b64encode(public_raw(X25519PrivateKey.generate()))
    raw = resign(exchange.envelope(), exchange.dalang.sig, pdepk=other)
    with pytest.raises(errors.DecryptionFailed):
        exchange.verify(raw)


def test_sealed_fields_without_pdkid_and_pdepk_fail_to_decrypt(exchange: Exchange) -> None:
    raw = resign(exchange.envelope(), exchange.dalang.sig, pdkid=None, pdepk=None)
    with pytest.raises(errors.DecryptionFailed, match="no pdepk"):
        exchange.verify(raw)
