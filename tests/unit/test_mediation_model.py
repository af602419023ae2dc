"""The linked-mediation state machine and its rules, without a store."""

import itertools
from typing import Any

import pytest

from contracts.catalogue import ALL_CONTRACTS
from contracts.events.base import EventData
from contracts.events.mediation import (
    MediationAcceptedV1,
    MediationClosedV1,
    MediationDeclinedV1,
    MediationFindingsReportedV1,
    MediationOutcome,
    MediationOutcomeProposedV1,
    MediationOutcomeSignedV1,
    MediationRequestedV1,
    MediationTaskAssignedV1,
    outcome_digest,
)
from services.disputes.model import Dispute, DisputeState
from services.mediation.handlers import HANDLERS
from services.mediation.model import (
    TRANSITIONS,
    AlreadySigned,
    DigestMismatch,
    DisputeNotOpen,
    DuplicateTask,
    FindingsAlreadyReported,
    IllegalMediationTransition,
    Mediation,
    MediationState,
    NotPartyToCase,
    NotYourStep,
    SignatureMissing,
    Task,
    TaskStillOpen,
    UnknownTask,
    check_outcome_digest,
    check_request,
    check_step,
    next_state,
)

DALANG, QIANFENG, LONGGANG = "dongguan-dalang", "guangan-qianfeng", "shenzhen-longgang"
DAY, M = "2026-05-20", "LM-1"
OUTCOME = MediationOutcome(terms=["老黄 returns the land"])
DIGEST = outcome_digest(OUTCOME)
PERSON = {"name": "Tang", "home_jurisdiction": QIANFENG}
S = MediationState


def _case(state: MediationState = S.PROPOSED, **changes: Any) -> Mediation:
    values: dict[str, Any] = {
        "mediation_id": M,
        "dispute_id": "DL-1",
        "state": state,
        "requested_by": DALANG,
        "partner": QIANFENG,
        "dispute_owner": DALANG,
        "tasks": (Task("T1", DALANG, True), Task("T2", QIANFENG, True)),
        "terms_digest": DIGEST,
        "signed_by": frozenset({DALANG, QIANFENG}),
    }
    return Mediation(**values | changes)


def _event(event_type: str, **changes: Any) -> EventData:
    """A valid step of `event_type` as Dalang (or, for an answer, Qianfeng) would send it."""
    examples: dict[str, EventData] = {
        "mediation.accepted": MediationAcceptedV1(
            mediation_id=M, accepted_by=QIANFENG, officer=PERSON
        ),
        "mediation.declined": MediationDeclinedV1(
            mediation_id=M, declined_by=QIANFENG, reason="Guixing station takes it"
        ),
        "mediation.task_assigned": MediationTaskAssignedV1(
            mediation_id=M, task_id="T3", assignee_jurisdiction=QIANFENG, description="d"
        ),
        "mediation.findings_reported": MediationFindingsReportedV1(
            mediation_id=M, task_id="T1", reported_by=DALANG, findings="f", reported_on=DAY
        ),
        "mediation.outcome_proposed": MediationOutcomeProposedV1(
            mediation_id=M,
            proposed_by=DALANG,
            mediator=PERSON,
            outcome=OUTCOME,
            terms_digest=DIGEST,
        ),
        "mediation.outcome_signed": MediationOutcomeSignedV1(
            mediation_id=M,
            party_jurisdiction=DALANG,
            signer=PERSON,
            signer_role="party",
            terms_digest=DIGEST,
            signed_at="2026-05-20T10:00:00.000Z",
        ),
        "mediation.closed": MediationClosedV1(
            mediation_id=M,
            dispute_id="DL-1",
            closed_by=DALANG,
            closure="withdrawn",
            closed_on=DAY,
        ),
    }
    event = examples[event_type]
    return event.model_copy(update=changes) if changes else event


def _actor(event_type: str) -> str:
    return QIANFENG if event_type in ("mediation.accepted", "mediation.declined") else DALANG


