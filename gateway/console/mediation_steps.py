"""The linked-mediation steps a console user takes on a mediation's page: the side asked accepts
or declines, the mediator assigns tasks and proposes the outcome, each side reports findings for
its own tasks. Each form calls the JSON API's route function; its refusals (409, 422) are shown
as the console shows every refusal, and change nothing."""

from collections.abc import Awaitable
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from contracts.yaml_core import SAFE_INTEGER
from gateway.console.pages import DOMAIN_ERRORS, form_text, refused
from gateway.console.session import PREFIX, CaseAnswerer, CaseSigner, Staff
from gateway.node_api import node_api
from gateway.routes import mediation as mediation_api
from gateway.routes.mediation import MediationId, TaskId
from gateway.routes.mediation_models import (
    Acceptance,
    Declining,
    Findings,
    MediationStep,
    Proposal,
    TaskAssignment,
)

router = APIRouter(prefix=f"{PREFIX}/mediations", include_in_schema=False)


async def _taken(
    request: Request, staff: Staff, mediation_id: str, step: Awaitable[MediationStep]
) -> Response:
    """Back to the mediation once the step is taken; the refusal's page otherwise."""
    try:
        await step
    except DOMAIN_ERRORS as exc:
        return refused(request, staff, exc)
    return RedirectResponse(f"{PREFIX}/mediations/{mediation_id}", status_code=303)


def _optional(form: FormData, *names: str) -> dict[str, str]:
    return {name: form_text(form, name) for name in names if form_text(form, name)}


@router.post("/{mediation_id}/accept")
async def accept(request: Request, mediation_id: MediationId, staff: CaseAnswerer) -> Response:
    """The side asked takes its part, naming the officer who answers for it."""
    api = node_api(request)
    form = await request.form()
    officer = {"name": form_text(form, "officer_name"), "home_jurisdiction": api.node.jurisdiction}
    try:
        body = Acceptance.model_validate({"officer": officer} | _optional(form, "note"))
    except DOMAIN_ERRORS as exc:
        return refused(request, staff, exc)
    return await _taken(
        request, staff, mediation_id, mediation_api.accept(mediation_id, body, staff.user, api)
    )


@router.post("/{mediation_id}/decline")
async def decline(request: Request, mediation_id: MediationId, staff: CaseAnswerer) -> Response:
    """The side asked declines, and says why."""
    api = node_api(request)
    try:
        body = Declining.model_validate({"reason": form_text(await request.form(), "reason")})
    except DOMAIN_ERRORS as exc:
        return refused(request, staff, exc)
    return await _taken(
        request, staff, mediation_id, mediation_api.decline(mediation_id, body, staff.user, api)
    )


@router.post("/{mediation_id}/tasks")
async def assign_task(request: Request, mediation_id: MediationId, staff: CaseSigner) -> Response:
    """The mediator gives one side a part of the work, done in its own jurisdiction."""
    api = node_api(request)
    form = await request.form()
    values = _optional(form, "assignee", "description", "due_on")
    try:
        body = TaskAssignment.model_validate(values)
    except DOMAIN_ERRORS as exc:
        return refused(request, staff, exc)
    return await _taken(
        request, staff, mediation_id, mediation_api.assign_task(mediation_id, body, staff.user, api)
    )


@router.post("/{mediation_id}/tasks/{task_id}/findings")
async def report_findings(
    request: Request, mediation_id: MediationId, task_id: TaskId, staff: CaseAnswerer
) -> Response:
    """This side reports what it established for one of its tasks."""
    api = node_api(request)
    form = await request.form()
    try:
        values = {"findings": form_text(form, "findings")} | _optional(form, "reported_on")
        body = Findings.model_validate(values)
    except DOMAIN_ERRORS as exc:
        return refused(request, staff, exc)
    step = mediation_api.report_findings(mediation_id, task_id, body, staff.user, api)
    return await _taken(request, staff, mediation_id, step)


@router.post("/{mediation_id}/outcome")
async def propose_outcome(
    request: Request, mediation_id: MediationId, staff: CaseSigner
) -> Response:
    """The mediator proposes the outcome: one term a line, and at most one payment."""
    api = node_api(request)
    form = await request.form()
    try:
        body = Proposal.model_validate(_proposal(form))
    except DOMAIN_ERRORS as exc:
        return refused(request, staff, exc)
    step = mediation_api.propose_outcome(mediation_id, body, staff.user, api)
    return await _taken(request, staff, mediation_id, step)


def _proposal(form: FormData) -> dict[str, Any]:
    """The API's Proposal body from the form; the payment's amount is typed in yuan."""
    terms = [line.strip() for line in form_text(form, "terms").splitlines() if line.strip()]
    outcome: dict[str, Any] = {"terms": terms}
    if form_text(form, "payer_name") or form_text(form, "amount_yuan"):
        outcome["compensation"] = [
            {
                "payer_name": form_text(form, "payer_name"),
                "payee_name": form_text(form, "payee_name"),
                "amount_fen": _fen(form_text(form, "amount_yuan")),
                "purpose": form_text(form, "purpose"),
            }
        ]
    mediator = {
        "name": form_text(form, "mediator_name"),
        "home_jurisdiction": form_text(form, "mediator_home"),
    }
    return {"mediator": mediator, "outcome": outcome}


def _fen(yuan: str) -> int:
    """An amount typed in yuan (at most two decimals) as whole fen."""
    try:
        fen = Decimal(yuan) * 100
    except ArithmeticError as exc:  # not a number, or beyond Decimal's range (1e999999)
        raise ValueError(f"outcome.compensation.amount: {yuan!r} is not an amount in yuan") from exc
    if not fen.is_finite() or fen != fen.to_integral_value():
        raise ValueError("outcome.compensation.amount: at most two decimals (fen)")
    # Refused before int(): a million-digit integer would hold the event loop for seconds.
    if abs(fen) > SAFE_INTEGER:
        raise ValueError("outcome.compensation.amount: beyond what a signed envelope carries")
    return int(fen)
