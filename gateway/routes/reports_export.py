"""What the report export counts: this node's figures with every partner of the period."""

from dataclasses import dataclass
from datetime import date

from contracts.agreement import AgreementBook
from services.bus.handlers import NotApplicable
from services.node import Node
from services.reports.counting import count_figures
from services.reports.export import ReportExport
from services.reports.period import Period


class NoPartnerInForce(NotApplicable):
    """The node shared no agreement in force with anyone in the period: nothing to count."""

    reason = "no_partner_in_force"


@dataclass(frozen=True)
class Parties:
    partners: list[str]
    names: dict[str, str]  # Chinese display names by jurisdiction id


def parties_during(book: AgreementBook, me: str, first: date, last: date) -> Parties:
    """Every jurisdiction sharing an agreement in force with `me` on some day from `first` to
    `last`, and the names."""
    partners: set[str] = set()
    names: dict[str, str] = {}
    for agreement_id in book.ids():
        loaded = book.in_force_during(agreement_id, first, last)
        parties = [] if loaded is None else loaded.agreement.parties
        if me in {p.id for p in parties}:
            partners |= {p.id for p in parties} - {me}
            names |= {p.id: p.name.zh for p in parties}
    return Parties(sorted(partners), names)


def parties_in_force(node: Node) -> Parties:
    """Every jurisdiction sharing an agreement in force with the node today, and the names."""
    today = node.clock().date()
    return parties_during(node.book, node.jurisdiction, today, today)


def report_parties(book: AgreementBook, me: str, period: Period, today: date) -> Parties:
    """The partners a report of `period` counts: every one that shared an agreement in force
    with `me` in the period (up to `today`; one that has ended since still counts for the
    periods it was in force); NoPartnerInForce when there is none."""
    parties = parties_during(book, me, period.first_day, min(period.last_day, today))
    if not parties.partners:
        raise NoPartnerInForce(f"{me} had no agreement in force with a partner in {period.name}")
    return parties


async def count_draft(node: Node, period: Period) -> ReportExport:
    """This node's own count for `period` (a draft: no one has signed it)."""
    parties = report_parties(node.book, node.jurisdiction, period, node.clock().date())
    async with node.db.snapshot() as conn:
        figures = await count_figures(conn, node.jurisdiction, parties.partners, period)
    return ReportExport(
        period.name, node.jurisdiction, parties.partners, figures, names=parties.names
    )
