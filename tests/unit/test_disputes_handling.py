"""Handling codes on the sending side: a case received under H2 stays with those who hold it."""

import pytest

from services.handling import OnwardDisseminationRefused, check_onward

DALANG, QIANFENG, LONGGANG = "dongguan-dalang", "guangan-qianfeng", "shenzhen-longgang"
HOLDERS = {DALANG, QIANFENG}


def test_a_case_received_under_h2_is_not_sent_to_a_third_jurisdiction() -> None:
    with pytest.raises(OnwardDisseminationRefused) as refused:
        check_onward(QIANFENG, "dispute DL-1", DALANG, "H2", HOLDERS, LONGGANG)
    message = str(refused.value)
    assert "received from dongguan-dalang under H2 (no onward dissemination)" in message
    assert "to shenzhen-longgang" in message
    assert refused.value.reason == "onward_dissemination_refused"


@pytest.mark.parametrize("recipient", [DALANG, QIANFENG])
def test_a_case_received_under_h2_still_travels_between_those_who_hold_it(recipient: str) -> None:
    check_onward(QIANFENG, "dispute DL-1", DALANG, "H2", HOLDERS, recipient)


def test_the_originator_is_bound_by_no_code_of_its_own() -> None:
    check_onward(DALANG, "dispute DL-1", DALANG, "H2", HOLDERS, LONGGANG)


@pytest.mark.parametrize("handling", ["H0", "H1", "H3", None])
def test_only_h2_forbids_onward_dissemination(handling: str | None) -> None:
    check_onward(QIANFENG, "dispute DL-1", DALANG, handling, HOLDERS, LONGGANG)
