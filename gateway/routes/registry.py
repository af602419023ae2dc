"""Household-registry window proxy requests (户籍窗口代办): file, read, and take each step.

Window clerks take the steps (the node refuses a step that is not its side's); clerks,
the command centre, auditors and admins read. Reading a request with an applicant's personal
data is written to the access log; who sees it in full is gateway/masking.py's rule.
"""

from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response

from contracts.events.registry import MATERIAL_MAX_BYTES
from gateway.deps import Action, ApiDep, Offset, RegistryClerk, RegistryReader
from gateway.masking import disclosed, registry_disclosure
from gateway.problems import PROBLEM_RESPONSES, CaseNotFound, problem_response
from gateway.routes.registry_models import (
    Acceptance,
    Completion,
    Filing,
    MaterialSent,
    MaterialsSupply,
    MaterialsWanted,
    OverdueItem,
    ProxyRequest,
    Rejection,
    RequestId,
    RequestSummary,
    Step,
    present,
)
from gateway.routes.text import Term
from services.registry import commands as c
from services.registry import queries
from services.registry.material_upload import UploadMaterial, upload_material
from services.registry.model import State, registry_day
from services.registry.uploads import MaterialFileView, MaterialTooLarge, material_file
from services.users.access_log import CaseRef, Disclosed, Disclosure, read_case

STEP_RESPONSES = PROBLEM_RESPONSES | {
    404: problem_response("no request of that id is on file"),
    409: problem_response("the request's state or this node's side refuses it"),
}
FILE_RESPONSES = STEP_RESPONSES | {
    413: problem_response(f"the file has more than {MATERIAL_MAX_BYTES} bytes"),
    422: problem_response("the request declares no file of that material with this SHA-256"),
}
MaterialCode = Annotated[
    Term, Path(min_length=1, max_length=200, description="the catalogue's material code")
]
router = APIRouter(prefix="/registry", tags=["registry"], responses=STEP_RESPONSES)


@router.post("/requests", status_code=201)
async def file_request(
    filing: Filing, _: RegistryClerk, api: ApiDep, request: Request, response: Response
) -> Step:
    """File a request for a service only the applicant's home registry performs (window
    clerk). Materials are base64 in `files`; those accepted as missing go in `promised`."""
    recorded = await c.file_request(api.node, filing.command(), api.materials)
    response.headers["Location"] = str(
        request.url_for("get_request", request_id=recorded.request_id).path
    )
    return Step.model_validate(recorded)


@router.get("/requests")
async def list_requests(
    _: RegistryReader,
    api: ApiDep,
    state: State | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
    responsible_clerk: Annotated[
        Term | None,
        Query(
            min_length=1,
            max_length=100,
            description="a clerk's desk: those this clerk filed here and those partners sent here",
        ),
    ] = None,
) -> list[RequestSummary]:
    """Requests on file, most recently changed first (no personal data in a summary)."""
    filed_by = (api.node.jurisdiction, responsible_clerk) if responsible_clerk else None
    async with api.node.db.transaction() as conn:
        found = await queries.list_requests(conn, state, limit, offset, filed_by)
    return [RequestSummary.model_validate(s) for s in found]


@router.get("/requests/{request_id}")
async def get_request(
    request_id: RequestId, reader: RegistryReader, api: ApiDep, action: Action
) -> ProxyRequest:
    """One request with its files, the materials owed and its timeline. The applicant's
    personal fields are masked unless the reader is an admin or a clerk of a party to it."""
    node = api.node

    def disclosure(view: queries.ProxyRequestView) -> Disclosure:
        s = view.summary
        return registry_disclosure(reader.role, node.jurisdiction, s.originator, s.home)

    view = await read_case(
        node.db,
        reader,
        CaseRef("registry", request_id),
        action,
        lambda conn: queries.get_request(conn, request_id),
        lambda view: disclosed("applicant", view.applicant, disclosure(view)),
        node.clock(),
    )
    if view is None:
        raise CaseNotFound(f"no registry request {request_id} is on file here")
    return present(view, disclosure(view))


@router.post("/requests/{request_id}/accept")
async def accept(request_id: RequestId, body: Acceptance, _: RegistryClerk, api: ApiDep) -> Step:
    """The home registry accepts; the request is due on today plus the service's time limit."""
    cmd = c.AcceptRequest(request_id=request_id, **body.model_dump(exclude_none=True))
    return Step.model_validate(await c.accept_request(api.node, cmd))


