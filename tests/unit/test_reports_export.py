"""A report's figures exported as JSON and CSV carry the same figures and digest."""

import csv
import io
import json
from datetime import date

from contracts.canonical import canonical_bytes, sha256_hex
from contracts.events.reports import StreamHead, figures_digest
from services.reports.export import ExportFormat, ReportExport, render
from services.reports.figures import DisputeRecord, OwnRecords, ProxyRecord, report_figures
from services.reports.period import Period

HEADS = [
    StreamHead(sender="a", recipient="b", up_to_seq=3, chain_head="1" * 64),
    StreamHead(sender="b", recipient="a", up_to_seq=2, chain_head="2" * 64),
]
DONE = ProxyRecord("P1", "id_card_renewal", "completed", date(2026, 3, 1), None, date(2026, 3, 2))
FIGURES = report_figures(OwnRecords([], [], [DONE], HEADS), Period.parse("2026-H1"))
EXPORT = ReportExport("2026-H1", "a", ["b"], FIGURES)


def test_json_export_carries_the_figures_as_they_travel_and_their_digest() -> None:
    document = json.loads(render(EXPORT, ExportFormat.JSON))
    assert document["status"] == "draft"
    assert document["figures_digest"] == figures_digest(FIGURES)
    assert document["figures"]["proxy_requests"]["travel_cost_avoided_fen"] == 76_000


def test_csv_export_has_one_row_per_figure_path() -> None:
    rows = dict(csv.reader(io.StringIO(render(EXPORT, ExportFormat.CSV))))
    assert rows["proxy_requests.by_service.id_card_renewal.completed"] == "1"
    assert rows["chain_heads.a>b.up_to_seq"] == "3"
    assert rows["figures_digest"] == figures_digest(FIGURES)


def test_json_export_figures_hash_to_the_digest_it_names() -> None:
    open_dispute = DisputeRecord("D1", "land", "low", 1, date(2026, 2, 1))  # no median, no note
    figures = report_figures(OwnRecords([open_dispute], [], [DONE], HEADS), Period.parse("2026-H1"))
    document = json.loads(render(ReportExport("2026-H1", "a", ["b"], figures), ExportFormat.JSON))
    assert sha256_hex(canonical_bytes(document["figures"])) == document["figures_digest"]


def test_csv_export_leaves_a_median_of_no_resolutions_blank_as_the_other_formats_do() -> None:
    rows = dict(csv.reader(io.StringIO(render(EXPORT, ExportFormat.CSV))))
    assert FIGURES.disputes.median_days_to_resolution is None
    assert rows["disputes.median_days_to_resolution"] == ""
