"""Personal-data sealing: which fields a path pattern names, and how they are sealed and opened."""

import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from contracts import errors
from contracts.canonical import b64decode
from services.bus.envelope import new_event_id
from services.bus.personal_data import (
    MASK,
    PREFIX,
    _seal,
    is_sealed,
    locate,
    mask_fields,
    open_fields,
    seal_fields,
    uuid_bytes,
)

RECIPIENT = X25519PrivateKey.generate()
DATA: dict[str, Any] = {
    "applicant": {"name": "老程", "address": "广兴镇", "contact": {"phone": "13800000002"}},
    "parties": [
        {"name": "老黄", "id_number": "511603196803120058"},
        {"name": "Officer Li"},
        {"name": "老程", "id_number": None},
        {"name": "老程", "id_number": "511603197108250031"},
    ],
    "phones": ["13800000001", None, "13800000003"],
}


def _paths(pattern: str, data: Any = DATA) -> list[str]:
    return [path for path, _, _ in locate(data, pattern)]


def test_list_pattern_names_each_element_by_its_index_and_skips_absent_or_null() -> None:
    assert _paths("parties[].id_number") == ["parties.0.id_number", "parties.3.id_number"]


def test_dotted_pattern_names_a_nested_member() -> None:
    assert _paths("applicant.address") == ["applicant.address"]
    assert _paths("applicant.contact.phone") == ["applicant.contact.phone"]


def test_pattern_ending_in_brackets_names_each_non_null_element() -> None:
    assert _paths("phones[]") == ["phones.0", "phones.2"]


@pytest.mark.parametrize(
    ("pattern", "data"),
    [
        ("parties[].id_number", {"parties": {"id_number": "x"}}),
        ("applicant.address", {"applicant": "Xiangtou"}),
        ("applicant.address", {}),
        ("phones[]", {"phones": "13800000001"}),
    ],
)
def test_pattern_through_a_missing_or_differently_shaped_value_names_nothing(
    pattern: str, data: dict[str, Any]
) -> None:
    assert _paths(pattern, data) == []


def test_each_named_field_is_sealed_and_everything_else_left_in_clear() -> None:
    patterns = ["parties[].id_number", "applicant.address", "phones[]"]
    sealed, pdepk = seal_fields(DATA, patterns, new_event_id(), RECIPIENT.public_key())
    assert pdepk is not None and len(b64decode(pdepk)) == 32
    assert is_sealed(sealed["parties"][0]["id_number"]) and is_sealed(sealed["phones"][2])
    assert sealed["parties"][2]["id_number"] is None and sealed["phones"][1] is None
    assert sealed["applicant"]["name"] == "老程" and sealed["parties"][1] == {"name": "Officer Li"}
    assert DATA["parties"][0]["id_number"] == "511603196803120058"  # the input is not changed


def test_a_whole_object_can_be_one_sealed_field() -> None:
    event_id = new_event_id()
    sealed, pdepk = seal_fields(DATA, ["applicant.contact"], event_id, RECIPIENT.public_key())
    assert pdepk is not None and is_sealed(sealed["applicant"]["contact"])
    assert open_fields(sealed, ["applicant.contact"], event_id, pdepk, RECIPIENT) == DATA


def test_no_personal_field_present_means_nothing_sealed_and_no_pdepk() -> None:
    plain = {"parties": [{"name": "Officer Li"}]}
    assert seal_fields(plain, ["parties[].id_number"], new_event_id(), RECIPIENT.public_key()) == (
        plain,
        None,
    )


def test_every_field_gets_its_own_nonce_and_every_envelope_its_own_ephemeral_key() -> None:
    event_id = new_event_id()
    first, pdepk_1 = seal_fields(DATA, ["phones[]"], event_id, RECIPIENT.public_key())
    second, pdepk_2 = seal_fields(DATA, ["phones[]"], event_id, RECIPIENT.public_key())
    nonces = [
        b64decode(v.removeprefix(PREFIX))[:12] for v in (first["phones"][0], first["phones"][2])
    ]
    assert nonces[0] != nonces[1]
    assert pdepk_1 != pdepk_2 and first["phones"][0] != second["phones"][0]


def test_sealing_with_a_given_ephemeral_key_and_nonces_is_deterministic() -> None:
    ephemeral, event_id = X25519PrivateKey.generate(), new_event_id()

    def nonce(path: str) -> bytes:
        return path.encode().ljust(12, b"\0")[:12]

    once = _seal(DATA, ["phones[]"], event_id, RECIPIENT.public_key(), lambda: ephemeral, nonce)
    twice = _seal(DATA, ["phones[]"], event_id, RECIPIENT.public_key(), lambda: ephemeral, nonce)
    assert once == twice
    assert b64decode(once[0]["phones"][2].removeprefix(PREFIX))[:12] == b"phones.2\0\0\0\0"


def test_field_in_clear_where_a_sealed_one_is_expected_is_refused() -> None:
    event_id = new_event_id()
    sealed, pdepk = seal_fields(DATA, ["phones[]"], event_id, RECIPIENT.public_key())
    assert pdepk is not None
    sealed["phones"][0] = "13800000001"
    with pytest.raises(errors.PersonalDataInClear, match=r"phones\.0"):
        open_fields(sealed, ["phones[]"], event_id, pdepk, RECIPIENT)


@pytest.mark.parametrize("pdepk", ["", "AAAA", "not base64"])
def test_pdepk_that_is_not_an_x25519_public_key_fails_to_decrypt(pdepk: str) -> None:
    event_id = new_event_id()
    sealed, _ = seal_fields(DATA, ["phones[]"], event_id, RECIPIENT.public_key())
    with pytest.raises(errors.DecryptionFailed):
        open_fields(sealed, ["phones[]"], event_id, pdepk, RECIPIENT)


def test_another_recipients_key_does_not_open_it() -> None:
    event_id = new_event_id()
    sealed, pdepk = seal_fields(DATA, ["phones[]"], event_id, RECIPIENT.public_key())
    assert pdepk is not None
    with pytest.raises(errors.DecryptionFailed):
        open_fields(sealed, ["phones[]"], event_id, pdepk, X25519PrivateKey.generate())


def test_masking_for_logs_hides_every_named_field() -> None:
    masked = mask_fields(DATA, ["parties[].id_number", "applicant.address", "phones[]"])
    assert masked["parties"][0]["id_number"] == MASK and masked["applicant"]["address"] == MASK
    assert masked["phones"] == [MASK, None, MASK]
    assert "511603" not in str(masked)


def test_an_event_ids_bytes_are_those_of_its_uuid() -> None:
    for event_id in [new_event_id(), str(uuid.uuid4()), new_event_id().upper()]:
        assert uuid_bytes(event_id) == uuid.UUID(event_id).bytes


@pytest.mark.parametrize(
    "text",
    [
        "",
        "0" * 32,
        "{" + new_event_id() + "}",
        "urn:uuid:" + new_event_id(),
        new_event_id().replace("-", " "),
        new_event_id()[:-1] + "g",
        new_event_id()[:8] + " " + new_event_id()[9:],
        new_event_id()[:-2] + " 1",
    ],
)
def test_an_id_not_in_the_standard_uuid_form_has_no_bytes(text: str) -> None:
    with pytest.raises(ValueError):
        uuid_bytes(text)
