"""Request and response bodies of the dispute routes, and who sees the parties in full."""

import dataclasses
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from contracts.events.common import (
    CaseId,
    Day,
    DisputeCategory,
    DisputeOutcome,
    Fen,
    LadderLevel,
    LeadSource,
    Person,
    RiskGrade,
    Text,
)
from contracts.events.disputes import DisputeClosure
from gateway.masking import masked_person, personal_fields
from gateway.routes.registry_models import TimelineEntry
from gateway.routes.text import RequestBody
from services.disputes import commands as c
from services.disputes.model import DisputeState
from services.disputes.queries import DisputeCase
from services.disputes.sending import Sent
from services.users.access_log import Disclosed, Disclosure
from services.users.model import Role

PARTY_READERS_IN_FULL = (Role.MEDIATOR, Role.OFFICER)


class DisputeReport(RequestBody):
    """A dispute as the mediator reports it; it goes to every partner a party belongs to."""

    category: DisputeCategory
    risk: RiskGrade
    level: LadderLevel = 1
    source: LeadSource
    place: str = Field(min_length=1, max_length=300)
    parties: list[Person] = Field(min_length=1, max_length=50)
    narrative: str = Field(min_length=1, max_length=10_000)
    occurred_on: Day
    dispute_id: CaseId | None = Field(default=None, description="default: a new id")


BATCH_MAX = 500
"""Disputes one batch request may report: a grid platform's day, and one transaction."""


class DisputeBatch(RequestBody):
    """Disputes reported together, all or none (a day's entries from the grid platform)."""

    reports: list[DisputeReport] = Field(min_length=1, max_length=BATCH_MAX)


class Regrade(RequestBody):
    risk: RiskGrade
    reason: Text
    regraded_on: Day | None = None


class Escalation(RequestBody):
    reason: Text
    escalated_on: Day | None = None
    departments: list[Text] = Field(default=[], max_length=20)


class Resolution(RequestBody):
    outcome: DisputeOutcome
    terms: list[Text] = Field(default=[], max_length=50)
    compensation_fen: Fen = 0
    mediator: Person | None = None
    resolved_on: Day | None = None


class Closure(RequestBody):
    closure: DisputeClosure
    note: Text | None = None
    closed_on: Day | None = None


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class DisputeStep(_Out):
    """A step taken: the event applied here (one envelope per holder is in the outbox)."""

    dispute_id: str
    event_id: str
    recipients: list[str] = Field(description="the other jurisdictions told of the step")

    @classmethod
    def of(cls, sent: Sent) -> "DisputeStep":
        return cls(
            dispute_id=sent.case_id, event_id=sent.event_id, recipients=list(sent.recipients)
        )


class DisputeBatchSent(_Out):
    """The disputes of a batch, each as its single report would have answered, in order."""

    disputes: list[DisputeStep]


class DisputeSummary(_Out):
    dispute_id: str
    originator: str = Field(description="where it was reported: the owner of its lifecycle")
    state: DisputeState
    category: str
    risk: str
    level: int
    party_jurisdictions: list[str]
    reported_at: datetime
    updated_at: datetime


class Party(_Out):
    """A party; id_number, phone and address are masked unless `disclosure` is full."""

    name: str
    home_jurisdiction: str
    id_number: str | None = None
    phone: str | None = None
    address: str | None = None


class Dispute(DisputeSummary):
    """A dispute with everything this node holds of it."""

    disclosure: Disclosure = Field(description="how the parties' personal fields are shown")
    lead_source: str
    place: str
    parties: list[Party]
    holders: list[str]
    narrative: str
    occurred_on: str
    handling: str
    outcome: str | None
    terms: list[str] | None
    compensation_fen: int | None
    mediator: Party | None
    mediation_id: str | None
    resolved_on: str | None
    closure: str | None
    closed_on: str | None
    timeline: list[TimelineEntry]


def dispute_disclosure(role: Role, node: str, case: DisputeCase) -> Disclosure:
    """Full for admins, and for mediators and officers of the dispute's own or a party's
    jurisdiction; masked for everyone else who reads it (command centre, auditor)."""
    concerned = role in PARTY_READERS_IN_FULL and (
        node == case.originator or node in case.party_jurisdictions
    )
    return Disclosure.FULL if role is Role.ADMIN or concerned else Disclosure.MASKED


def parties_disclosed(case: DisputeCase, disclosure: Disclosure) -> Disclosed:
    """What a read of the dispute shows of its parties (and mediator), for the access log."""
    people = [(f"parties[{i}]", p) for i, p in enumerate(case.parties)]
    if case.mediator is not None:
        people.append(("mediator", case.mediator))
    fields = tuple(path for prefix, p in people for path in personal_fields(prefix, p))
    return Disclosed(fields, disclosure)


def present(case: DisputeCase, shown: Disclosure) -> Dispute:
    """The dispute as the reader may see it: its people in full or masked."""

    def person(p: Person) -> dict[str, str | None]:
        return p.model_dump() if shown is Disclosure.FULL else masked_person(p)

    values = {f.name: getattr(case, f.name) for f in dataclasses.fields(case)}
    return Dispute.model_validate(
        values
        | {
            "disclosure": shown,
            "parties": [person(p) for p in case.parties],
            "mediator": person(case.mediator) if case.mediator else None,
            "timeline": [dataclasses.asdict(e) for e in case.timeline],
        }
    )


def report_command(body: DisputeReport, dispute_id: str) -> c.ReportDispute:
    """The command reporting `body` as dispute `dispute_id`."""
    return c.ReportDispute(dispute_id=dispute_id, **body.model_dump(exclude={"dispute_id"}))
