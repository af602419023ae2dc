"""The dispute state machine and its rules, without a store."""

import itertools
from typing import Any

import pytest

from contracts.catalogue import ALL_CONTRACTS
from contracts.events.base import EventData
from contracts.events.common import Person
from contracts.events.disputes import (
    DisputeClosedV1,
    DisputeEscalatedV1,
    DisputeRegradedV1,
    DisputeReportedV1,
    DisputeResolvedV1,
)
from contracts.events.mediation import MediationClosedV1
from services.disputes.handlers import HANDLERS
from services.disputes.model import (
    TRANSITIONS,
    ClosureMismatch,
    Dispute,
    DisputeState,
    IllegalDisputeTransition,
    LadderStepRefused,
    NotDisputeOwner,
    StaleRiskGrade,
    as_named,
    check_regrade,
    check_step,
    next_level,
    next_state,
    partners_concerned,
)

DALANG, QIANFENG, LONGGANG = "dongguan-dalang", "guangan-qianfeng", "shenzhen-longgang"
DAY = "2026-05-20"
EVENT_TYPES = {
    "dispute.reported",
    "dispute.regraded",
    "dispute.escalated",
    "dispute.resolved",
    "dispute.closed",
    "mediation.closed",
}


def _dispute(state: DisputeState = DisputeState.REPORTED, **changes: Any) -> Dispute:
    values: dict[str, Any] = {
        "dispute_id": "DL-1",
        "originator": DALANG,
        "state": state,
        "risk": "medium",
        "level": 2,
        "holders": frozenset({DALANG, QIANFENG}),
        "handling": "H2",
        "correlation": "c",
        "last_event_id": "e",
    }
    return Dispute(**values | changes)


def _reported(**changes: Any) -> DisputeReportedV1:
    data: dict[str, Any] = {
        "dispute_id": "DL-1",
        "reported_in": DALANG,
        "category": "land",
        "risk": "medium",
        "source": "walk_in",
        "place": "Dalang",
        "parties": [{"name": "老黄", "home_jurisdiction": QIANFENG}],
        "narrative": "A fight.",
        "occurred_on": DAY,
    }
    return DisputeReportedV1.model_validate(data | changes)


def _event(event_type: str, **changes: Any) -> EventData:
    """A valid event of `event_type` for dispute DL-1 at risk medium, level 2."""
    examples: dict[str, EventData] = {
        "dispute.reported": _reported(),
        "dispute.regraded": DisputeRegradedV1(
            dispute_id="DL-1", previous_risk="medium", risk="high", reason="r", regraded_on=DAY
        ),
        "dispute.escalated": DisputeEscalatedV1(
            dispute_id="DL-1", previous_level=2, level=3, reason="r", escalated_on=DAY
        ),
        "dispute.resolved": DisputeResolvedV1(
            dispute_id="DL-1", level=2, outcome="settled_by_parties", resolved_on=DAY
        ),
        "dispute.closed": DisputeClosedV1(
            dispute_id="DL-1", closure="withdrawn", closed_by=DALANG, closed_on=DAY
        ),
        "mediation.closed": MediationClosedV1(
            mediation_id="LM-1",
            dispute_id="DL-1",
            closed_by=DALANG,
            closure="agreement_signed",
            terms_digest="a" * 64,
            closed_on=DAY,
        ),
    }
    event = examples[event_type]
    return event.model_copy(update=changes) if changes else event


@pytest.mark.parametrize(("state", "event_type"), sorted(TRANSITIONS))
def test_every_allowed_transition_leads_where_the_table_says(
    state: DisputeState, event_type: str
) -> None:
    closure = {"closure": "resolved"} if state == DisputeState.RESOLVED else {}
    event = _event(event_type, **closure) if event_type == "dispute.closed" else _event(event_type)
    dispute = None if state == DisputeState.NEW else _dispute(state)
    assert check_step(dispute, event, DALANG) == TRANSITIONS[(state, event_type)]


ILLEGAL = [
    (state, event_type)
    for state, event_type in itertools.product(DisputeState, sorted(EVENT_TYPES))
    if (state, event_type) not in TRANSITIONS
]


@pytest.mark.parametrize(("state", "event_type"), ILLEGAL)
def test_every_transition_missing_from_the_table_is_refused(
    state: DisputeState, event_type: str
) -> None:
    with pytest.raises(IllegalDisputeTransition):
        next_state(state, event_type)


