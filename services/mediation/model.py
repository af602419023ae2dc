"""Linked mediation (矛盾联调): states, the one transition table, the rules, the typed errors.

Two sides work one dispute: the side that requests and the side it asks. Each does the tasks
assigned to it in its own jurisdiction; a mediator proposes the outcome, each side signs it, and
the dispute's owner closes the case once every task has findings and both signatures are in.
Pure: no database, no transport.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from contracts.events.base import EventData
from contracts.events.mediation import (
    MediationAcceptedV1,
    MediationClosedV1,
    MediationClosure,
    MediationDeclinedV1,
    MediationFindingsReportedV1,
    MediationOutcomeProposedV1,
    MediationOutcomeSignedV1,
    MediationRequestedV1,
    MediationTaskAssignedV1,
    outcome_digest,
)
from services.bus.handlers import NotApplicable
from services.disputes.model import Dispute, DisputeState


class MediationState(StrEnum):
    NEW = "new"  # not yet known on this node
    REQUESTED = "requested"
    ACCEPTED = "accepted"  # both sides work their tasks
    PROPOSED = "proposed"  # an outcome awaits both sides' signatures
    DECLINED = "declined"
    CLOSED = "closed"


REQUESTED = MediationRequestedV1.event_type
ACCEPTED = MediationAcceptedV1.event_type
DECLINED = MediationDeclinedV1.event_type
TASK_ASSIGNED = MediationTaskAssignedV1.event_type
FINDINGS_REPORTED = MediationFindingsReportedV1.event_type
OUTCOME_PROPOSED = MediationOutcomeProposedV1.event_type
OUTCOME_SIGNED = MediationOutcomeSignedV1.event_type
CLOSED = MediationClosedV1.event_type

S = MediationState
TRANSITIONS: dict[tuple[MediationState, str], MediationState] = {
    (S.NEW, REQUESTED): S.REQUESTED,
    (S.REQUESTED, ACCEPTED): S.ACCEPTED,
    (S.REQUESTED, DECLINED): S.DECLINED,
    (S.REQUESTED, CLOSED): S.CLOSED,  # withdrawn before an answer
    (S.ACCEPTED, TASK_ASSIGNED): S.ACCEPTED,
    (S.ACCEPTED, FINDINGS_REPORTED): S.ACCEPTED,
    (S.ACCEPTED, OUTCOME_PROPOSED): S.PROPOSED,
    (S.ACCEPTED, CLOSED): S.CLOSED,  # no agreement, or withdrawn
    (S.PROPOSED, TASK_ASSIGNED): S.PROPOSED,  # a fact still to establish before signing
    (S.PROPOSED, FINDINGS_REPORTED): S.PROPOSED,
    (S.PROPOSED, OUTCOME_PROPOSED): S.PROPOSED,  # revised: earlier signatures no longer count
    (S.PROPOSED, OUTCOME_SIGNED): S.PROPOSED,
    (S.PROPOSED, CLOSED): S.CLOSED,
}


class MediationRefused(NotApplicable):
    """A step the mediation does not allow; a received one is quarantined, a command's is 409."""

    reason = "mediation_refused"
    http_status = 409


class UnknownMediation(MediationRefused):
    reason = "unknown_mediation"
    http_status = 404


class DuplicateMediation(MediationRefused):
    reason = "duplicate_mediation"


class IllegalMediationTransition(MediationRefused):
    reason = "illegal_transition"


class NotPartyToCase(MediationRefused):
    reason = "not_party_to_case"


class NotYourStep(MediationRefused):
    """The step belongs to the other side (or to the dispute's owner)."""

    reason = "not_your_step"


class UnknownTask(MediationRefused):
    reason = "unknown_task"


class DuplicateTask(MediationRefused):
    reason = "duplicate_task"


class FindingsAlreadyReported(MediationRefused):
    reason = "findings_already_reported"


class TaskStillOpen(MediationRefused):
    reason = "task_still_open"


class DigestMismatch(MediationRefused):
    reason = "digest_mismatch"


class AlreadySigned(MediationRefused):
    reason = "already_signed"


class SignatureMissing(MediationRefused):
    reason = "signature_missing"


class DisputeNotOpen(MediationRefused):
    reason = "dispute_not_open"


@dataclass(frozen=True)
class Task:
    task_id: str
    assignee: str
    reported: bool = False
    assigned_by: str = ""