def _fits(state: MediationState, event_type: str) -> Mediation:
    """A case in `state` on which the example step of `event_type` is legal."""
    if event_type == "mediation.findings_reported":
        return _case(state, tasks=(Task("T1", DALANG),))
    if event_type == "mediation.outcome_signed":
        return _case(state, signed_by=frozenset())
    return _case(state)


@pytest.mark.parametrize(("state", "event_type"), sorted(t for t in TRANSITIONS if t[0] != S.NEW))
def test_every_allowed_transition_leads_where_the_table_says(
    state: MediationState, event_type: str
) -> None:
    after = check_step(_fits(state, event_type), _event(event_type), _actor(event_type))
    assert after == TRANSITIONS[(state, event_type)]


def test_a_request_opens_the_case() -> None:
    assert next_state(S.NEW, "mediation.requested") == S.REQUESTED


EVENT_TYPES = sorted({t for _, t in TRANSITIONS})
ILLEGAL = [
    (state, event_type)
    for state, event_type in itertools.product(MediationState, EVENT_TYPES)
    if (state, event_type) not in TRANSITIONS
]


@pytest.mark.parametrize(("state", "event_type"), ILLEGAL)
def test_every_transition_missing_from_the_table_is_refused(
    state: MediationState, event_type: str
) -> None:
    with pytest.raises(IllegalMediationTransition):
        next_state(state, event_type)


def test_the_handler_table_has_one_handler_per_mediation_contract() -> None:
    types = {c.event_type for c in ALL_CONTRACTS if c.event_type.startswith("mediation.")}
    assert set(HANDLERS) == types


def test_acting_on_a_case_you_are_not_party_to_is_refused() -> None:
    with pytest.raises(NotPartyToCase, match="shenzhen-longgang is not party"):
        check_step(_case(S.ACCEPTED), _event("mediation.task_assigned"), LONGGANG)


@pytest.mark.parametrize("event_type", ["mediation.accepted", "mediation.declined"])
def test_only_the_side_asked_answers_the_request(event_type: str) -> None:
    with pytest.raises(NotYourStep):
        check_step(_case(S.REQUESTED), _event(event_type), DALANG)


def test_a_task_goes_to_one_of_the_two_sides() -> None:
    event = _event("mediation.task_assigned", assignee_jurisdiction=LONGGANG)
    with pytest.raises(NotPartyToCase):
        check_step(_case(S.ACCEPTED), event, DALANG)


def test_a_task_id_is_assigned_once() -> None:
    with pytest.raises(DuplicateTask):
        check_step(_case(S.ACCEPTED), _event("mediation.task_assigned", task_id="T1"), DALANG)


def test_findings_come_from_the_side_the_task_was_assigned_to() -> None:
    case = _case(S.ACCEPTED, tasks=(Task("T1", DALANG),))
    event = _event("mediation.findings_reported", reported_by=QIANFENG)
    with pytest.raises(NotYourStep, match="dongguan-dalang's to report"):
        check_step(case, event, QIANFENG)


def test_findings_are_reported_once_per_task() -> None:
    with pytest.raises(FindingsAlreadyReported):
        check_step(_case(S.ACCEPTED), _event("mediation.findings_reported"), DALANG)


def test_findings_for_an_unknown_task_are_refused() -> None:
    with pytest.raises(UnknownTask):
        check_step(_case(S.ACCEPTED), _event("mediation.findings_reported", task_id="T9"), DALANG)


def test_signing_twice_is_refused() -> None:
    case = _case(signed_by=frozenset({DALANG}))
    with pytest.raises(AlreadySigned):
        check_step(case, _event("mediation.outcome_signed"), DALANG)


def test_signing_a_different_digest_is_refused() -> None:
    event = _event("mediation.outcome_signed", terms_digest="b" * 64)
    with pytest.raises(DigestMismatch):
        check_step(_case(signed_by=frozenset()), event, DALANG)


