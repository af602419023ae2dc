"""Mediator's pages: disputes concerning the partner, one dispute, the linked mediations, and
one mediation with its timeline, tasks per side and signatures, where this side signs."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from contracts.events.mediation import SignerRole
from gateway.console.pages import DOMAIN_ERRORS, refused, render
from gateway.console.session import PREFIX, CaseSigner, CaseViewer
from gateway.deps import CASE_ANSWERS, CASE_STEPS
from gateway.node_api import node_api
from gateway.routes import disputes as disputes_api
from gateway.routes import mediation as mediation_api
from gateway.routes.disputes import DisputeId
from gateway.routes.mediation import MediationId
from gateway.routes.mediation_models import Mediation, Signature
from gateway.routes.reports_export import parties_in_force
from services.mediation.model import MediationState
from services.users.model import Role

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/disputes")
async def disputes(request: Request, staff: CaseViewer, concerning: str = "") -> HTMLResponse:
    """Disputes held here, newest first; `concerning` keeps those with a party from there."""
    api = node_api(request)
    found = await disputes_api.list_disputes(staff.user, api, None, concerning or None)
    parties = parties_in_force(api.node)
    return render(
        request,
        "disputes.html",
        staff,
        disputes=found,
        partners=parties.partners,
        names=parties.names,
        concerning=concerning,
    )


@router.get("/disputes/{dispute_id}")
async def dispute(request: Request, dispute_id: DisputeId, staff: CaseViewer) -> Response:
    """One dispute; parties masked and the read logged as GET /disputes/{id} does."""
    action = f"GET {PREFIX}/disputes/{{dispute_id}}"
    try:
        case = await disputes_api.get_dispute(dispute_id, staff.user, node_api(request), action)
    except DOMAIN_ERRORS as exc:
        return refused(request, staff, exc)
    return render(request, "dispute.html", staff, case=case)


@router.get("/mediations")
async def mediations(request: Request, staff: CaseViewer) -> HTMLResponse:
    """Linked mediations this node is a side of."""
    found = await mediation_api.list_mediations(staff.user, node_api(request), None, None)
    return render(request, "mediations.html", staff, mediations=found)


@router.get("/mediations/{mediation_id}")
async def mediation(request: Request, mediation_id: MediationId, staff: CaseViewer) -> Response:
    """A mediation: tasks by side, the proposed outcome and its digest, signatures, timeline."""
    api = node_api(request)
    try:
        case = await mediation_api.get_mediation(mediation_id, staff.user, api)
    except DOMAIN_ERRORS as exc:
        return refused(request, staff, exc)
    sides = [case.dispute_owner, *sorted({case.requested_by, case.partner} - {case.dispute_owner})]
    signed = {s.party_jurisdiction for s in case.signatures}
    return render(
        request,
        "mediation.html",
        staff,
        case=case,
        sides=sides,
        may_sign=case.state == "proposed" and api.node.jurisdiction not in signed,
        signer_roles=list(SignerRole),
        **_steps_open(case, api.node.jurisdiction, staff.user.role),
    )


def _steps_open(case: Mediation, here: str, role: Role) -> dict[str, Any]:
    """Which step forms the page offers this reader; the API still decides each step."""
    working = case.state in (MediationState.ACCEPTED, MediationState.PROPOSED)
    answers = role in CASE_ANSWERS
    return {
        "may_answer": answers and case.state == MediationState.REQUESTED and here == case.partner,
        "may_direct": working and role in CASE_STEPS,
        "reportable": [
            t.task_id
            for t in case.tasks
            if working and answers and t.assignee == here and t.findings is None
        ],
    }


@router.post("/mediations/{mediation_id}/sign")
async def sign(request: Request, mediation_id: MediationId, staff: CaseSigner) -> Response:
    """This side signs the proposed outcome whose digest the page showed."""
    api = node_api(request)
    form = await request.form()
    try:
        body = Signature.model_validate(
            {
                "signer": {
                    "name": str(form.get("signer_name", "")).strip(),
                    "home_jurisdiction": str(form.get("signer_home", "")),
                },
                "signer_role": form.get("signer_role"),
                "terms_digest": form.get("terms_digest"),
            }
        )
        await mediation_api.sign_outcome(mediation_id, body, staff.user, api)
    except DOMAIN_ERRORS as exc:
        return refused(request, staff, exc)
    return RedirectResponse(f"{PREFIX}/mediations/{mediation_id}", status_code=303)
