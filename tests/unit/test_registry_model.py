"""The proxy-request state machine and its rules, with no store and no bus."""

from datetime import UTC, date, datetime

import pytest

from contracts.agreement import HandlingCode
from contracts.catalogue import ALL_CONTRACTS
from contracts.events.registry import PromisedMaterial
from services.bus.handlers import NotApplicable
from services.handling import OnwardDisseminationRefused, check_onward
from services.registry.catalogue import registry_service
from services.registry.handlers import HANDLERS
from services.registry.model import (
    ACCEPTED,
    COMPLETED,
    CROSSING,
    MATERIAL_UPLOADED,
    MATERIALS_REQUESTED,
    MATERIALS_SUPPLIED,
    REJECTED,
    REQUESTED,
    SENT_BY,
    TRANSITIONS,
    DueBeyondTimeLimit,
    IllegalStep,
    MaterialsOutstanding,
    MissingMaterials,
    PromiseRefused,
    Side,
    State,
    UnknownRequest,
    UnknownService,
    WrongParty,
    after_supply,
    check_due,
    check_materials,
    check_nothing_owed,
    check_sender,
    check_service,
    due_date,
    next_state,
    registry_day,
)

EVENT_TYPES = [REQUESTED, ACCEPTED, MATERIALS_REQUESTED, MATERIALS_SUPPLIED, COMPLETED, REJECTED]
STATES: list[State | None] = [None, *State]
ILLEGAL = [(s, e) for s in STATES for e in EVENT_TYPES if (s, e) not in TRANSITIONS]
DALANG, QIANFENG = "dongguan-dalang", "guangan-qianfeng"
FILED = date(2026, 5, 20)


def _promise(name: str, on: str = "2026-06-01") -> PromisedMaterial:
    return PromisedMaterial(name=name, promised_on=on)


@pytest.mark.parametrize(("step", "after"), list(TRANSITIONS.items()), ids=str)
def test_every_allowed_step_leads_where_the_table_says(step, after):
    state, event_type = step
    assert next_state("R-1", state, event_type) is after


@pytest.mark.parametrize(("state", "event_type"), ILLEGAL, ids=str)
def test_every_step_the_table_lacks_is_refused_with_a_typed_error(state, event_type):
    expected = UnknownRequest if state is None else IllegalStep
    with pytest.raises(expected) as refused:
        next_state("R-1", state, event_type)
    assert isinstance(refused.value, NotApplicable)
    assert "R-1" in str(refused.value) and event_type in str(refused.value)


def test_a_final_request_takes_only_a_supply_that_crossed_its_answer():
    for final in (State.COMPLETED, State.REJECTED):
        assert [e for (s, e) in TRANSITIONS if s is final] == [MATERIALS_SUPPLIED]
        assert next_state("R-1", final, MATERIALS_SUPPLIED) is final
        assert (final, MATERIALS_SUPPLIED) in CROSSING


@pytest.mark.parametrize(("state", "event_type"), sorted(CROSSING), ids=str)
def test_no_node_sends_a_step_that_is_taken_only_as_received(state, event_type):
    with pytest.raises(IllegalStep, match="not allowed"):
        next_state("R-1", state, event_type, sending=True)


@pytest.mark.parametrize(("step", "after"), list(TRANSITIONS.items()), ids=str)
def test_every_other_allowed_step_may_be_sent(step, after):
    if step not in CROSSING:
        assert next_state("R-1", *step, sending=True) is after


def test_the_flow_reaches_every_state_from_filing():
    reached, frontier = set(), {None}
    while frontier:
        reached |= frontier
        frontier = {after for (s, _), after in TRANSITIONS.items() if s in frontier} - reached
    assert reached == {None, *State}


def test_every_registry_contract_has_exactly_one_handler_and_one_sending_side():
    types = sorted(m.event_type for m in ALL_CONTRACTS if m.event_type.startswith("registry."))
    assert sorted(HANDLERS) == types == sorted([*EVENT_TYPES, MATERIAL_UPLOADED]) == sorted(SENT_BY)


