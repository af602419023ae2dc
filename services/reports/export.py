"""A report's figures as a file: JSON (the figures as they travel) and CSV (one figure a row);
XLSX (export_xlsx) and PDF (export_pdf) are binary and rendered through export_file.
"""

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from contracts.events.reports import ReportFigures, figures_digest
from services.reports.reconcile import flatten


class ExportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"
    PDF = "pdf"

    @property
    def binary(self) -> bool:
        """Whether the format is bytes rather than UTF-8 text."""
        return self in (ExportFormat.XLSX, ExportFormat.PDF)


class BinaryFormat(ValueError):
    """A binary format (XLSX, PDF) asked of the text renderer."""


@dataclass(frozen=True)
class ReportExport:
    """What is exported: whose figures, for what period, and whether both sides signed them."""

    period: str
    counted_by: str
    partners: Sequence[str]
    figures: ReportFigures
    status: str = "draft"  # "final" once both cosignatures over the digest are in
    signed_by: Sequence[str] = ()
    names: Mapping[str, str] = field(default_factory=dict)  # display names by jurisdiction id

    def document(self) -> dict[str, Any]:
        """The export as one JSON-ready object, with the digest cosigners sign."""
        return {
            "period": self.period,
            "counted_by": self.counted_by,
            "partners": list(self.partners),
            "status": self.status,
            "signed_by": list(self.signed_by),
            "figures_digest": figures_digest(self.figures),
            # as they travel, nulls omitted: the digest is of exactly this object
            "figures": self.figures.model_dump(mode="json", exclude_none=True),
        }


def to_json(export: ReportExport) -> str:
    """The export as indented JSON (UTF-8 text, keys sorted)."""
    return json.dumps(export.document(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def to_csv(export: ReportExport) -> str:
    """One row per figure path, after a header naming the report and its digest."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["figure", "value"])
    head = export.document()
    for key in ("period", "counted_by", "status", "figures_digest"):
        writer.writerow([key, head[key]])
    writer.writerow(["partners", " ".join(export.partners)])
    for path, value in sorted(flatten(export.figures, absent="").items()):
        writer.writerow([path, value])
    return out.getvalue()


def render(export: ReportExport, fmt: ExportFormat) -> str:
    """The export in the text format `fmt`; BinaryFormat for XLSX and PDF (see export_file)."""
    if fmt.binary:
        raise BinaryFormat(f"{fmt.value} is binary: render it with export_file.render_bytes")
    return to_json(export) if fmt is ExportFormat.JSON else to_csv(export)
