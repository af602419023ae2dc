"""What the API's request bodies refuse in their text: a NUL, an identity number whose check
digit is wrong; saying where, never the value."""

import pytest
from pydantic import ValidationError

from gateway.routes.disputes_models import DisputeBatch
from gateway.routes.text import check_digit_matches, refusal

ID_NUMBER = "511602199003071232"


@pytest.mark.parametrize(
    ("id_number", "matches"),
    [
        ("511602199003071232", True),
        ("511603196803120058", True),
        ("11010519491231002X", True),  # an X check digit
        ("511602199003071233", False),
        ("511602199103071232", False),  # a digit of the birth date mistyped
        ("11010519491231002x", False),
        ("5116021990030712", True),  # not 18 characters: the contract's pattern refuses it
    ],
)
def test_an_identity_numbers_last_character_is_the_check_digit_of_the_17_before(id_number, matches):
    assert check_digit_matches(id_number) is matches


def test_a_refusal_names_where_and_never_the_value():
    body = {"parties": [{"name": "a"}, {"name": "b", "id_number": "511602199003071233"}]}

    assert refusal(body) == (
        "parties.1.id_number: its last character is not the check digit of the 17 before it"
    )
    assert refusal({"note": "a\x00b"}) == "note holds a NUL character"
    assert refusal({"id_number": "511602199003071232", "note": "fine"}) is None


def test_a_batch_is_checked_as_one_body_and_the_refusal_names_the_report() -> None:
    reports = [
        {
            "dispute_id": f"DL-{n}",
            "category": "wages_labour",
            "risk": "low",
            "source": "walk_in",
            "place": "Dalang",
            "parties": [
                {"name": "a", "home_jurisdiction": "guangan-qianfeng", "id_number": ID_NUMBER}
            ],
            "narrative": "Unpaid wages.",
            "occurred_on": "2026-03-02",
        }
        for n in range(5)
    ]
    assert DisputeBatch.model_validate({"reports": reports}).reports[4].dispute_id == "DL-4"
    reports[3] = reports[3] | {"narrative": "Unpaid\x00"}
    reports[4]["parties"][0]["id_number"] = ID_NUMBER[:-1] + "3"

    with pytest.raises(ValidationError) as refused:
        DisputeBatch.model_validate({"reports": reports})

    [error] = refused.value.errors()
    assert error["msg"] == "Value error, reports.3.narrative holds a NUL character"
