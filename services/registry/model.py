"""Household-registry window proxy requests (户籍窗口代办): states, the transition table, rules.

Pure: no store, no bus. The requesting window files a request and supplies materials; the home
registry (the applicant's 户籍地) accepts, asks for materials, completes or rejects.
"""

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from contracts.events.base import EventData
from contracts.events.common import ProxyStatus
from contracts.events.registry import (
    PromisedMaterial,
    RegistryAcceptedV1,
    RegistryCompletedV1,
    RegistryMaterialsRequestedV1,
    RegistryMaterialsSuppliedV1,
    RegistryMaterialUploadedV1,
    RegistryProxyRequestedV1,
    RegistryRejectedV1,
)
from contracts.events.service_catalogue import RegistryService
from services.bus.handlers import NotApplicable
from services.calendar import china_day

E = TypeVar("E", bound=EventData)

State = ProxyStatus
"""The contract's vocabulary, so that the semiannual report counts the same states."""

REQUESTED = RegistryProxyRequestedV1.event_type
ACCEPTED = RegistryAcceptedV1.event_type
MATERIALS_REQUESTED = RegistryMaterialsRequestedV1.event_type
MATERIALS_SUPPLIED = RegistryMaterialsSuppliedV1.event_type
COMPLETED = RegistryCompletedV1.event_type
REJECTED = RegistryRejectedV1.event_type
MATERIAL_UPLOADED = RegistryMaterialUploadedV1.event_type

TRANSITIONS: dict[tuple[State | None, str], State] = {
    (None, REQUESTED): State.REQUESTED,
    (State.REQUESTED, MATERIALS_SUPPLIED): State.REQUESTED,
    (State.REQUESTED, ACCEPTED): State.ACCEPTED,
    (State.REQUESTED, REJECTED): State.REJECTED,
    (State.ACCEPTED, MATERIALS_SUPPLIED): State.ACCEPTED,
    (State.ACCEPTED, MATERIALS_REQUESTED): State.MATERIALS_REQUESTED,
    (State.ACCEPTED, COMPLETED): State.COMPLETED,
    (State.ACCEPTED, REJECTED): State.REJECTED,
    (State.MATERIALS_REQUESTED, MATERIALS_SUPPLIED): State.ACCEPTED,
    (State.MATERIALS_REQUESTED, REJECTED): State.REJECTED,
    (State.COMPLETED, MATERIALS_SUPPLIED): State.COMPLETED,
    (State.REJECTED, MATERIALS_SUPPLIED): State.REJECTED,
}
"""(state before, event type) -> state after; `None` is a request not yet on file."""

CROSSING: frozenset[tuple[State | None, str]] = frozenset(
    {(State.COMPLETED, MATERIALS_SUPPLIED), (State.REJECTED, MATERIALS_SUPPLIED)}
)
"""Steps taken only as received: a supply that crossed the answer on the wire is recorded
(the window applied it before the answer reached it), but no node sends one to a final request."""

FINAL = frozenset({State.COMPLETED, State.REJECTED})

# Both registries are in China: a registry day is a day of China Standard Time (no DST).


class Side(StrEnum):
    """Which party of a request takes a step."""

    REQUESTER = "requester"  # the window that collected the application
    HOME = "home"  # the applicant's home registry, which performs the service


SENT_BY: dict[str, Side] = {
    REQUESTED: Side.REQUESTER,
    MATERIALS_SUPPLIED: Side.REQUESTER,
    MATERIAL_UPLOADED: Side.REQUESTER,
    ACCEPTED: Side.HOME,
    MATERIALS_REQUESTED: Side.HOME,
    COMPLETED: Side.HOME,
    REJECTED: Side.HOME,
}


class RegistryRefusal(NotApplicable):
    """A proxy-request step the request or the catalogue does not allow (the API answers 409)."""

    reason = "registry_refused"


class IllegalStep(RegistryRefusal):
    """The transition table has no entry for this state and event."""

    reason = "registry_illegal_step"

    def __init__(self, request_id: str, state: State | None, event_type: str) -> None:
        where = "is not on file" if state is None else f"is {state.value}"
        super().__init__(f"request {request_id} {where}: {event_type} is not allowed")
        self.state = state
        self.event_type = event_type


class UnknownRequest(IllegalStep):
    """A step for a request that is not on file here."""

    reason = "registry_unknown_request"

    def __init__(self, request_id: str, event_type: str) -> None:
        super().__init__(request_id, None, event_type)


