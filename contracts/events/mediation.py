"""Linked mediation (矛盾联调): one dispute worked jointly, each side doing its part at home.

The case closes only when every task's findings and the outcome signed by the parties are in.
"""

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import Field

from contracts.events.base import EventData
from contracts.events.common import (
    CaseId,
    Day,
    DisputeCategory,
    Fen,
    FileDigest,
    Instant,
    JurisdictionRef,
    Part,
    Person,
    RiskGrade,
    Sha256Hex,
    Text,
    json_digest,
)


class MediationRequestedV1(EventData):
    """One side asks the other to work a dispute jointly."""

    event_type: ClassVar[str] = "mediation.requested"
    version: ClassVar[tuple[int, int]] = (1, 0)

    mediation_id: CaseId
    dispute_id: CaseId
    requested_by: JurisdictionRef
    mediator: Person
    parties: list[Person] = Field(min_length=1, max_length=50)
    category: DisputeCategory
    risk: RiskGrade
    summary: str = Field(min_length=1, max_length=10_000)
    requested_part: Text = Field(description="what the partner is asked to establish or do")
    reply_by: Day | None = None


class MediationAcceptedV1(EventData):
    """The partner takes its part; `officer` answers for it there."""

    event_type: ClassVar[str] = "mediation.accepted"
    version: ClassVar[tuple[int, int]] = (1, 0)

    mediation_id: CaseId
    accepted_by: JurisdictionRef
    officer: Person
    note: Text | None = None


class MediationDeclinedV1(EventData):
    """The partner will not take part, and says why."""

    event_type: ClassVar[str] = "mediation.declined"
    version: ClassVar[tuple[int, int]] = (1, 0)

    mediation_id: CaseId
    declined_by: JurisdictionRef
    reason: Text


class MediationTaskAssignedV1(EventData):
    """A part of the work, done in the assignee's own jurisdiction."""

    event_type: ClassVar[str] = "mediation.task_assigned"
    version: ClassVar[tuple[int, int]] = (1, 0)

    mediation_id: CaseId
    task_id: CaseId
    assignee_jurisdiction: JurisdictionRef
    description: Text
    due_on: Day | None = None


class MediationFindingsReportedV1(EventData):
    """What one side established for its task."""

    event_type: ClassVar[str] = "mediation.findings_reported"
    version: ClassVar[tuple[int, int]] = (1, 0)

    mediation_id: CaseId
    task_id: CaseId
    reported_by: JurisdictionRef
    findings: str = Field(min_length=1, max_length=10_000)
    attachments: list[FileDigest] = Field(default=[], max_length=50)
    reported_on: Day


class Compensation(Part):
    """Money one party pays another under the outcome; parties are named as in the case."""

    payer_name: str = Field(min_length=1, max_length=100)
    payee_name: str = Field(min_length=1, max_length=100)
    amount_fen: Fen
    purpose: Text


class MediationOutcome(Part):
    """The terms the parties are asked to sign."""

    terms: list[Text] = Field(min_length=1, max_length=50)
    compensation: list[Compensation] = Field(default=[], max_length=20)


def outcome_digest(outcome: MediationOutcome | Mapping[str, Any]) -> str:
    """The `terms_digest` signers quote: json_digest of the `outcome` object as it travels."""
    return json_digest(outcome)


class MediationOutcomeProposedV1(EventData):
    """The mediator's proposed outcome; `terms_digest` is what each signature quotes."""

    event_type: ClassVar[str] = "mediation.outcome_proposed"
    version: ClassVar[tuple[int, int]] = (1, 0)

    mediation_id: CaseId
    proposed_by: JurisdictionRef
    mediator: Person
    outcome: MediationOutcome
    terms_digest: Sha256Hex = Field(description="outcome_digest of `outcome`")


class SignerRole(StrEnum):
    PARTY = "party"
    REPRESENTATIVE = "representative"
    MEDIATOR = "mediator"
    OFFICER = "officer"
    WITNESS = "witness"


class MediationOutcomeSignedV1(EventData):
    """Someone signed the proposed outcome on `party_jurisdiction`'s side."""

    event_type: ClassVar[str] = "mediation.outcome_signed"
    version: ClassVar[tuple[int, int]] = (1, 0)

    mediation_id: CaseId
    party_jurisdiction: JurisdictionRef
    signer: Person
    signer_role: SignerRole
    terms_digest: Sha256Hex = Field(description="digest of the outcome terms signed")
    signed_at: Instant


class MediationClosure(StrEnum):
    AGREEMENT_SIGNED = "agreement_signed"
    NO_AGREEMENT = "no_agreement"
    WITHDRAWN = "withdrawn"
    DECLINED = "declined"


class MediationClosedV1(EventData):
    """The linked mediation is over; with an agreement, `terms_digest` names it."""

    event_type: ClassVar[str] = "mediation.closed"
    version: ClassVar[tuple[int, int]] = (1, 0)

    mediation_id: CaseId
    dispute_id: CaseId
    closed_by: JurisdictionRef
    closure: MediationClosure
    terms_digest: Sha256Hex | None = None
    closed_on: Day
    note: Text | None = None