@dataclass(frozen=True)
class Mediation:
    """What the rules need of a linked mediation as this node holds it."""

    mediation_id: str
    dispute_id: str
    state: MediationState
    requested_by: str
    partner: str
    dispute_owner: str
    tasks: tuple[Task, ...] = ()
    terms_digest: str | None = None  # of the proposal in force
    signed_by: frozenset[str] = field(default_factory=frozenset)  # sides, current digest only
    proposal_id: str | None = None  # the event of the proposal in force
    # Proposals held but not in force (crossed or revised), and the signatures on them.
    other_proposals: frozenset[str] = field(default_factory=frozenset)  # their digests
    other_signatures: frozenset[tuple[str, str]] = field(default_factory=frozenset)  # side, digest
    handling: str | None = None
    correlation: str = ""  # the case thread: its first event, and its latest
    last_event_id: str = ""
    accepted: bool = False  # the side asked took its part
    closure: str | None = None

    @property
    def sides(self) -> tuple[str, str]:
        return (self.requested_by, self.partner)

    @property
    def withdrawn(self) -> bool:
        return self.state == MediationState.CLOSED and self.closure == MediationClosure.WITHDRAWN

    def as_before_closing(self) -> "Mediation":
        """The case as it stood when it was closed: proposed, accepted or requested."""
        before = (
            MediationState.PROPOSED
            if self.terms_digest is not None
            else MediationState.ACCEPTED
            if self.accepted
            else MediationState.REQUESTED
        )
        return replace(self, state=before)

    def in_force_after(self, proposal_id: str) -> bool:
        """Whether a proposal made in event `proposal_id` stands over the one in force: of two
        proposals the greater event id (UUIDv7, compared as text) stands on both sides."""
        return self.proposal_id is None or proposal_id > self.proposal_id

    def with_proposal(self, terms_digest: str) -> "Mediation":
        """The case with a held proposal of `terms_digest` in force, and its signatures."""
        signed = frozenset(side for side, d in self.other_signatures if d == terms_digest)
        return replace(self, terms_digest=terms_digest, signed_by=signed)

    def other_side(self, me: str) -> str:
        return self.partner if me == self.requested_by else self.requested_by

    def task(self, task_id: str) -> Task | None:
        return next((t for t in self.tasks if t.task_id == task_id), None)


def next_state(state: MediationState, event_type: str) -> MediationState:
    """The state `event_type` leads to from `state`, or IllegalMediationTransition."""
    after = TRANSITIONS.get((state, event_type))
    if after is None:
        raise IllegalMediationTransition(f"a {state.value} mediation cannot take {event_type}")
    return after


def check_request(dispute: Dispute, event: MediationRequestedV1, actor: str, partner: str) -> None:
    """A side that holds an open dispute asks another holder of it to mediate jointly."""
    if event.requested_by != actor or event.dispute_id != dispute.dispute_id:
        raise NotYourStep(f"{actor} cannot request on behalf of {event.requested_by}")
    outsiders = [j for j in (actor, partner) if j not in dispute.holders]
    if outsiders or actor == partner:
        raise NotPartyToCase(
            f"a linked mediation on dispute {dispute.dispute_id} is between two of its holders "
            f"({', '.join(sorted(dispute.holders))}); {', '.join(outsiders) or actor} is not"
        )
    if dispute.state != DisputeState.REPORTED:
        raise DisputeNotOpen(f"dispute {dispute.dispute_id} is {dispute.state.value}")


def check_step(
    case: Mediation, event: EventData, actor: str, sending: bool = False
) -> MediationState:
    """The state after `actor` takes step `event`; raises the typed error that forbids it.

    `sending`: the step is this node's own, so a step taken only as received is refused.
    """
    if actor not in case.sides:
        raise NotPartyToCase(
            f"{actor} is not party to mediation {case.mediation_id} "
            f"(between {case.requested_by} and {case.partner})"
        )
    if case.withdrawn and actor != case.requested_by and not sending:
        return _crossing_withdrawal(case, event, actor)
    if _crossed_the_owners_close(case, event, actor, sending):
        _check_rule(case.as_before_closing(), event, actor, sending=False)
        return case.state
    state = next_state(case.state, event.event_type)
    _check_rule(case, event, actor, sending)
    return state


def _crossing_withdrawal(case: Mediation, event: EventData, actor: str) -> MediationState:
    """A step the other side took before the requester's withdrawal reached it (no node sends
    one to a mediation it knows is closed): checked against the case as it stood then. Its
    decline or its close replaces the withdrawal, which its node refuses on arrival; any other
    step leaves the case closed, as the withdrawal will close it there too."""
    before = case.as_before_closing()
    state = next_state(before.state, event.event_type)
    _check_rule(before, event, actor, sending=False)
    return state if state in (MediationState.DECLINED, MediationState.CLOSED) else case.state


CROSS_A_CLOSE = (TASK_ASSIGNED, FINDINGS_REPORTED, OUTCOME_PROPOSED, OUTCOME_SIGNED)
"""The steps of the other side that may cross the owner's close: kept, the case stays closed."""


def _crossed_the_owners_close(case: Mediation, event: EventData, actor: str, sending: bool) -> bool:
    """A step of the other side received after the owner closed the case (with or without an
    agreement): no node sends one to a mediation it knows is closed, so it was taken before the
    close arrived there. It is checked against the case as it stood and kept in the history."""
    return (
        case.state == MediationState.CLOSED
        and not case.withdrawn
        and not sending
        and actor != case.dispute_owner
        and event.event_type in CROSS_A_CLOSE
    )


