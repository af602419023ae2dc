"""Household-registry window proxy requests (户籍窗口代办): file, read, and take each step.

Window clerks take the steps (the node refuses a step that is not its side's); clerks,
the command centre, auditors and admins read. Reading a request with an applicant's personal
data is written to the access log; who sees it in full is gateway/masking.py's rule.
"""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from gateway.deps import Action, ApiDep, Offset, RegistryClerk, RegistryReader
from gateway.masking import disclosed, registry_disclosure
from gateway.problems import PROBLEM_RESPONSES, CaseNotFound, problem_response
from gateway.routes.registry_models import (
    Acceptance,
    Completion,
    Filing,
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
from services.registry import commands as c
from services.registry import queries
from services.registry.model import State, registry_day
from services.users.access_log import CaseRef, Disclosure, read_case

STEP_RESPONSES = PROBLEM_RESPONSES | {
    404: problem_response("no request of that id is on file"),
    409: problem_response("the request's state or this node's side refuses it"),
}
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
) -> list[RequestSummary]:
    """Requests on file, most recently changed first (no personal data in a summary)."""
    async with api.node.db.transaction() as conn:
        found = await queries.list_requests(conn, state, limit, offset)
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


@router.get("/overdue")
async def overdue(_: RegistryReader, api: ApiDep, on: date | None = None) -> list[OverdueItem]:
    """What open requests owe past its day (`on`: default today, China Standard Time)."""
    day = on or registry_day(api.node.clock())
    async with api.node.db.transaction() as conn:
        found = await queries.overdue(conn, day)
    return [OverdueItem.model_validate(o) for o in found]
