"""Report figures and reconciliation as pure functions over plain records."""

from collections import Counter
from datetime import UTC, date
from random import Random
from statistics import median

import pytest

from contracts.events.reports import ReportCosignedV1, ReportFigures, StreamHead
from services.reports.figures import (
    MAX_OPEN_ITEMS,
    DisputeRecord,
    OwnRecords,
    ProxyRecord,
    median_of_counts,
    rate_bp,
    report_figures,
)
from services.reports.model import TooManyDifferences, TooManyOpenItems
from services.reports.period import Period, UnknownPeriod
from services.reports.reconcile import (
    MAX_ACKNOWLEDGED,
    Difference,
    acknowledge,
    differences,
)

H1, H2 = Period.parse("2026-H1"), Period.parse("2026-H2")
HEADS = [
    StreamHead(sender="a", recipient="b", up_to_seq=1, chain_head="1" * 64),
    StreamHead(sender="b", recipient="a", up_to_seq=1, chain_head="2" * 64),
]


def _records(*proxies: ProxyRecord, disputes: tuple[DisputeRecord, ...] = ()) -> OwnRecords:
    return OwnRecords(disputes=disputes, mediations=[], proxy_requests=proxies, chain_heads=HEADS)


def _proxy(n: int, completed_on: date | None, due_on: date = date(2026, 6, 10)) -> ProxyRecord:
    status = "completed" if completed_on else "accepted"
    return ProxyRecord(f"P{n}", "id_card_renewal", status, date(2026, 6, 1), due_on, completed_on)


def test_half_years_run_january_to_june_and_july_to_december() -> None:
    assert (H1.first_day, H1.last_day) == (date(2026, 1, 1), date(2026, 6, 30))
    assert (H2.first_day, H2.last_day) == (date(2026, 7, 1), date(2026, 12, 31))
    with pytest.raises(UnknownPeriod):
        Period.parse("2026-Q1")


@pytest.mark.parametrize("name", ["0000-H1", "0001-H1", "9999-H2"])
def test_a_half_year_outside_the_calendar_is_an_unknown_period(name: str) -> None:
    with pytest.raises(UnknownPeriod, match="outside the years"):
        Period.parse(name)


@pytest.mark.parametrize("name", ["0002-H1", "9998-H2"])
def test_every_half_year_parsed_has_its_bounds_as_utc_instants(name: str) -> None:
    """The store is searched between the period's bounds in UTC: each must have one."""
    period = Period.parse(name)
    assert period.start.astimezone(UTC) < period.end.astimezone(UTC)


def test_rates_round_half_up_to_a_basis_point_and_nothing_counts_zero() -> None:
    assert rate_bp(11_994, 12_104) == 9909
    assert rate_bp(2, 3) == 6667
    assert rate_bp(1, 8) == 1250
    assert rate_bp(0, 0) == 0


def test_each_completed_proxy_request_avoids_one_trip_and_late_ones_lower_the_on_time_rate() -> (
    None
):
    late = _proxy(9, date(2026, 6, 20))
    proxies = [_proxy(n, date(2026, 6, 5)) for n in range(9)] + [late, _proxy(10, None)]
    figures = report_figures(_records(*proxies), H1).proxy_requests
    assert figures.travel_cost_avoided_fen == 10 * 76_000
    assert figures.on_time_rate_bp == 9000
    assert figures.by_service == {"id_card_renewal": {"completed": 10, "accepted": 1}}


def test_a_dispute_resolved_after_the_period_is_reported_but_carried_over_open() -> None:
    dispute = DisputeRecord(
        "D1", "debt", "low", 2, date(2026, 6, 28), "withdrawn", date(2026, 7, 2), 0
    )
    figures = report_figures(_records(disputes=(dispute,)), H1)
    assert (figures.disputes.reported, figures.disputes.resolved) == (1, 0)
    assert figures.disputes.median_days_to_resolution is None
    assert [i.case_id for i in figures.open_items] == ["D1"]
    assert report_figures(_records(disputes=(dispute,)), H2).disputes.reported == 0


def test_differences_name_each_figure_that_differs_with_both_counts() -> None:
    ours = report_figures(_records(_proxy(1, date(2026, 6, 5)), _proxy(2, None)), H1)
    theirs = report_figures(_records(_proxy(1, date(2026, 6, 5))), H1)
    assert differences(ours, ours) == []
    assert differences(ours, theirs) == [
        Difference("open_items.proxy_request:P2@2026-06-01", 1, 0),
        Difference("proxy_requests.by_service.id_card_renewal.accepted", 1, 0),
    ]


@pytest.mark.parametrize("seed", range(20))
def test_the_median_of_counted_values_is_the_median_of_the_values(seed: int) -> None:
    values = Random(seed).choices(range(60), k=Random(seed).randint(1, 40))
    assert median_of_counts(Counter(values)) == float(median(values))
    assert median_of_counts(Counter()) is None


def test_more_open_items_than_the_contract_carries_are_refused_by_name() -> None:
    schema = ReportFigures.model_json_schema()["properties"]["open_items"]
    assert schema["maxItems"] == MAX_OPEN_ITEMS
    at_most = [_proxy(n, None) for n in range(MAX_OPEN_ITEMS)]
    assert len(report_figures(_records(*at_most), H1).open_items) == MAX_OPEN_ITEMS
    with pytest.raises(TooManyOpenItems, match="10001 open items at the end of 2026-H1"):
        report_figures(_records(*at_most, _proxy(MAX_OPEN_ITEMS, None)), H1)


def test_more_differences_than_a_cosignature_explains_are_refused_by_name() -> None:
    schema = ReportCosignedV1.model_json_schema()["properties"]["differences_acknowledged"]
    assert schema["maxItems"] == MAX_ACKNOWLEDGED
    found = [Difference(f"open_items.dispute:DL-{n}@2026-06-01", 1, 0) for n in range(501)]
    explained = {d.figure: "opened on the other side" for d in found}

    assert len(acknowledge(found[:500], explained)) == 500
    with pytest.raises(TooManyDifferences, match="differ in 501 figures, more than the 500"):
        acknowledge(found, explained)
