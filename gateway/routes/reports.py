"""The semiannual report (半年报): each side counts its own figures, the proposer sends them,
the partner reconciles against its own store and cosigns, the proposer cosigns last.

The command centre proposes, reconciles, cosigns and exports; it, auditors and admins read.
Figures are counts: a report shows no personal data.
"""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from contracts.events.reports import ReportPeriod
from gateway.deps import ApiDep, CommandCentre, Offset, ReportReader
from gateway.problems import PROBLEM_RESPONSES, CaseNotFound, problem_response
from gateway.routes.registry_models import CASE_ID_PATTERN
from gateway.routes.reports_export import count_draft
from gateway.routes.reports_models import (
    MEDIA_TYPES,
    Cosigning,
    Difference,
    Proposal,
    Reconciling,
    Report,
    ReportListed,
    ReportStep,
    present,
)
from services.reports import commands as c
from services.reports.export import ExportFormat
from services.reports.export_file import render_file
from services.reports.period import Period
from services.reports.queries import get_report_view, list_reports

ReportId = Annotated[str, Path(pattern=CASE_ID_PATTERN, description="e.g. RPT-2026-H1-1a2b3c4d")]
STEP_RESPONSES = PROBLEM_RESPONSES | {
    404: problem_response("no report of that id is held here"),
    409: problem_response("the report's state, or this node's turn, refuses the step"),
}
router = APIRouter(prefix="/reports", tags=["reports"], responses=STEP_RESPONSES)


@router.post("", status_code=201)
async def propose(
    body: Proposal, _: CommandCentre, api: ApiDep, request: Request, response: Response
) -> ReportStep:
    """Count this side's figures for the half year and propose them to the partner."""
    cmd = c.ProposeReport(**body.model_dump(exclude_none=True))
    step = await c.propose_report(api.node, cmd)
    response.headers["Location"] = str(request.url_for("get_report", report_id=step.report_id).path)
    return ReportStep.model_validate(step)


@router.get("")
async def list_held(
    _: ReportReader,
    api: ApiDep,
    period: Annotated[ReportPeriod | None, Query(description="a half year: 2026-H1")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
) -> list[ReportListed]:
    """The reports this node holds, most recently changed first: period, partner, state and
    who has signed."""
    async with api.node.db.snapshot() as conn:
        found = await list_reports(conn, period, limit, offset)
    return [ReportListed.model_validate(r) for r in found]


@router.get(
    "/export",
    response_class=Response,
    responses={200: {"content": {t: {} for t in MEDIA_TYPES.values()}}},
)
async def export(
    _: CommandCentre,
    api: ApiDep,
    period: Annotated[ReportPeriod, Query(description="a half year: 2026-H1")],
    format: ExportFormat = ExportFormat.JSON,
) -> Response:
    """This node's own figures for the half year as a file: json, csv, xlsx or pdf (a draft,
    counted now; the cosigned figures are the report's)."""
    draft = await count_draft(api.node, Period.parse(period))
    name = f"fengqiao-{api.node.jurisdiction}-{period}.{format.value}"
    return Response(
        await render_file(draft, format),
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/{report_id}")
async def get_report(report_id: ReportId, _: ReportReader, api: ApiDep) -> Report:
    """One report with both sides' figures (once counted) and its signatures."""
    async with api.node.db.snapshot() as conn:
        view = await get_report_view(conn, report_id)
    if view is None:
        raise CaseNotFound(f"no report {report_id} is held here")
    return present(view)


@router.post("/{report_id}/reconcile")
async def reconcile(
    report_id: ReportId, _: CommandCentre, api: ApiDep, body: Reconciling | None = None
) -> list[Difference]:
    """The partner counts its own figures for the proposal: every figure where they differ
    (each needs an explanation when cosigning)."""
    cost = (body or Reconciling()).cost_per_trip_fen
    found = await c.reconcile_report(api.node, report_id, cost)
    return [Difference.model_validate(d) for d in found]


@router.post("/{report_id}/cosign")
async def cosign(report_id: ReportId, body: Cosigning, _: CommandCentre, api: ApiDep) -> ReportStep:
    """Sign the proposed figures: the partner first (after reconciling), the proposer last."""
    cmd = c.CosignReport(report_id=report_id, **body.model_dump())
    return ReportStep.model_validate(await c.cosign_report(api.node, cmd))
