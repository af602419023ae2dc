"""Request and response bodies of the linked-mediation routes. People travel by name and home
jurisdiction only in this flow, so a mediation shows no personal data."""

import dataclasses
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from contracts.events.common import CaseId, Day, FileDigest, Instant, JurisdictionRef, Person, Text
from contracts.events.mediation import MediationClosure, MediationOutcome, SignerRole
from gateway.routes.registry_models import TimelineEntry
from gateway.routes.text import RequestBody
from services.disputes.sending import Sent
from services.mediation.model import MediationState
from services.mediation.queries import MediationCase


class MediationRequest(RequestBody):
    """Open a linked mediation (矛盾联调) on a dispute held here and ask the other side."""

    dispute_id: CaseId
    mediator: Person
    summary: str = Field(min_length=1, max_length=10_000)
    requested_part: Text
    partner: JurisdictionRef | None = Field(
        default=None, description="the side asked; by default the dispute's only other holder"
    )
    reply_by: Day | None = None
    mediation_id: CaseId | None = Field(default=None, description="default: a new id")


class Acceptance(RequestBody):
    officer: Person = Field(description="who answers for this side's part")
    note: Text | None = None


class Declining(RequestBody):
    reason: Text


class TaskAssignment(RequestBody):
    assignee: JurisdictionRef = Field(description="the side that does the task, in its own area")
    description: Text
    due_on: Day | None = None
    task_id: CaseId | None = Field(
        default=None,
        description="default: `<mediation>.T<n>` for the requesting side's n-th task, "
        "`<mediation>.P<n>` for the partner's (without `<mediation>.` past 74 characters)",
    )


class Findings(RequestBody):
    findings: str = Field(min_length=1, max_length=20_000)
    attachments: list[FileDigest] = Field(default=[], max_length=50)
    reported_on: Day | None = None


class Proposal(RequestBody):
    mediator: Person
    outcome: MediationOutcome


class Signature(RequestBody):
    signer: Person
    signer_role: SignerRole
    terms_digest: str = Field(description="the proposed outcome's digest, as the case shows it")
    signed_at: Instant | None = None


class Closing(RequestBody):
    closure: MediationClosure
    note: Text | None = None
    closed_on: Day | None = None


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class MediationStep(_Out):
    """A step taken: the event applied here and sent to the other side (in the outbox)."""

    mediation_id: str
    event_id: str
    recipients: list[str]

    @classmethod
    def of(cls, sent: Sent) -> "MediationStep":
        return cls(
            mediation_id=sent.case_id, event_id=sent.event_id, recipients=list(sent.recipients)
        )


class MediationSummary(_Out):
    mediation_id: str
    dispute_id: str
    state: MediationState
    requested_by: str
    partner: str
    requested_at: datetime
    updated_at: datetime


class Named(_Out):
    name: str
    home_jurisdiction: str


class Task(_Out):
    task_id: str
    assignee: str
    assigned_by: str
    description: str
    due_on: str | None
    findings: str | None
    attachments: list[FileDigest]
    reported_on: str | None


class Signed(_Out):
    party_jurisdiction: str
    terms_digest: str
    signer: Named
    signer_role: str
    signed_at: str


class Mediation(MediationSummary):
    """A linked mediation with its tasks, signatures and timeline, the same on both sides."""

    dispute_owner: str
    mediator: Named
    parties: list[Named]
    category: str
    risk: str
    summary: str
    requested_part: str
    reply_by: str | None
    officer: Named | None
    answer_note: str | None
    outcome: MediationOutcome | None
    terms_digest: str | None = Field(description="what each signature must quote")
    proposed_by: str | None
    closure: str | None
    closed_on: str | None
    close_note: str | None
    handling: str
    tasks: list[Task]
    signatures: list[Signed]
    timeline: list[TimelineEntry]


def present(case: MediationCase) -> Mediation:
    """The mediation as the API shows it."""
    values = {f.name: getattr(case, f.name) for f in dataclasses.fields(case)}
    return Mediation.model_validate(
        values
        | {
            "tasks": [dataclasses.asdict(t) for t in case.tasks],
            "signatures": [dataclasses.asdict(s) for s in case.signatures],
            "timeline": [dataclasses.asdict(e) for e in case.timeline],
        }
    )
