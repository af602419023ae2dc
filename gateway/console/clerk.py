"""Window clerk's pages: file a proxy request with its materials; the requests on file, the
overdue ones marked; one request (the applicant masked and the read logged as the API does)."""

import base64
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from contracts.events.registry import MATERIAL_MAX_BYTES
from gateway.console.pages import DOMAIN_ERRORS, SECURITY_HEADERS, form_text, refused, render
from gateway.console.session import PREFIX, RegistryFiler, RegistryViewer, Staff
from gateway.node_api import NodeApi, node_api
from gateway.routes import registry as registry_api
from gateway.routes.registry import MaterialCode
from gateway.routes.registry_models import Filing, RequestId
from gateway.routes.reports_export import parties_in_force
from services.registry import commands as c
from services.registry.catalogue import service_catalogue
from services.registry.material_upload import UploadMaterial, upload_material
from services.registry.uploads import MaterialTooLarge, received_materials
from services.users.access_log import Disclosure
from services.users.model import Role

router = APIRouter(prefix=f"{PREFIX}/registry", include_in_schema=False)
MATERIAL_ROWS = 4
PROMISE_ROWS = 2
PERSONAL_INPUTS = ("id_number", "phone", "address")


@router.get("")
async def requests_on_file(
    request: Request, staff: RegistryViewer, scope: str = "mine"
) -> HTMLResponse:
    """Requests on file here, most recently changed first; overdue ones highlighted. A window
    clerk sees their desk (those they filed, those partners sent here) unless `scope=all`."""
    api = node_api(request)
    mine = staff.user.role == Role.WINDOW_CLERK and scope != "all"
    clerk = staff.user.name if mine else None
    found = await registry_api.list_requests(staff.user, api, None, 200, 0, clerk)
    late: dict[str, list[str]] = {}
    for item in await registry_api.overdue(staff.user, api, None):
        late.setdefault(item.request_id, []).append(f"{item.what} ({item.days_late})")
    return render(request, "registry_list.html", staff, requests=found, late=late, mine=mine)


@router.get("/new")
async def filing_form(request: Request, staff: RegistryFiler) -> HTMLResponse:
    """The filing form: service, applicant, materials scanned and promised."""
    return _form(request, staff)


@router.post("/new")
async def file_request(request: Request, staff: RegistryFiler) -> Response:
    """File the request as the API's POST /registry/requests does; show it once filed."""
    api = node_api(request)
    try:
        filing = Filing.model_validate(
            await _filing(await request.form(), staff.user.name, api.node.jurisdiction)
        )
        recorded = await c.file_request(api.node, filing.command(), api.materials)
    except DOMAIN_ERRORS as exc:
        return refused(request, staff, exc)
    return RedirectResponse(f"{PREFIX}/registry/{recorded.request_id}", status_code=303)


@router.get("/{request_id}")
async def request_page(request: Request, request_id: RequestId, staff: RegistryViewer) -> Response:
    """One request: summary, applicant, materials, what is owed and its timeline."""
    api = node_api(request)
    action = f"GET {PREFIX}/registry/{{request_id}}"
    try:
        shown = await registry_api.get_request(request_id, staff.user, api, action)
    except DOMAIN_ERRORS as exc:
        return refused(request, staff, exc)
    here, role = api.node.jurisdiction, staff.user.role
    sending = role == Role.WINDOW_CLERK and shown.summary.originator == here
    receiving = shown.summary.home == here and shown.disclosure == Disclosure.FULL
    async with api.node.db.transaction() as conn:
        received = await received_materials(conn, request_id) if receiving else []
    return render(
        request,
        "registry_request.html",
        staff,
        case=shown,
        uploadable=sorted({f.name for f in shown.files}) if sending else [],
        downloadable=received,
    )


@router.post("/{request_id}/materials/{material}/file")
async def send_material_file(
    request: Request, request_id: RequestId, material: MaterialCode, staff: RegistryFiler
) -> Response:
    """The window sends a declared material's file to the home registry, as PUT
    /registry/requests/{id}/materials/{code}/file does."""
    upload = (await request.form()).get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ValueError("file: choose the material's file")
        content = await upload.read(MATERIAL_MAX_BYTES + 1)
        if len(content) > MATERIAL_MAX_BYTES:
            raise MaterialTooLarge(f"the file has more than {MATERIAL_MAX_BYTES} bytes")
        media_type = (upload.content_type or "application/octet-stream").split(";")[0]
        cmd = UploadMaterial(
            request_id=request_id,
            material=material,
            file_name=upload.filename[:200],
            media_type=media_type.strip().lower(),
            content=content,
        )
        await upload_material(node_api(request).node, cmd)
    except DOMAIN_ERRORS as exc:
        return refused(request, staff, exc)
    return RedirectResponse(f"{PREFIX}/registry/{request_id}", status_code=303)


@router.get("/{request_id}/materials/{material}/file")
async def material_file(
    request: Request, request_id: RequestId, material: MaterialCode, staff: RegistryViewer
) -> Response:
    """A material file received whole here, for those who read the applicant in full; the
    read is access-logged as GET /registry/requests/{id}/materials/{code}/file is."""
    action = f"GET {PREFIX}/registry/{{request_id}}/materials/{{material}}/file"
    api = node_api(request)
    try:
        found = await registry_api.download_file(request_id, material, staff.user, api, action)
    except HTTPException as exc:
        status = exc.status_code
        return render(request, "error.html", staff, status, status_code=status, lines=[exc.detail])
    except DOMAIN_ERRORS as exc:
        return refused(request, staff, exc)
    found.headers.update(SECURITY_HEADERS)
    return found


def _form(request: Request, staff: Staff) -> HTMLResponse:
    api: NodeApi = node_api(request)
    parties = parties_in_force(api.node)
    services = service_catalogue().services
    materials = {m.code: m for s in services for m in s.materials}
    return render(
        request,
        "registry_new.html",
        staff,
        services=services,
        materials=sorted(materials.values(), key=lambda m: m.code),
        partners=parties.partners,
        names=parties.names,
        material_rows=range(MATERIAL_ROWS),
        promise_rows=range(PROMISE_ROWS),
    )


async def _filing(form: FormData, clerk_name: str, window: str) -> dict[str, Any]:
    """The API's Filing body from the form; empty fields are left out."""

    def text(name: str) -> str:
        return form_text(form, name)

    home = text("home_jurisdiction")
    applicant = {"name": text("applicant_name"), "home_jurisdiction": home}
    applicant |= {f: text(f) for f in PERSONAL_INPUTS if text(f)}
    files = []
    for row in range(MATERIAL_ROWS):
        upload = form.get(f"file_{row}")
        if isinstance(upload, UploadFile) and upload.filename and text(f"material_{row}"):
            content = base64.b64encode(await upload.read()).decode()
            files.append({"material": text(f"material_{row}"), "content_base64": content})
    promised = [
        {"name": text(f"promised_{row}"), "promised_on": text(f"promised_on_{row}")}
        for row in range(PROMISE_ROWS)
        if text(f"promised_{row}")
    ]
    body: dict[str, Any] = {
        "service_code": text("service_code"),
        "applicant": applicant,
        "window_name": text("window_name"),
        "responsible_clerk": {
            "name": text("responsible_clerk") or clerk_name,
            "home_jurisdiction": window,
        },
        "files": files,
        "promised": promised,
        "delivery": text("delivery") or "window_pickup",
    }
    return body | ({"note": text("note")} if text("note") else {})