def test_a_closed_dispute_takes_no_further_step() -> None:
    with pytest.raises(IllegalDisputeTransition, match="closed dispute"):
        check_step(_dispute(DisputeState.CLOSED), _event("dispute.regraded"), DALANG)


def test_the_handler_table_has_one_handler_per_dispute_contract() -> None:
    types = {c.event_type for c in ALL_CONTRACTS if c.event_type.startswith("dispute.")}
    assert set(HANDLERS) == types


@pytest.mark.parametrize(
    "event_type", ["dispute.regraded", "dispute.escalated", "dispute.resolved", "dispute.closed"]
)
def test_only_the_reporting_jurisdiction_takes_the_dispute_through_its_lifecycle(
    event_type: str,
) -> None:
    with pytest.raises(NotDisputeOwner, match="reported in dongguan-dalang"):
        check_step(_dispute(), _event(event_type), QIANFENG)


def test_a_dispute_is_reported_only_by_the_jurisdiction_it_was_reported_in() -> None:
    with pytest.raises(NotDisputeOwner):
        check_step(None, _reported(), QIANFENG)


def test_either_side_of_a_mediation_may_resolve_the_dispute_by_closing_it() -> None:
    assert check_step(_dispute(), _event("mediation.closed"), QIANFENG) == DisputeState.RESOLVED


@pytest.mark.parametrize("closure", ["no_agreement", "withdrawn"])
def test_a_mediation_closed_without_agreement_leaves_the_dispute_open(closure: str) -> None:
    event = _event("mediation.closed", closure=closure, terms_digest=None)
    with pytest.raises(IllegalDisputeTransition, match="does not resolve"):
        check_step(_dispute(), event, DALANG)


def test_a_regrade_must_start_from_the_grade_the_dispute_has() -> None:
    with pytest.raises(StaleRiskGrade):
        check_step(_dispute(risk="low"), _event("dispute.regraded"), DALANG)


def test_a_regrade_to_the_same_grade_is_refused() -> None:
    with pytest.raises(StaleRiskGrade):
        check_regrade("high", "high")


@pytest.mark.parametrize(("previous", "level"), [(2, 4), (1, 2), (3, 4)])
def test_the_ladder_is_climbed_one_level_at_a_time_from_where_the_dispute_stands(
    previous: int, level: int
) -> None:
    event = _event("dispute.escalated", previous_level=previous, level=level)
    with pytest.raises(LadderStepRefused):
        check_step(_dispute(level=2), event, DALANG)


def test_next_level_stops_at_the_multi_department_session() -> None:
    assert [next_level(n) for n in range(1, 5)] == [2, 3, 4, 5]
    with pytest.raises(LadderStepRefused, match="top"):
        next_level(5)


@pytest.mark.parametrize(
    ("state", "closure"),
    [(DisputeState.REPORTED, "resolved"), (DisputeState.RESOLVED, "withdrawn")],
)
def test_a_dispute_closes_as_resolved_exactly_when_it_was_resolved(
    state: DisputeState, closure: str
) -> None:
    with pytest.raises(ClosureMismatch):
        check_step(_dispute(state), _event("dispute.closed", closure=closure), DALANG)


def test_the_closer_is_named_as_itself() -> None:
    with pytest.raises(NotDisputeOwner):
        check_step(_dispute(), _event("dispute.closed", closed_by=QIANFENG), DALANG)


def test_partners_concerned_are_the_other_home_jurisdictions_of_the_parties() -> None:
    parties = [
        Person(name="a", home_jurisdiction=QIANFENG),
        Person(name="b", home_jurisdiction=DALANG),
        Person(name="c", home_jurisdiction=LONGGANG),
        Person(name="d", home_jurisdiction=QIANFENG),
    ]
    assert partners_concerned(DALANG, parties) == [QIANFENG, LONGGANG]


def test_a_named_person_carries_no_personal_data() -> None:
    person = Person(
        name="老黄",
        home_jurisdiction=QIANFENG,
        id_number="511603196803120015",
        phone="13800000001",
        address="广兴镇",
    )
    assert as_named(person).model_dump(exclude_none=True) == {
        "name": "老黄",
        "home_jurisdiction": QIANFENG,
    }


def test_counterparts_are_every_other_holder() -> None:
    dispute = _dispute(holders=frozenset({DALANG, QIANFENG, LONGGANG}))
    assert dispute.counterparts(DALANG) == [QIANFENG, LONGGANG]
    assert dispute.counterparts(QIANFENG) == [DALANG, LONGGANG]
