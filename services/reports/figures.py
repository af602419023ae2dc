"""The report's figures from one side's own rows: pure functions over plain records.

Disputes, mediations and proxy requests count in the period they were opened in (reported,
requested, filed; CST days). A case opened by the period's last day and not ended by then is an
open item carried over. Proxy requests are counted by their status now; rates are basis points
rounded half up, 0 when there is nothing to count.
"""

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import accumulate

from contracts.events.reports import (
    DisputeFigures,
    MediationFigures,
    OpenItem,
    ProxyFigures,
    ReportFigures,
    StreamHead,
)
from services.reports.model import TooManyOpenItems
from services.reports.period import Period

TRAVEL_COST_PER_TRIP_FEN = 76_000
"""A trip home to the registry that a proxy request saves: 760 yuan (DOMAIN.md)."""

MAX_OPEN_ITEMS = 10_000
"""The open items a report carries at most (`ReportFigures.open_items` in the contract)."""


@dataclass(frozen=True)
class DisputeRecord:
    dispute_id: str
    category: str
    risk: str
    level: int
    reported_on: date
    outcome: str | None = None
    resolved_on: date | None = None
    compensation_fen: int | None = None
    closed_on: date | None = None


@dataclass(frozen=True)
class MediationRecord:
    mediation_id: str
    requested_on: date
    closed_on: date | None = None
    declined_on: date | None = None


@dataclass(frozen=True)
class ProxyRecord:
    request_id: str
    service_code: str
    status: str
    filed_on: date
    due_on: date | None = None
    completed_on: date | None = None
    rejected_on: date | None = None


@dataclass(frozen=True)
class OwnRecords:
    """What one side holds of its exchange with its partners, as the figures need it."""

    disputes: Sequence[DisputeRecord]
    mediations: Sequence[MediationRecord]
    proxy_requests: Sequence[ProxyRecord]
    chain_heads: Sequence[StreamHead]


def rate_bp(part: int, whole: int) -> int:
    """part / whole in basis points, rounded half up; 0 when whole is 0."""
    return (part * 20_000 + whole) // (2 * whole) if whole else 0


def _ended_by(day: date | None, period: Period) -> bool:
    return day is not None and day <= period.last_day


@dataclass
class DisputeTally:
    """Disputes reported in a period as counts: all the dispute figures need."""

    # by (category, level, risk)
    reported: Counter[tuple[str, int, str]] = field(default_factory=Counter)
    resolved: Counter[str] = field(default_factory=Counter)  # by outcome
    days_to_resolution: Counter[int] = field(default_factory=Counter)
    compensation_fen: int = 0

    def add_reported(self, category: str, level: int, risk: str, count: int = 1) -> None:
        """`count` disputes of this category, level and risk were reported in the period."""
        self.reported[(category, level, risk)] += count

    def add_resolved(self, outcome: str, days: int, compensation_fen: int, count: int = 1) -> None:
        """`count` of them were resolved by the period's end, `days` after they were reported."""
        self.resolved[outcome] += count
        self.days_to_resolution[days] += count
        self.compensation_fen += compensation_fen

    def add_record(self, d: DisputeRecord, period: Period) -> None:
        """The dispute `d`, if it was reported in the period."""
        if not period.holds(d.reported_on):
            return
        self.add_reported(d.category, d.level, d.risk)
        if d.resolved_on is not None and is_resolved(d.outcome, d.resolved_on, period):
            days = (d.resolved_on - d.reported_on).days
            self.add_resolved(str(d.outcome), days, d.compensation_fen or 0)


def is_resolved(outcome: str | None, resolved_on: date | None, period: Period) -> bool:
    """A dispute counts as resolved when it has an outcome dated by the period's last day."""
    return bool(outcome) and _ended_by(resolved_on, period)


def tally_disputes(records: Iterable[DisputeRecord], period: Period) -> DisputeTally:
    """The tally of the disputes reported in the period."""
    tally = DisputeTally()
    for d in records:
        tally.add_record(d, period)
    return tally


def _summed(counts: Counter[tuple[str, int, str]], part: int) -> dict[str, int]:
    summed: Counter[str] = Counter()
    for key, count in counts.items():
        summed[str(key[part])] += count
    return dict(sorted(summed.items()))


