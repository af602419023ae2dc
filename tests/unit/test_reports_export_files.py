"""A report exported as XLSX (a sheet per section) and PDF (charts, Chinese names) holds the
same figures as the JSON export."""

import asyncio
import io
from datetime import date

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from contracts.events.reports import StreamHead, figures_digest
from services.reports.export import BinaryFormat, ExportFormat, ReportExport, render
from services.reports.export_file import render_bytes, render_file
from services.reports.export_pdf import disputes_by_category, proxy_requests_by_service
from services.reports.figures import DisputeRecord, OwnRecords, ProxyRecord, report_figures
from services.reports.period import Period

HEADS = [
    StreamHead(
        sender="dongguan-dalang", recipient="guangan-qianfeng", up_to_seq=7, chain_head="1" * 64
    ),
    StreamHead(
        sender="guangan-qianfeng", recipient="dongguan-dalang", up_to_seq=5, chain_head="2" * 64
    ),
]
DISPUTES = [
    DisputeRecord(
        "DL-1",
        "land",
        "medium",
        2,
        date(2026, 2, 1),
        "mediated_agreement",
        date(2026, 2, 11),
        98_000,
    ),
    DisputeRecord(
        "DL-2", "wages_labour", "low", 1, date(2026, 3, 1), "mediated_agreement", date(2026, 3, 4)
    ),
    DisputeRecord("DL-3", "wages_labour", "low", 1, date(2026, 4, 1)),
    DisputeRecord("DL-4", "neighbour", "low", 1, date(2026, 5, 1)),
]
PROXY = [
    ProxyRecord("P1", "id_card_renewal", "completed", date(2026, 3, 1), None, date(2026, 3, 2)),
    ProxyRecord("P2", "id_card_renewal", "completed", date(2026, 3, 5), None, date(2026, 3, 9)),
    ProxyRecord("P3", "birth_registration", "accepted", date(2026, 6, 1)),
]
FIGURES = report_figures(OwnRecords(DISPUTES, [], PROXY, HEADS), Period.parse("2026-H1"))
NAMES = {"dongguan-dalang": "东莞市公安局大朗分局", "guangan-qianfeng": "广安市公安局前锋区分局"}
EXPORT = ReportExport("2026-H1", "dongguan-dalang", ["guangan-qianfeng"], FIGURES, names=NAMES)


def _sheet(data: bytes, title: str) -> list[tuple[object, ...]]:
    return list(load_workbook(io.BytesIO(data))[title].iter_rows(values_only=True))


def test_xlsx_has_a_sheet_per_section_holding_the_figures() -> None:
    data = render_bytes(EXPORT, ExportFormat.XLSX)
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == [
        "Summary",
        "Disputes",
        "Mediations",
        "Proxy requests",
        "Open items",
        "Chain heads",
    ]
    summary = {row[0]: row[1] for row in _sheet(data, "Summary")}
    assert summary["period"] == "2026-H1"
    assert summary["counted_by_name"] == "东莞市公安局大朗分局"
    assert summary["figures_digest"] == figures_digest(FIGURES)
    assert summary["化解率 Resolution rate"] == "50.00%"
    disputes = {(row[0], row[1]): row[2] for row in _sheet(data, "Disputes")}
    assert disputes[("reported", None)] == 4
    assert disputes[("by_category", "劳资 wages/labour")] == 2
    assert disputes[("compensation_total_fen", None)] == 98_000
    proxy = {(row[0], row[1]): row[3] for row in _sheet(data, "Proxy requests")}
    assert proxy[("id_card_renewal", "completed")] == 2
    assert proxy[("birth_registration", "accepted")] == 1
    assert proxy[("travel_cost_avoided_fen", None)] == 152_000
    open_cases = [row[1] for row in _sheet(data, "Open items")[1:]]
    assert open_cases == ["DL-3", "DL-4", "P3"]
    assert _sheet(data, "Chain heads")[1] == ("dongguan-dalang", "guangan-qianfeng", 7, "1" * 64)


def test_pdf_reads_back_with_the_period_and_headline_figures() -> None:
    data = render_bytes(EXPORT, ExportFormat.PDF)
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 1
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Semiannual report 2026-H1" in text
    assert "东莞市公安局大朗分局" in text and "广安市公安局前锋区分局" in text
    assert "Resolution rate" in text and "50.00%" in text
    assert "Travel cost avoided (yuan)" in text and "1520.00" in text
    assert figures_digest(FIGURES) in text
    assert reader.metadata is not None and reader.metadata.title == "Semiannual report 2026-H1"


def test_pdf_sets_chinese_in_a_cjk_font_it_declares() -> None:
    data = render_bytes(EXPORT, ExportFormat.PDF)
    assert b"/STSong-Light" in data
    assert b"/UniGB-UCS2-H" in data  # the CMap that maps Unicode Chinese onto the font


def test_charts_plot_disputes_by_category_and_requests_by_service_and_status() -> None:
    categories = disputes_by_category(EXPORT).contents[0]
    assert categories.categoryAxis.categoryNames == [
        "土地 land",
        "邻里 neighbour",
        "劳资 wages/labour",
    ]
    assert categories.data == [[1, 1, 2]]
    services = proxy_requests_by_service(EXPORT).contents[0]
    assert services.categoryAxis.categoryNames == ["birth_registration", "id_card_renewal"]
    assert services.data == [[1, 0], [0, 2]]  # accepted, completed


def test_an_empty_period_still_renders_both_files() -> None:
    empty = report_figures(OwnRecords([], [], [], HEADS), Period.parse("2026-H2"))
    export = ReportExport("2026-H2", "dongguan-dalang", ["guangan-qianfeng"], empty)
    assert render_bytes(export, ExportFormat.PDF).startswith(b"%PDF-")
    summary = _sheet(render_bytes(export, ExportFormat.XLSX), "Summary")
    assert ("化解率 Resolution rate", "0.00%") in summary


def test_text_renderer_refuses_binary_formats() -> None:
    with pytest.raises(BinaryFormat):
        render(EXPORT, ExportFormat.PDF)
    assert render_bytes(EXPORT, ExportFormat.CSV).decode("utf-8") == render(
        EXPORT, ExportFormat.CSV
    )


async def test_a_pdf_is_rendered_off_the_event_loop_which_keeps_serving_meanwhile() -> None:
    rendering = asyncio.ensure_future(render_file(EXPORT, ExportFormat.PDF))
    turns_while_rendering = 0
    while not rendering.done():
        await asyncio.sleep(0)
        turns_while_rendering += 1
    assert (await rendering).startswith(b"%PDF")
    assert turns_while_rendering > 1
