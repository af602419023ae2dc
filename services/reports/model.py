"""The report's exchange as one table: proposed, cosigned by the partner, then by the proposer.

Pure: states, transitions, the rules of who signs what, and the typed refusals.
"""

from dataclasses import dataclass
from enum import StrEnum

from contracts.events.reports import ReportCosignedV1, ReportProposedV1
from services.bus.handlers import NotApplicable

PROPOSED = ReportProposedV1.event_type
COSIGNED = ReportCosignedV1.event_type


class ReportState(StrEnum):
    NEW = "new"  # not yet known on this node
    PROPOSED = "proposed"  # figures proposed, awaiting the partner's signature
    PARTNER_SIGNED = "partner_signed"  # the partner signed; the proposer signs last
    FINAL = "final"  # both signatures over the same digest


S = ReportState
TRANSITIONS: dict[tuple[ReportState, str], ReportState] = {
    (S.NEW, PROPOSED): S.PROPOSED,
    (S.PROPOSED, COSIGNED): S.PARTNER_SIGNED,
    (S.PARTNER_SIGNED, COSIGNED): S.FINAL,
}


class ReportRefused(NotApplicable):
    """A step the report does not allow; a received one is quarantined, a command's is a 409."""

    reason = "report_refused"
    http_status = 409


class UnknownReport(ReportRefused):
    reason = "unknown_report"
    http_status = 404


class DuplicateReport(ReportRefused):
    reason = "duplicate_report"


class IllegalReportStep(ReportRefused):
    reason = "report_illegal_step"


class NotReportParty(ReportRefused):
    reason = "report_not_party"


class SigningOutOfTurn(ReportRefused):
    """The partner signs first (it checked the figures); the proposer signs last."""

    reason = "report_out_of_turn"


class DigestMismatch(ReportRefused):
    reason = "report_digest_mismatch"


class UnexplainedDifferences(ReportRefused):
    """Our own count differs from the proposal and not every difference is explained."""

    reason = "report_unexplained"


class TooManyOpenItems(ReportRefused):
    """More cases open at the period's end than a report can carry (the contract's limit)."""

    reason = "report_too_many_open_items"


class TooManyDifferences(ReportRefused):
    """The two sides' counts differ in more figures than a cosignature can explain."""

    reason = "report_too_many_differences"


class ChainHeadsDiffer(ReportRefused):
    """The two sides do not hold the same envelopes: no explanation can cover that."""

    reason = "report_chain_differs"


@dataclass(frozen=True)
class Report:
    """A report as a step needs to know it."""

    report_id: str
    agreement_id: str
    period: str
    proposed_by: str
    partner: str
    state: ReportState
    figures_digest: str
    correlation: str
    last_event_id: str

    def signer_due(self) -> str | None:
        """Whose signature comes next: the partner, then the proposer; None once final."""
        return {S.PROPOSED: self.partner, S.PARTNER_SIGNED: self.proposed_by}.get(self.state)


def next_state(report_id: str, state: ReportState, event_type: str) -> ReportState:
    """The state after `event_type`; IllegalReportStep when the table has no such step."""
    after = TRANSITIONS.get((state, event_type))
    if after is None:
        raise IllegalReportStep(f"report {report_id} is {state.value}: {event_type} is not allowed")
    return after


def check_proposal(report: Report | None, event: ReportProposedV1, sender: str) -> ReportState:
    """A proposal opens a report, sent by the party it names as proposer."""
    if report is not None:
        raise DuplicateReport(f"report {event.report_id} is already held here")
    if event.proposed_by != sender:
        raise NotReportParty(f"{sender} cannot propose a report in the name of {event.proposed_by}")
    return next_state(event.report_id, S.NEW, PROPOSED)


def check_cosign(report: Report, event: ReportCosignedV1, sender: str) -> ReportState:
    """A cosignature by the party due to sign, over the proposed figures' digest."""
    after = next_state(report.report_id, report.state, COSIGNED)
    if sender != event.signed_by or sender not in (report.proposed_by, report.partner):
        raise NotReportParty(f"{sender} is not a party signing report {report.report_id}")
    if sender != report.signer_due():
        raise SigningOutOfTurn(
            f"report {report.report_id} awaits {report.signer_due()}'s signature, not {sender}'s"
        )
    if event.figures_digest != report.figures_digest:
        raise DigestMismatch(
            f"{sender} signed {event.figures_digest[:12]}..., the proposed figures are "
            f"{report.figures_digest[:12]}..."
        )
    return after