@router.post("/requests/{request_id}/materials-request")
async def request_materials(
    request_id: RequestId, body: MaterialsWanted, _: RegistryClerk, api: ApiDep
) -> Step:
    """The home registry asks the window for more materials, and says why."""
    cmd = c.RequestMaterials(request_id=request_id, **body.model_dump(exclude_none=True))
    return Step.model_validate(await c.request_materials(api.node, cmd))


@router.post("/requests/{request_id}/materials")
async def supply_materials(
    request_id: RequestId, body: MaterialsSupply, _: RegistryClerk, api: ApiDep
) -> Step:
    """The window sends materials asked for or promised (base64 in `files`)."""
    files = [f.command() for f in body.files]
    cmd = c.SupplyMaterials(request_id=request_id, files=files, note=body.note)
    return Step.model_validate(await c.supply_materials(api.node, cmd, api.materials))


@router.post("/requests/{request_id}/complete")
async def complete(request_id: RequestId, body: Completion, _: RegistryClerk, api: ApiDep) -> Step:
    """The home registry performed the service; says how the document returns."""
    cmd = c.CompleteRequest(request_id=request_id, **body.model_dump(exclude_none=True))
    return Step.model_validate(await c.complete_request(api.node, cmd))


@router.post("/requests/{request_id}/reject")
async def reject(request_id: RequestId, body: Rejection, _: RegistryClerk, api: ApiDep) -> Step:
    """The home registry cannot perform the service, and says why."""
    cmd = c.RejectRequest(request_id=request_id, reason=body.reason)
    return Step.model_validate(await c.reject_request(api.node, cmd))


@router.put("/requests/{request_id}/materials/{material}/file", responses=FILE_RESPONSES)
async def upload_file(
    request_id: RequestId,
    material: MaterialCode,
    _: RegistryClerk,
    api: ApiDep,
    request: Request,
    file_name: Annotated[Term | None, Query(min_length=1, max_length=200)] = None,
) -> MaterialSent:
    """The window sends a material's bytes (the raw body, its Content-Type) to the home
    registry, sealed, in chunks; their SHA-256 must be the one the request declared."""
    content = await _body_within(request, MATERIAL_MAX_BYTES)
    media_type = request.headers.get("content-type") or "application/octet-stream"
    cmd = UploadMaterial(
        request_id=request_id,
        material=material,
        file_name=file_name or material,
        media_type=media_type.split(";")[0].strip().lower(),
        content=content,
    )
    return MaterialSent.model_validate(await upload_material(api.node, cmd))


@router.get(
    "/requests/{request_id}/materials/{material}/file",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "the file"}},
)
async def download_file(
    request_id: RequestId,
    material: MaterialCode,
    reader: RegistryReader,
    api: ApiDep,
    action: Action,
) -> Response:
    """The material file as received whole and checked; for the roles that read the applicant
    in full, and written to the access log."""
    node = api.node

    def disclosure(view: MaterialFileView) -> Disclosure:
        return registry_disclosure(reader.role, node.jurisdiction, view.originator, view.home)

    def shown(view: MaterialFileView) -> Disclosed:
        full = disclosure(view) is Disclosure.FULL
        return Disclosed((f"materials.{material}.file",) if full else (), disclosure(view))

    view = await read_case(
        node.db,
        reader,
        CaseRef("registry", request_id),
        action,
        lambda conn: material_file(conn, request_id, material),
        shown,
        node.clock(),
    )
    if view is None:
        raise CaseNotFound(f"no file of {material} for registry request {request_id} is here")
    if disclosure(view) is not Disclosure.FULL:
        raise HTTPException(403, f"the role {reader.role} may not read material files")
    disposition = f"attachment; filename*=UTF-8''{quote(view.file_name)}"
    headers = {"Content-Disposition": disposition, "X-Content-SHA256": view.sha256}
    return Response(view.content, media_type=view.media_type, headers=headers)


async def _body_within(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes."""
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > limit:
            raise MaterialTooLarge(f"the file has more than {limit} bytes")
    return bytes(body)


@router.get("/overdue")
async def overdue(_: RegistryReader, api: ApiDep, on: date | None = None) -> list[OverdueItem]:
    """What open requests owe past its day (`on`: default today, China Standard Time)."""
    day = on or registry_day(api.node.clock())
    async with api.node.db.transaction() as conn:
        found = await queries.overdue(conn, day)
    return [OverdueItem.model_validate(o) for o in found]
