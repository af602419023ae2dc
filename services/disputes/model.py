"""Dispute cases (矛盾纠纷): states, the one transition table, the rules, the typed errors.

The jurisdiction a dispute was reported in owns its lifecycle (regrade, escalate, resolve,
close); every jurisdiction that holds it sees each step. Pure: no database, no transport.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from contracts.events.base import EventData
from contracts.events.common import Person
from contracts.events.disputes import (
    DisputeClosedV1,
    DisputeClosure,
    DisputeEscalatedV1,
    DisputeRegradedV1,
    DisputeReportedV1,
    DisputeResolvedV1,
)
from contracts.events.mediation import MediationClosedV1, MediationClosure
from services.bus.handlers import NotApplicable

TOP_LEVEL = 5


class DisputeState(StrEnum):
    NEW = "new"  # not yet known on this node
    REPORTED = "reported"
    RESOLVED = "resolved"
    CLOSED = "closed"


REPORTED = DisputeReportedV1.event_type
REGRADED = DisputeRegradedV1.event_type
ESCALATED = DisputeEscalatedV1.event_type
RESOLVED = DisputeResolvedV1.event_type
CLOSED = DisputeClosedV1.event_type
MEDIATION_CLOSED = MediationClosedV1.event_type

VERBS = {REGRADED: "regrade", ESCALATED: "escalate", RESOLVED: "resolve", CLOSED: "close"}

TRANSITIONS: dict[tuple[DisputeState, str], DisputeState] = {
    (DisputeState.NEW, REPORTED): DisputeState.REPORTED,
    (DisputeState.REPORTED, REGRADED): DisputeState.REPORTED,
    (DisputeState.REPORTED, ESCALATED): DisputeState.REPORTED,
    (DisputeState.REPORTED, RESOLVED): DisputeState.RESOLVED,
    # A linked mediation closed with a signed agreement resolves its dispute on both sides.
    (DisputeState.REPORTED, MEDIATION_CLOSED): DisputeState.RESOLVED,
    (DisputeState.REPORTED, CLOSED): DisputeState.CLOSED,
    (DisputeState.RESOLVED, CLOSED): DisputeState.CLOSED,
}


class DisputeRefused(NotApplicable):
    """A step the dispute does not allow; a received one is quarantined, a command's is a 409."""

    reason = "dispute_refused"
    http_status = 409


class UnknownDispute(DisputeRefused):
    reason = "unknown_dispute"
    http_status = 404


class DuplicateDispute(DisputeRefused):
    reason = "duplicate_dispute"


class IllegalDisputeTransition(DisputeRefused):
    reason = "illegal_transition"


class NotDisputeOwner(DisputeRefused):
    reason = "not_case_owner"


class LadderStepRefused(DisputeRefused):
    reason = "ladder_step_refused"


class StaleRiskGrade(DisputeRefused):
    reason = "stale_risk_grade"


class ClosureMismatch(DisputeRefused):
    reason = "closure_mismatch"


class NoPartnerConcerned(DisputeRefused):
    reason = "no_partner_concerned"


@dataclass(frozen=True)
class Dispute:
    """What the rules need of a dispute as this node holds it."""

    dispute_id: str
    originator: str
    state: DisputeState
    risk: str
    level: int
    holders: frozenset[str]
    handling: str | None
    correlation: str
    last_event_id: str

    def counterparts(self, me: str) -> list[str]:
        """The other jurisdictions holding the dispute: those this node tells of each step."""
        return sorted(self.holders - {me})


def next_state(state: DisputeState, event_type: str) -> DisputeState:
    """The state `event_type` leads to from `state`, or IllegalDisputeTransition."""
    after = TRANSITIONS.get((state, event_type))
    if after is None:
        raise IllegalDisputeTransition(f"a {state.value} dispute cannot take {event_type}")
    return after


def check_step(dispute: Dispute | None, event: EventData, actor: str) -> DisputeState:
    """The state after `actor` takes step `event`; raises the typed error that forbids it."""
    if dispute is None:
        state = next_state(DisputeState.NEW, event.event_type)
        if isinstance(event, DisputeReportedV1) and event.reported_in != actor:
            raise NotDisputeOwner(
                f"{actor} cannot report a dispute as reported in {event.reported_in}"
            )
        return state
    state = next_state(dispute.state, event.event_type)
    if isinstance(event, MediationClosedV1):
        _check_mediated(event)
        return state
    check_owner(dispute, actor, VERBS.get(event.event_type, event.event_type))
    _check_rule(dispute, event, actor)
    return state


def check_owner(dispute: Dispute, actor: str, verb: str) -> None:
    """Only the jurisdiction a dispute was reported in takes it through its lifecycle."""
    if actor != dispute.originator:
        raise NotDisputeOwner(
            f"dispute {dispute.dispute_id} was reported in {dispute.originator}, which owns its "
            f"lifecycle: {actor} may not {verb} it"
        )


def _check_rule(dispute: Dispute, event: EventData, actor: str) -> None:
    match event:
        case DisputeRegradedV1():
            if event.previous_risk != dispute.risk:
                raise StaleRiskGrade(
                    f"regrade from {event.previous_risk}, but the risk is {dispute.risk}"
                )
        case DisputeEscalatedV1():
            if event.previous_level != dispute.level or event.level != dispute.level + 1:
                raise LadderStepRefused(
                    f"the ladder climbs one level at a time: at level {dispute.level}, "
                    f"not {event.previous_level} -> {event.level}"
                )
        case DisputeClosedV1():
            check_closure(dispute.state, DisputeClosure(event.closure))
            if event.closed_by != actor:
                raise NotDisputeOwner(f"{actor} cannot close on behalf of {event.closed_by}")


def _check_mediated(event: MediationClosedV1) -> None:
    if event.closure != MediationClosure.AGREEMENT_SIGNED:
        raise IllegalDisputeTransition(
            f"a mediation closed as {event.closure} does not resolve its dispute"
        )


def check_closure(state: DisputeState, closure: DisputeClosure) -> None:
    """A resolved dispute closes as `resolved`; an unresolved one as anything else."""
    resolved = state == DisputeState.RESOLVED
    if resolved != (closure == DisputeClosure.RESOLVED):
        raise ClosureMismatch(f"a {state.value} dispute cannot close as {closure.value}")


def next_level(level: int) -> int:
    """The ladder level above `level`; there is none above the multi-department session."""
    if level >= TOP_LEVEL:
        raise LadderStepRefused(f"level {TOP_LEVEL} is the top of the mediation ladder")
    return level + 1


def check_regrade(current: str, risk: str) -> None:
    """A regrade changes the risk grade."""
    if current == risk:
        raise StaleRiskGrade(f"the risk is already {risk}")


def partners_concerned(me: str, parties: Iterable[Person]) -> list[str]:
    """Every other jurisdiction a party belongs to (by household registration)."""
    return sorted({p.home_jurisdiction for p in parties} - {me})


def as_named(person: Person) -> Person:
    """The person by name and home jurisdiction only: how people travel outside sealed fields."""
    return Person(name=person.name, home_jurisdiction=person.home_jurisdiction)