def test_a_side_signs_only_for_itself() -> None:
    event = _event("mediation.outcome_signed", party_jurisdiction=QIANFENG)
    with pytest.raises(NotYourStep):
        check_step(_case(signed_by=frozenset()), event, DALANG)


REVISED = outcome_digest(MediationOutcome(terms=["老黄 returns the land by 1 March"]))


def _revised_before(signed: set[tuple[str, str]]) -> Mediation:
    """A case whose first proposal (DIGEST, signed by `signed`) a revision displaced."""
    return _case(
        terms_digest=REVISED,
        signed_by=frozenset(),
        other_proposals=frozenset({DIGEST}),
        other_signatures=frozenset(signed),
    )


def test_a_received_signature_of_a_displaced_proposal_is_kept_one_sent_is_refused() -> None:
    case = _revised_before(set())
    signature = _event("mediation.outcome_signed")  # DIGEST, by Dalang
    assert check_step(case, signature, DALANG) == S.PROPOSED
    with pytest.raises(DigestMismatch):
        check_step(case, signature, DALANG, sending=True)
    with pytest.raises(AlreadySigned):
        check_step(_revised_before({(DALANG, DIGEST)}), signature, DALANG)


def test_an_owners_close_on_a_displaced_proposal_is_checked_against_it() -> None:
    both = {(DALANG, DIGEST), (QIANFENG, DIGEST)}
    assert check_step(_revised_before(both), _agreement_close(), DALANG) == S.CLOSED
    with pytest.raises(SignatureMissing, match=QIANFENG):
        check_step(_revised_before({(DALANG, DIGEST)}), _agreement_close(), DALANG)
    with pytest.raises(DigestMismatch):  # the owner's own node closes on the one in force
        check_step(_revised_before(both), _agreement_close(), DALANG, sending=True)


def _closed_agreed() -> Mediation:
    return _case(S.CLOSED, closure="agreement_signed")


@pytest.mark.parametrize("event_type", ["mediation.task_assigned", "mediation.outcome_proposed"])
def test_a_step_of_the_other_side_crossing_the_owners_close_is_kept_and_the_case_stays_closed(
    event_type: str,
) -> None:
    event = _event(event_type, **{"proposed_by": QIANFENG} if "proposed" in event_type else {})
    assert check_step(_closed_agreed(), event, QIANFENG) == S.CLOSED
    with pytest.raises(IllegalMediationTransition):  # not the owner's own, nor one sent
        check_step(_closed_agreed(), _event(event_type), DALANG)
    with pytest.raises(IllegalMediationTransition):
        check_step(_closed_agreed(), event, QIANFENG, sending=True)


def test_a_withdrawal_crossing_the_owners_close_is_still_refused() -> None:
    case = _case(S.CLOSED, closure="agreement_signed", requested_by=QIANFENG, partner=DALANG)
    withdrawal = _event("mediation.closed", closed_by=QIANFENG)
    with pytest.raises(IllegalMediationTransition):
        check_step(case, withdrawal, QIANFENG)


def test_a_received_close_does_not_wait_for_tasks_the_receiver_assigned_that_crossed_it() -> None:
    crossed = (Task("T1", DALANG, True), Task("P1", QIANFENG, False, assigned_by=QIANFENG))
    assert check_step(_case(tasks=crossed), _agreement_close(), DALANG) == S.CLOSED
    with pytest.raises(TaskStillOpen, match="P1"):  # the owner's own node waits for it
        check_step(_case(tasks=crossed), _agreement_close(), DALANG, sending=True)
    owners = (Task("T1", DALANG, True), Task("T2", QIANFENG, False, assigned_by=DALANG))
    with pytest.raises(TaskStillOpen, match="T2"):  # one the owner saw open: refused
        check_step(_case(tasks=owners), _agreement_close(), DALANG)


def test_of_two_proposals_the_greater_event_id_stands() -> None:
    first, later = "01a251dd-893c-79e4-bba0-a50314ede756", "01a251dd-894e-701b-942e-a0f2f94fce7f"
    assert _case(proposal_id=None).in_force_after(first)
    assert _case(proposal_id=first).in_force_after(later)
    assert not _case(proposal_id=later).in_force_after(first)