def _check_rule(case: Mediation, event: EventData, actor: str, sending: bool) -> None:
    if isinstance(event, MediationOutcomeSignedV1 | MediationClosedV1) and not sending:
        # A signature or the owner's close naming a held proposal that another crossed: checked
        # against the case with that proposal in force (see docs/flows.md, Concurrent steps).
        digest = event.terms_digest
        if digest != case.terms_digest and digest in case.other_proposals:
            case = case.with_proposal(digest)
    match event:
        case MediationAcceptedV1() | MediationDeclinedV1():
            _answer(case, actor)
        case MediationTaskAssignedV1():
            _assign(case, event)
        case MediationFindingsReportedV1():
            _findings(case, event, actor)
        case MediationOutcomeProposedV1():
            _acting_as(actor, event.proposed_by)
        case MediationOutcomeSignedV1():
            _sign(case, event, actor)
        case MediationClosedV1():
            _close(case, event, actor, sending)


def _acting_as(actor: str, named: str) -> None:
    if actor != named:
        raise NotYourStep(f"{actor} cannot act on behalf of {named}")


def _answer(case: Mediation, actor: str) -> None:
    if actor != case.partner:
        raise NotYourStep(f"only {case.partner}, which was asked, answers the request")


def _assign(case: Mediation, event: MediationTaskAssignedV1) -> None:
    if event.assignee_jurisdiction not in case.sides:
        raise NotPartyToCase(f"{event.assignee_jurisdiction} is not a side of the mediation")
    if case.task(event.task_id) is not None:
        raise DuplicateTask(f"task {event.task_id} is already assigned")


def _findings(case: Mediation, event: MediationFindingsReportedV1, actor: str) -> None:
    _acting_as(actor, event.reported_by)
    task = case.task(event.task_id)
    if task is None:
        raise UnknownTask(f"mediation {case.mediation_id} has no task {event.task_id}")
    if task.assignee != actor:
        raise NotYourStep(f"task {task.task_id} is {task.assignee}'s to report")
    if task.reported:
        raise FindingsAlreadyReported(f"findings for task {task.task_id} are already in")


def _sign(case: Mediation, event: MediationOutcomeSignedV1, actor: str) -> None:
    if event.party_jurisdiction != actor:
        raise NotYourStep(f"{actor} signs for its own side, not for {event.party_jurisdiction}")
    if event.terms_digest != case.terms_digest:
        raise DigestMismatch(
            f"the signature quotes {event.terms_digest[:12]}…, "
            f"the outcome proposed is {(case.terms_digest or 'none')[:12]}…"
        )
    if actor in case.signed_by:
        raise AlreadySigned(f"{actor}'s side has already signed this outcome")


def _close(case: Mediation, event: MediationClosedV1, actor: str, sending: bool) -> None:
    _acting_as(actor, event.closed_by)
    if event.dispute_id != case.dispute_id:
        raise NotYourStep(f"mediation {case.mediation_id} is on dispute {case.dispute_id}")
    closure = MediationClosure(event.closure)
    if closure == MediationClosure.WITHDRAWN:
        if actor != case.requested_by:
            raise NotYourStep(f"only {case.requested_by}, which requested it, withdraws it")
        return
    if closure == MediationClosure.DECLINED or case.state == MediationState.REQUESTED:
        raise IllegalMediationTransition(
            f"a {case.state.value} mediation is not closed as {closure.value} "
            "(the asked side declines with mediation.declined)"
        )
    if actor != case.dispute_owner:
        raise NotYourStep(f"{case.dispute_owner}, which owns the dispute, closes the mediation")
    if closure == MediationClosure.AGREEMENT_SIGNED:
        # Received, the owner's close does not wait for the tasks this side assigned and the
        # owner never saw: every task it saw has findings, or its node would not have closed.
        crossed = "" if sending else case.other_side(actor)
        check_agreement(case, event.terms_digest, crossed)


def check_agreement(case: Mediation, terms_digest: str | None, crossed: str = "") -> None:
    """Every task has findings (but those assigned by `crossed`, which crossed the close) and
    both sides signed the outcome that `terms_digest` names."""
    open_tasks = [
        t.task_id
        for t in case.tasks
        if not t.reported and not (crossed and t.assigned_by == crossed)
    ]
    if open_tasks:
        raise TaskStillOpen(f"no findings yet for task {', '.join(open_tasks)}")
    if case.terms_digest is None or terms_digest != case.terms_digest:
        raise DigestMismatch(
            f"the close names {(terms_digest or 'no outcome')[:12]}…, "
            f"the outcome proposed is {(case.terms_digest or 'none')[:12]}…"
        )
    missing = [side for side in case.sides if side not in case.signed_by]
    if missing:
        raise SignatureMissing(f"{', '.join(missing)} has not signed the outcome")


def check_outcome_digest(outcome: Mapping[str, Any], terms_digest: str) -> None:
    """A proposal's `terms_digest` is the digest of its outcome as it travels."""
    if outcome_digest(outcome) != terms_digest:
        raise DigestMismatch(f"terms_digest {terms_digest[:12]}… is not the outcome's digest")
