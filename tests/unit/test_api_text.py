"""What the API's request bodies refuse in their text: a NUL, an identity number whose check
digit is wrong; saying where, never the value."""

import pytest

from gateway.routes.text import check_digit_matches, refusal


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
