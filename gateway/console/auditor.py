"""Auditor's pages: the personal-data access log, and the exchange log verified end to end."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gateway.console.pages import render
from gateway.console.session import PREFIX, AuditViewer
from gateway.node_api import node_api
from gateway.routes import audit as audit_api
from gateway.routes.text import Term
from services.bus.audit import audit_store

router = APIRouter(prefix=f"{PREFIX}/audit", include_in_schema=False)


@router.get("")
async def access_log(
    request: Request, staff: AuditViewer, user: Term = "", case_id: Term = ""
) -> HTMLResponse:
    """Who read which case's personal fields, newest first (field names, never values)."""
    entries = await audit_api.access_log(
        staff.user, node_api(request), user or None, None, case_id or None, None, None, 200, 0
    )
    return render(request, "audit.html", staff, entries=entries, user=user, case_id=case_id)


@router.get("/verify")
async def verify(request: Request, staff: AuditViewer) -> HTMLResponse:
    """Every stream's hash chain and every received signature re-checked from the store, as
    `fengqiao log verify` does."""
    node = node_api(request).node
    async with node.db.snapshot() as conn:
        audits = await audit_store(conn, node.book)
    return render(request, "verify.html", staff, audits=audits)
