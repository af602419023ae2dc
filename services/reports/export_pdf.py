"""The report as a PDF for the review meeting: headline figures, two charts, open items.

Chinese text is set in STSong-Light, a CID font every PDF reader carries (reportlab registers
it without shipping glyphs); Latin text and figures in Helvetica, so both read back as text.
"""

import io
from collections.abc import Sequence

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from contracts.events.common import ProxyStatus
from services.reports.export import ReportExport
from services.reports.export_labels import STATUS_LABELS, category_label, headlines

CJK = "STSong-Light"
LATIN = "Helvetica"
PALETTE = [colors.HexColor(c) for c in ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")]
TITLE = ParagraphStyle("title", fontName=CJK, fontSize=16, leading=22)
BODY = ParagraphStyle("body", fontName=CJK, fontSize=10, leading=14)
HEADING = ParagraphStyle("heading", fontName=CJK, fontSize=12, leading=18, spaceBefore=8)


def _register_fonts() -> None:
    if CJK not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK))


def _pt(millimetres: float) -> int:
    return round(millimetres * mm)


def _latin(text: str) -> str:
    # Latin runs in Helvetica so that text extraction reads them back byte for byte.
    return f'<font name="{LATIN}">{text}</font>'


def _head(export: ReportExport) -> list[Flowable]:
    name = export.names.get(export.counted_by, export.counted_by)
    partners = "、".join(export.names.get(p, p) for p in export.partners)
    return [
        Paragraph(f"半年报 {_latin('Semiannual report ' + export.period)}", TITLE),
        Paragraph(f"统计单位 {name} {_latin('(' + export.counted_by + ')')}", BODY),
        Paragraph(f"协作单位 {partners} {_latin('(' + ', '.join(export.partners) + ')')}", BODY),
        Paragraph(_latin(f"Status: {export.status}"), BODY),
        Paragraph(_latin(f"Figures digest: {export.document()['figures_digest']}"), BODY),
    ]


def _headline_table(export: ReportExport) -> Table:
    rows = [[h.zh, h.en, h.value] for h in headlines(export.figures)]
    table = Table(rows, colWidths=[45 * mm, 75 * mm, 40 * mm])
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (0, -1), CJK, 10),
                ("FONT", (1, 0), (-1, -1), LATIN, 10),
                ("ALIGN", (2, 0), (2, -1), "RIGHT"),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8f0fe")),
            ]
        )
    )
    return table


def _bar_chart(
    title: str, categories: Sequence[str], series: Sequence[tuple[str, Sequence[int]]]
) -> Drawing:
    drawing = Drawing(170 * mm, 80 * mm)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = _pt(15), _pt(22), _pt(105), _pt(48)
    if not categories:  # nothing counted: one empty bar, so the axes still draw
        categories, series = ["-"], [("-", [0])]
    chart.data = [list(values) for _, values in series]
    chart.categoryAxis.categoryNames = list(categories)
    chart.categoryAxis.labels.fontName = CJK
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.angle = 30
    chart.categoryAxis.labels.boxAnchor = "ne"
    chart.valueAxis.valueMin = 0
    if max(max(values) for _, values in series) < 5:  # counts are whole: no 0.002 ticks
        chart.valueAxis.valueMax, chart.valueAxis.valueStep = 5, 1
    chart.valueAxis.labels.fontName = LATIN
    for index in range(len(chart.data)):
        chart.bars[index].fillColor = PALETTE[index % len(PALETTE)]
    drawing.add(chart)
    drawing.add(String(15 * mm, 75 * mm, title, fontName=CJK, fontSize=11))
    if len(series) > 1:
        legend = Legend()
        legend.x, legend.y, legend.fontName, legend.fontSize = _pt(125), _pt(65), CJK, 7
        legend.colorNamePairs = [
            (PALETTE[i % len(PALETTE)], name) for i, (name, _) in enumerate(series)
        ]
        drawing.add(legend)
    return drawing


def disputes_by_category(export: ReportExport) -> Drawing:
    """Bar chart: disputes reported in the period, by category."""
    counts = sorted(export.figures.disputes.by_category.items())
    return _bar_chart(
        "纠纷类别 Disputes by category",
        [category_label(code) for code, _ in counts],
        [("disputes", [n for _, n in counts])],
    )


def proxy_requests_by_service(export: ReportExport) -> Drawing:
    """Grouped bar chart: proxy requests filed in the period, by service, one bar per status."""
    by_service = export.figures.proxy_requests.by_service
    services = sorted(by_service)
    statuses = [s for s in STATUS_LABELS if any(s in by_service[v] for v in services)]
    series = [
        (STATUS_LABELS[s], [by_service[v].get(ProxyStatus(s), 0) for v in services])
        for s in statuses
    ]
    return _bar_chart("户籍代办 Proxy requests by service and status", services, series)


def _open_items(export: ReportExport) -> list[Flowable]:
    items = export.figures.open_items
    if not items:
        return [Paragraph(f"未结事项 {_latin('Open items: none')}", HEADING)]
    rows = [["kind", "case", "opened on"]] + [[i.kind, i.case_id, i.opened_on] for i in items]
    table = Table(rows, repeatRows=1)
    table.setStyle(
        TableStyle(
            [("FONT", (0, 0), (-1, -1), LATIN, 9), ("GRID", (0, 0), (-1, -1), 0.25, colors.grey)]
        )
    )
    return [Paragraph(f"未结事项 {_latin('Open items carried over')}", HEADING), table]


def to_pdf(export: ReportExport) -> bytes:
    """The report's PDF bytes (A4): head, headline figures, two charts, open items."""
    _register_fonts()
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=f"Semiannual report {export.period}",
        author=export.counted_by,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
    )
    story: list[Flowable] = [
        *_head(export),
        Spacer(1, 6 * mm),
        _headline_table(export),
        Spacer(1, 6 * mm),
        disputes_by_category(export),
        proxy_requests_by_service(export),
        *_open_items(export),
    ]
    document.build(story)
    return out.getvalue()
