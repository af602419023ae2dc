"""A report export in any format, as the bytes of the file to write."""

import asyncio

from services.reports.export import ExportFormat, ReportExport, render
from services.reports.export_pdf import to_pdf
from services.reports.export_xlsx import to_xlsx


def render_bytes(export: ReportExport, fmt: ExportFormat) -> bytes:
    """The file's bytes in `fmt`: JSON and CSV as UTF-8, XLSX and PDF as rendered."""
    if fmt is ExportFormat.XLSX:
        return to_xlsx(export)
    if fmt is ExportFormat.PDF:
        return to_pdf(export)
    return render(export, fmt).encode("utf-8")


async def render_file(export: ReportExport, fmt: ExportFormat) -> bytes:
    """`render_bytes` in a worker thread: a PDF or XLSX takes long enough to stall the event loop
    (and every request and NATS message the node is handling) if rendered on it."""
    return await asyncio.to_thread(render_bytes, export, fmt)