def median_of_counts(counts: Counter[int]) -> float | None:
    """The median of the values `counts` counts (the mean of the middle two for an even total)."""
    values = sorted(counts)
    ends = list(accumulate(counts[v] for v in values))  # ends[i]: values up to values[i]
    if not ends or not ends[-1]:
        return None
    total = ends[-1]
    low, high = (values[bisect_right(ends, at)] for at in ((total - 1) // 2, total // 2))
    return (low + high) / 2


def dispute_figures_of(tally: DisputeTally) -> DisputeFigures:
    """The dispute figures from their tally."""
    reported, resolved = sum(tally.reported.values()), sum(tally.resolved.values())
    return DisputeFigures(
        reported=reported,
        resolved=resolved,
        by_category=_summed(tally.reported, 0),
        by_level=_summed(tally.reported, 1),
        by_risk=_summed(tally.reported, 2),
        by_outcome=dict(sorted(tally.resolved.items())),
        resolution_rate_bp=rate_bp(resolved, reported),
        median_days_to_resolution=median_of_counts(tally.days_to_resolution),
        compensation_total_fen=tally.compensation_fen,
    )


def dispute_figures(records: Iterable[DisputeRecord], period: Period) -> DisputeFigures:
    """Disputes reported in the period: by category, level, risk; resolved ones by outcome."""
    return dispute_figures_of(tally_disputes(records, period))


def mediation_figures(records: Iterable[MediationRecord], period: Period) -> MediationFigures:
    """Linked mediations requested, and closed, in the period."""
    records = list(records)
    return MediationFigures(
        opened=sum(period.holds(m.requested_on) for m in records),
        closed=sum(period.holds(m.closed_on) for m in records),
    )


def proxy_figures(
    records: Iterable[ProxyRecord], period: Period, cost_per_trip_fen: int
) -> ProxyFigures:
    """Proxy requests filed in the period by service and status, on time, and travel saved."""
    filed = [r for r in records if period.holds(r.filed_on)]
    by_service: dict[str, Counter[str]] = {}
    for r in filed:
        by_service.setdefault(r.service_code, Counter())[r.status] += 1
    completed = [r for r in filed if r.completed_on is not None]
    on_time = [r for r in completed if _on_time(r)]
    return ProxyFigures(
        by_service={code: dict(counts) for code, counts in by_service.items()},
        on_time_rate_bp=rate_bp(len(on_time), len(completed)),
        travel_cost_avoided_fen=len(completed) * cost_per_trip_fen,
    )


def _on_time(r: ProxyRecord) -> bool:
    return r.completed_on is not None and (r.due_on is None or r.completed_on <= r.due_on)


def open_items(records: OwnRecords, period: Period) -> list[OpenItem]:
    """Cases opened by the period's end and still open then, in a stable order;
    TooManyOpenItems beyond what a report carries."""
    items = [
        OpenItem(kind="dispute", case_id=d.dispute_id, opened_on=d.reported_on.isoformat())
        for d in records.disputes
        if _ended_by(d.reported_on, period)
        and not (_ended_by(d.resolved_on, period) or _ended_by(d.closed_on, period))
    ]
    items += [
        OpenItem(kind="mediation", case_id=m.mediation_id, opened_on=m.requested_on.isoformat())
        for m in records.mediations
        if _ended_by(m.requested_on, period)
        and not (_ended_by(m.declined_on, period) or _ended_by(m.closed_on, period))
    ]
    items += [
        OpenItem(kind="proxy_request", case_id=r.request_id, opened_on=r.filed_on.isoformat())
        for r in records.proxy_requests
        if _ended_by(r.filed_on, period)
        and not (_ended_by(r.completed_on, period) or _ended_by(r.rejected_on, period))
    ]
    if len(items) > MAX_OPEN_ITEMS:
        raise TooManyOpenItems(
            f"{len(items)} open items at the end of {period.name}: "
            f"a report carries at most {MAX_OPEN_ITEMS}"
        )
    return sorted(items, key=lambda i: (i.kind, i.case_id))


def report_figures(
    records: OwnRecords, period: Period, cost_per_trip_fen: int = TRAVEL_COST_PER_TRIP_FEN
) -> ReportFigures:
    """Every figure of the report, from one side's own records."""
    return tallied_figures(
        tally_disputes(records.disputes, period), records, period, cost_per_trip_fen
    )


def tallied_figures(
    disputes: DisputeTally, records: OwnRecords, period: Period, cost_per_trip_fen: int
) -> ReportFigures:
    """Every figure of the report, the disputes' from their tally: `records.disputes` then
    need hold only those that may still be open at the period's end (the open items)."""
    return ReportFigures(
        disputes=dispute_figures_of(disputes),
        mediations=mediation_figures(records.mediations, period),
        proxy_requests=proxy_figures(records.proxy_requests, period, cost_per_trip_fen),
        open_items=open_items(records, period),
        chain_heads=sorted(records.chain_heads, key=lambda h: (h.sender, h.recipient)),
    )