class WrongParty(RegistryRefusal):
    """The step comes from, or goes to, a jurisdiction that does not hold that side."""

    reason = "registry_wrong_party"


class NotHomeRegistry(RegistryRefusal):
    """A request goes to a registry that is not the applicant's home registry."""

    reason = "registry_not_home"


class UnknownService(RegistryRefusal):
    """The service code is not in the catalogue, or its time limit differs from it."""

    reason = "registry_unknown_service"


class MissingMaterials(RegistryRefusal):
    """Required materials are neither supplied nor promised (容缺 needs a promise for each)."""

    reason = "registry_missing_materials"


class PromiseRefused(RegistryRefusal):
    """A promised material is dated in the past, promised twice, or supplied already."""

    reason = "registry_promise_refused"


class MaterialsOutstanding(RegistryRefusal):
    """The service cannot be completed while materials are still owed."""

    reason = "registry_materials_outstanding"


class DueBeyondTimeLimit(RegistryRefusal):
    """An accepted request is due later than the service's time limit allows, or in the past."""

    reason = "registry_due_beyond_limit"


def read_as(model: type[E], event: EventData) -> E:
    """The event read as the major-1 model (a higher minor only adds fields)."""
    if isinstance(event, model):
        return event
    return model.model_validate(event.model_dump(mode="json"))


def next_state(
    request_id: str, state: State | None, event_type: str, sending: bool = False
) -> State:
    """The state after `event_type`; raises IllegalStep (UnknownRequest with no request).

    `sending`: the step is this node's own, so a step taken only as received is refused.
    """
    after = TRANSITIONS.get((state, event_type))
    if after is not None and not (sending and (state, event_type) in CROSSING):
        return after
    if state is None:
        raise UnknownRequest(request_id, event_type)
    raise IllegalStep(request_id, state, event_type)


def check_sender(event_type: str, sender: str, requester: str, home: str) -> None:
    """Only the requesting window files and supplies; only the home registry answers."""
    expected = requester if SENT_BY[event_type] is Side.REQUESTER else home
    if sender != expected:
        raise WrongParty(f"{event_type} must come from {expected}, not {sender}")


def registry_day(moment: datetime) -> date:
    """The registry day (China Standard Time) of an instant."""
    return china_day(moment)


def check_service(service: RegistryService, time_limit_days: int) -> None:
    """The request's time limit is the catalogue's: both sides count the same days."""
    if time_limit_days != service.time_limit_days:
        raise UnknownService(
            f"{service.code} has a time limit of {service.time_limit_days} days in the "
            f"catalogue, the request says {time_limit_days}"
        )


def check_materials(
    service: RegistryService,
    supplied: Iterable[str],
    promised: list[PromisedMaterial],
    filed_on: date,
) -> None:
    """Every required material is supplied or promised on a day not before filing."""
    have = set(supplied)
    names = [p.name for p in promised]
    problems = [f"{n} is promised twice" for n in sorted({n for n in names if names.count(n) > 1})]
    problems += [f"{n} is supplied already" for n in names if n in have]
    problems += [
        f"{p.name} is promised for {p.promised_on}, before {filed_on}"
        for p in promised
        if date.fromisoformat(p.promised_on) < filed_on
    ]
    if problems:
        raise PromiseRefused("; ".join(problems))
    missing = [m.code for m in service.materials if m.code not in have | set(names)]
    if missing:
        raise MissingMaterials(
            f"{service.code} needs {', '.join(missing)}: supply or promise each of them"
        )


def after_supply(before: State, after: State, asked_still_owed: bool) -> State:
    """A request for materials stays open until every material asked for is in."""
    if before is State.MATERIALS_REQUESTED and asked_still_owed:
        return State.MATERIALS_REQUESTED
    return after


def check_nothing_owed(owed: Iterable[str]) -> None:
    """Completion needs every promised or requested material in."""
    names = sorted(set(owed))
    if names:
        raise MaterialsOutstanding(f"materials still owed: {', '.join(names)}")


def due_date(accepted_on: date, time_limit_days: int) -> date:
    """The day the service is due: acceptance plus the time limit in calendar days."""
    return accepted_on + timedelta(days=time_limit_days)


def check_due(accepted_on: date, due_on: date, time_limit_days: int) -> None:
    """A home registry may promise sooner than the time limit, never later."""
    if not accepted_on <= due_on <= due_date(accepted_on, time_limit_days):
        raise DueBeyondTimeLimit(f"due {due_on} is outside {accepted_on} + {time_limit_days} days")
