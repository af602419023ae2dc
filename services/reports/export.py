"""A report's figures as a file: JSON (the figures as they travel) and CSV (one figure a row).

XLSX and PDF renderings are not built yet.
"""

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from contracts.events.reports import ReportFigures, figures_digest
from services.reports.reconcile import flatten


class ExportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


@dataclass(frozen=True)
class ReportExport:
    """What is exported: whose figures, for what period, and whether both sides signed them."""

    period: str
    counted_by: str
    partners: Sequence[str]
    figures: ReportFigures
    status: str = "draft"  # "final" once both cosignatures over the digest are in
    signed_by: Sequence[str] = ()

    def document(self) -> dict[str, Any]:
        """The export as one JSON-ready object, with the digest cosigners sign."""
        return {
            "period": self.period,
            "counted_by": self.counted_by,
            "partners": list(self.partners),
            "status": self.status,
            "signed_by": list(self.signed_by),
            "figures_digest": figures_digest(self.figures),
            "figures": self.figures.model_dump(mode="json"),
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
    for path, value in sorted(flatten(export.figures).items()):
        writer.writerow([path, value])
    return out.getvalue()


def render(export: ReportExport, fmt: ExportFormat) -> str:
    """The export in `fmt`."""
    return to_json(export) if fmt is ExportFormat.JSON else to_csv(export)
