"""What the report export counts: this node's figures with every partner in force today."""

from dataclasses import dataclass

from services.bus.handlers import NotApplicable
from services.node import Node
from services.reports.counting import count_figures
from services.reports.export import ReportExport
from services.reports.period import Period


class NoPartnerInForce(NotApplicable):
    """The node shares no agreement in force with anyone: there is nothing to count."""

    reason = "no_partner_in_force"


@dataclass(frozen=True)
class Parties:
    partners: list[str]
    names: dict[str, str]  # Chinese display names by jurisdiction id


def parties_in_force(node: Node) -> Parties:
    """Every jurisdiction sharing an agreement in force with the node today, and the names."""
    today = node.clock().date()
    partners: set[str] = set()
    names: dict[str, str] = {}
    for agreement_id in node.book.ids():
        loaded = node.book.in_force(agreement_id, today)
        parties = [] if loaded is None else loaded.agreement.parties
        if node.jurisdiction in {p.id for p in parties}:
            partners |= {p.id for p in parties} - {node.jurisdiction}
            names |= {p.id: p.name.zh for p in parties}
    return Parties(sorted(partners), names)


async def count_draft(node: Node, period: Period) -> ReportExport:
    """This node's own count for `period` (a draft: no one has signed it)."""
    parties = parties_in_force(node)
    if not parties.partners:
        raise NoPartnerInForce(f"{node.jurisdiction} has no agreement in force with a partner")
    async with node.db.snapshot() as conn:
        figures = await count_figures(conn, node.jurisdiction, parties.partners, period)
    return ReportExport(
        period.name, node.jurisdiction, parties.partners, figures, names=parties.names
    )