def _agreement_close(**changes: Any) -> EventData:
    values = {"closure": "agreement_signed", "terms_digest": DIGEST} | changes
    return _event("mediation.closed", **values)


def test_closing_with_an_agreement_when_all_is_in_closes_the_case() -> None:
    assert check_step(_case(), _agreement_close(), DALANG) == S.CLOSED


def test_closing_with_a_task_open_is_refused() -> None:
    case = _case(tasks=(Task("T1", DALANG, True), Task("T2", QIANFENG)))
    with pytest.raises(TaskStillOpen, match="T2"):
        check_step(case, _agreement_close(), DALANG)


def test_closing_without_both_signatures_is_refused() -> None:
    with pytest.raises(SignatureMissing, match=QIANFENG):
        check_step(_case(signed_by=frozenset({DALANG})), _agreement_close(), DALANG)


def test_closing_on_another_digest_than_the_one_signed_is_refused() -> None:
    with pytest.raises(DigestMismatch):
        check_step(_case(), _agreement_close(terms_digest="c" * 64), DALANG)


def test_the_dispute_owner_closes_with_an_agreement_not_the_other_side() -> None:
    with pytest.raises(NotYourStep, match="owns the dispute"):
        check_step(_case(), _agreement_close(closed_by=QIANFENG), QIANFENG)


def test_only_the_requesting_side_withdraws() -> None:
    event = _event("mediation.closed", closed_by=QIANFENG)
    with pytest.raises(NotYourStep, match="requested it"):
        check_step(_case(S.ACCEPTED), event, QIANFENG)


def test_a_request_is_answered_by_declining_not_by_closing_as_declined() -> None:
    with pytest.raises(IllegalMediationTransition):
        check_step(_case(S.ACCEPTED), _event("mediation.closed", closure="declined"), DALANG)


def test_an_unanswered_request_closes_only_by_withdrawal() -> None:
    event = _event("mediation.closed", closure="no_agreement")
    with pytest.raises(IllegalMediationTransition):
        check_step(_case(S.REQUESTED), event, DALANG)


def _dispute(state: DisputeState = DisputeState.REPORTED) -> Dispute:
    return Dispute(
        dispute_id="DL-1",
        originator=DALANG,
        state=state,
        risk="high",
        level=2,
        holders=frozenset({DALANG, QIANFENG}),
        handling="H2",
        correlation="c",
        last_event_id="e",
    )


def _request(requested_by: str = DALANG) -> MediationRequestedV1:
    return MediationRequestedV1(
        mediation_id=M,
        dispute_id="DL-1",
        requested_by=requested_by,
        mediator=PERSON,
        parties=[PERSON],
        category="land",
        risk="high",
        summary="s",
        requested_part="p",
    )


@pytest.mark.parametrize(("actor", "partner"), [(DALANG, QIANFENG), (QIANFENG, DALANG)])
def test_either_holder_of_an_open_dispute_may_request_the_other(actor: str, partner: str) -> None:
    check_request(_dispute(), _request(actor), actor, partner)


def test_a_request_to_a_jurisdiction_not_holding_the_dispute_is_refused() -> None:
    with pytest.raises(NotPartyToCase, match=LONGGANG):
        check_request(_dispute(), _request(), DALANG, LONGGANG)


def test_a_request_on_a_resolved_dispute_is_refused() -> None:
    with pytest.raises(DisputeNotOpen):
        check_request(_dispute(DisputeState.RESOLVED), _request(), DALANG, QIANFENG)


def test_a_proposal_whose_digest_is_not_its_outcomes_is_refused() -> None:
    check_outcome_digest(OUTCOME.model_dump(mode="json", exclude_none=True), DIGEST)
    with pytest.raises(DigestMismatch):
        check_outcome_digest({"terms": ["something else"]}, DIGEST)