@pytest.mark.parametrize("event_type", [*EVENT_TYPES, MATERIAL_UPLOADED])
def test_only_the_side_that_owns_a_step_may_send_it(event_type):
    right, wrong = (
        (DALANG, QIANFENG) if SENT_BY[event_type] is Side.REQUESTER else (QIANFENG, DALANG)
    )
    check_sender(event_type, right, requester=DALANG, home=QIANFENG)
    with pytest.raises(WrongParty):
        check_sender(event_type, wrong, requester=DALANG, home=QIANFENG)


def test_a_request_missing_a_required_material_that_is_not_promised_is_refused():
    service = registry_service("id_card_renewal")
    with pytest.raises(MissingMaterials, match="photo_receipt"):
        check_materials(service, ["id_card", "household_register"], [], FILED)


def test_a_missing_material_is_allowed_when_it_is_promised():
    service = registry_service("id_card_renewal")
    check_materials(service, ["id_card", "household_register"], [_promise("photo_receipt")], FILED)


@pytest.mark.parametrize(
    ("promised", "words"),
    [
        ([_promise("photo_receipt", "2026-05-19")], "before 2026-05-20"),
        ([_promise("photo_receipt"), _promise("photo_receipt")], "promised twice"),
        ([_promise("photo_receipt"), _promise("id_card")], "id_card is supplied already"),
    ],
)
def test_a_promise_in_the_past_twice_or_for_a_supplied_material_is_refused(promised, words):
    service = registry_service("id_card_renewal")
    with pytest.raises(PromiseRefused, match=words):
        check_materials(service, ["id_card", "household_register"], promised, FILED)


def test_a_service_code_outside_the_catalogue_is_refused():
    with pytest.raises(UnknownService, match="no_such_service"):
        registry_service("no_such_service")


def test_a_time_limit_other_than_the_catalogues_is_refused():
    service = registry_service("household_certificate")
    check_service(service, 3)
    with pytest.raises(UnknownService, match="3 days"):
        check_service(service, 30)


def test_a_request_for_materials_stays_open_until_every_material_asked_for_is_in():
    before, after = State.MATERIALS_REQUESTED, State.ACCEPTED
    assert after_supply(before, after, asked_still_owed=True) is State.MATERIALS_REQUESTED
    assert after_supply(before, after, asked_still_owed=False) is State.ACCEPTED


def test_a_supply_outside_a_request_for_materials_keeps_the_tables_state():
    for before in (State.REQUESTED, State.ACCEPTED, State.REJECTED):
        after = next_state("R-1", before, MATERIALS_SUPPLIED)
        assert after_supply(before, after, asked_still_owed=True) is after


def test_completion_needs_nothing_owed():
    check_nothing_owed([])
    with pytest.raises(MaterialsOutstanding, match="photo_receipt"):
        check_nothing_owed(["photo_receipt"])


def test_due_date_is_acceptance_plus_the_time_limit_in_calendar_days():
    assert due_date(FILED, registry_service("id_card_renewal").time_limit_days) == date(2026, 7, 19)
    assert due_date(date(2026, 12, 30), 3) == date(2027, 1, 2)


def test_a_due_day_may_come_sooner_than_the_limit_never_later_nor_before_acceptance():
    check_due(FILED, date(2026, 5, 23), 3)
    check_due(FILED, FILED, 3)
    for wrong in (date(2026, 5, 24), date(2026, 5, 19)):
        with pytest.raises(DueBeyondTimeLimit):
            check_due(FILED, wrong, 3)


def test_a_registry_day_is_a_day_of_china_standard_time():
    assert registry_day(datetime(2026, 5, 20, 15, 59, tzinfo=UTC)) == date(2026, 5, 20)
    assert registry_day(datetime(2026, 5, 20, 16, 0, tzinfo=UTC)) == date(2026, 5, 21)


def test_h2_case_is_never_sent_to_a_third_jurisdiction():
    # Qianfeng's registry holds a request received from Dalang's window under H2.
    check_onward(QIANFENG, "R1", DALANG, HandlingCode.H2, [QIANFENG], DALANG)
    check_onward(QIANFENG, "R1", DALANG, HandlingCode.H0, [QIANFENG], "shenzhen-longgang")
    with pytest.raises(OnwardDisseminationRefused, match="shenzhen-longgang"):
        check_onward(QIANFENG, "R1", DALANG, HandlingCode.H2, [QIANFENG], "shenzhen-longgang")
