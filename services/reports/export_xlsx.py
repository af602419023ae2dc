"""The report as an XLSX workbook: one sheet per section, figures as numbers, not text."""

import io
from collections.abc import Iterable, Sequence

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from services.reports.export import ReportExport
from services.reports.export_labels import category_label, headlines, status_label

Cell = str | int | float | None
BOLD = Font(bold=True)


def _sheet(
    book: Workbook, title: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]
) -> None:
    sheet: Worksheet = book.create_sheet(title)
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = BOLD
    for row in rows:
        sheet.append(list(row))
    for index, (column, name) in enumerate(zip(sheet.columns, header, strict=False), start=1):
        widest = max([len(str(c.value or "")) for c in column] + [len(name)])
        sheet.column_dimensions[get_column_letter(index)].width = min(60, widest + 2)


def _summary(export: ReportExport) -> list[Sequence[Cell]]:
    head = export.document()
    rows: list[Sequence[Cell]] = [
        ("period", export.period),
        ("counted_by", export.counted_by),
        ("counted_by_name", export.names.get(export.counted_by, export.counted_by)),
        ("partners", " ".join(export.partners)),
        ("status", export.status),
        ("signed_by", " ".join(export.signed_by)),
        ("figures_digest", head["figures_digest"]),
    ]
    return rows + [(f"{h.zh} {h.en}", h.value) for h in headlines(export.figures)]


def _disputes(export: ReportExport) -> list[Sequence[Cell]]:
    d = export.figures.disputes
    rows: list[Sequence[Cell]] = [
        ("reported", None, d.reported),
        ("resolved", None, d.resolved),
        ("resolution_rate_bp", None, d.resolution_rate_bp),
        ("median_days_to_resolution", None, d.median_days_to_resolution),
        ("compensation_total_fen", None, d.compensation_total_fen),
    ]
    rows += [("by_category", category_label(k), v) for k, v in sorted(d.by_category.items())]
    rows += [("by_level", k, v) for k, v in sorted(d.by_level.items())]
    rows += [("by_risk", k, v) for k, v in sorted(d.by_risk.items())]
    return rows + [("by_outcome", k, v) for k, v in sorted(d.by_outcome.items())]


def _proxy_requests(export: ReportExport) -> list[Sequence[Cell]]:
    p = export.figures.proxy_requests
    rows: list[Sequence[Cell]] = [
        (service, status, status_label(status), count)
        for service, counts in sorted(p.by_service.items())
        for status, count in sorted(counts.items())
    ]
    return [
        *rows,
        ("on_time_rate_bp", None, None, p.on_time_rate_bp),
        ("travel_cost_avoided_fen", None, None, p.travel_cost_avoided_fen),
    ]


def to_xlsx(export: ReportExport) -> bytes:
    """The workbook's bytes: Summary, Disputes, Mediations, Proxy requests, Open items, Chains."""
    figures = export.figures
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    _sheet(book, "Summary", ("figure", "value"), _summary(export))
    _sheet(book, "Disputes", ("figure", "key", "value"), _disputes(export))
    _sheet(
        book,
        "Mediations",
        ("figure", "value"),
        [("opened", figures.mediations.opened), ("closed", figures.mediations.closed)],
    )
    _sheet(book, "Proxy requests", ("service", "status", "label", "count"), _proxy_requests(export))
    _sheet(
        book,
        "Open items",
        ("kind", "case_id", "opened_on", "note"),
        [(i.kind, i.case_id, i.opened_on, i.note) for i in figures.open_items],
    )
    _sheet(
        book,
        "Chain heads",
        ("sender", "recipient", "up_to_seq", "chain_head"),
        [(h.sender, h.recipient, h.up_to_seq, h.chain_head) for h in figures.chain_heads],
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
