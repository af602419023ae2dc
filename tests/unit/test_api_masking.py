"""Who sees personal data in full, and what the others see."""

import re

import pytest

from contracts.events.common import CaseId, Person
from gateway.masking import (
    disclosed,
    mask_address,
    mask_id_number,
    mask_phone,
    masked_person,
    registry_disclosure,
)
from gateway.routes.registry_models import CASE_ID_PATTERN
from services.users.access_log import Disclosure
from services.users.model import Role

DALANG, QIANFENG, LONGGANG = "dongguan-dalang", "guangan-qianfeng", "shenzhen-longgang"
ID_NUMBER = "511602199003071232"


def test_identity_number_keeps_region_code_and_last_four():
    assert mask_id_number(ID_NUMBER) == "511602********1232"
    assert mask_id_number("51160219900307123X") == "511602********123X"


def test_short_identity_number_is_hidden_entirely():
    assert mask_id_number("1234567890") == "**********"


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13800138000", "138****8000"),
        ("+86 138 0013 8000", "+86 1** **** 8000"),
        ("12345", "*****"),
    ],
)
def test_phone_keeps_first_three_and_last_four_digits(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("四川省广安市前锋区广兴镇", "四川省****"),
        ("广兴镇石桥村8组", "广兴****"),  # 8 characters: two of them
        ("石桥村", "石****"),
        ("12号", "1****"),
        ("8组", "****"),
    ],
)
def test_address_keeps_its_first_three_characters_and_never_more_than_a_third(address, masked):
    assert mask_address(address) == masked


def test_masked_person_keeps_name_and_home_and_masks_the_rest():
    person = Person(
        name="Lao Huang", home_jurisdiction=QIANFENG, id_number=ID_NUMBER, phone="13800138000"
    )

    assert masked_person(person) == {
        "name": "Lao Huang",
        "home_jurisdiction": QIANFENG,
        "id_number": "511602********1232",
        "phone": "138****8000",
        "address": None,
    }


@pytest.mark.parametrize("role", [Role.WINDOW_CLERK, Role.ADMIN])
def test_clerks_of_a_party_and_admins_see_in_full(role):
    assert registry_disclosure(role, DALANG, DALANG, QIANFENG) is Disclosure.FULL
    assert registry_disclosure(role, QIANFENG, DALANG, QIANFENG) is Disclosure.FULL


def test_a_clerk_of_a_node_not_party_to_the_request_sees_it_masked():
    assert registry_disclosure(Role.WINDOW_CLERK, LONGGANG, DALANG, QIANFENG) is Disclosure.MASKED


@pytest.mark.parametrize("role", [Role.COMMAND_CENTRE, Role.AUDITOR, Role.OFFICER, Role.MEDIATOR])
def test_every_other_role_sees_masked(role):
    assert registry_disclosure(role, DALANG, DALANG, QIANFENG) is Disclosure.MASKED


def test_only_fields_with_a_value_are_logged_as_disclosed():
    person = Person(name="Lao Cheng", home_jurisdiction=QIANFENG, phone="13900139000")

    shown = disclosed("applicant", person, Disclosure.MASKED)

    assert shown.fields == ("applicant.phone",)
    assert (
        disclosed(
            "applicant", Person(name="x", home_jurisdiction=QIANFENG), shown.disclosure
        ).fields
        == ()
    )


def test_path_pattern_for_request_ids_is_the_contracts_case_id():
    contract = CaseId.__metadata__[0].metadata[0].pattern
    assert contract == CASE_ID_PATTERN
    assert re.match(CASE_ID_PATTERN, "dongguan-dalang:20260520-1a2b3c4d")
