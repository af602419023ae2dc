"""Linked mediation (矛盾联调): two bureaus work one dispute, each its own tasks; the mediator
proposes an outcome, each side signs it, the dispute's owner closes the case.

Mediators request, assign tasks, propose, sign for their side and close; officers (and
mediators) answer a request and report findings for their side's tasks; mediators, officers,
the command centre, auditors and admins read. Which side may take which step is the flow's rule
(services/mediation/model.py): the API refuses the others with 409.
"""

import secrets
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from gateway.deps import ApiDep, CaseAnswerer, CaseReader, Mediator
from gateway.problems import PROBLEM_RESPONSES, CaseNotFound, problem_response
from gateway.routes.mediation_models import (
    Acceptance,
    Closing,
    Declining,
    Findings,
    Mediation,
    MediationRequest,
    MediationStep,
    MediationSummary,
    Proposal,
    Signature,
    TaskAssignment,
    present,
)
from gateway.routes.registry_models import CASE_ID_PATTERN
from gateway.routes.text import Term
from services.mediation import commands as c
from services.mediation import queries
from services.mediation.model import MediationState, UnknownMediation

MediationId = Annotated[str, Path(pattern=CASE_ID_PATTERN, description="e.g. LM-2022-0001")]
_PREFIXED_UP_TO = 74  # a case id's 80 characters less ".T9999"
TaskId = Annotated[str, Path(pattern=CASE_ID_PATTERN, description="e.g. LM-2022-0001.T1")]
STEP_RESPONSES = PROBLEM_RESPONSES | {
    404: problem_response("no mediation of that id is held here"),
    409: problem_response("the mediation's state, or this node's side, refuses the step"),
}
router = APIRouter(prefix="/mediations", tags=["mediation"], responses=STEP_RESPONSES)


@router.post("", status_code=201)
async def request_mediation(
    body: MediationRequest, _: Mediator, api: ApiDep, request: Request, response: Response
) -> MediationStep:
    """Open a linked mediation on a dispute held here and ask the other side to join."""
    node = api.node
    mediation_id = body.mediation_id or (
        f"{node.jurisdiction}:M{node.clock():%Y%m%d}-{secrets.token_hex(4)}"
    )
    cmd = c.RequestMediation(
        mediation_id=mediation_id, **body.model_dump(exclude={"mediation_id"}, exclude_none=True)
    )
    sent = await c.request_mediation(node, cmd)
    response.headers["Location"] = str(
        request.url_for("get_mediation", mediation_id=sent.case_id).path
    )
    return MediationStep.of(sent)


@router.get("")
async def list_mediations(
    _: CaseReader,
    api: ApiDep,
    dispute_id: Term | None = None,
    state: MediationState | None = None,
) -> list[MediationSummary]:
    """Mediations this node is a side of, newest first."""
    found = await queries.list_mediations(api.node.db, dispute_id, state)
    return [MediationSummary.model_validate(s) for s in found]


@router.get("/{mediation_id}")
async def get_mediation(mediation_id: MediationId, _: CaseReader, api: ApiDep) -> Mediation:
    """One mediation with its tasks, signatures and timeline (people by name only)."""
    case = await queries.get_mediation_case(api.node.db, mediation_id)
    if case is None:
        raise CaseNotFound(f"no mediation {mediation_id} is held here")
    return present(case)


@router.post("/{mediation_id}/accept")
async def accept(
    mediation_id: MediationId, body: Acceptance, _: CaseAnswerer, api: ApiDep
) -> MediationStep:
    """The side asked takes its part, naming who answers for it."""
    cmd = c.AcceptMediation(mediation_id=mediation_id, **body.model_dump(exclude_none=True))
    return MediationStep.of(await c.accept_mediation(api.node, cmd))


@router.post("/{mediation_id}/decline")
async def decline(
    mediation_id: MediationId, body: Declining, _: CaseAnswerer, api: ApiDep
) -> MediationStep:
    """The side asked declines, and says why."""
    cmd = c.DeclineMediation(mediation_id=mediation_id, reason=body.reason)
    return MediationStep.of(await c.decline_mediation(api.node, cmd))


@router.post("/{mediation_id}/tasks", status_code=201)
async def assign_task(
    mediation_id: MediationId, body: TaskAssignment, _: Mediator, api: ApiDep
) -> MediationStep:
    """Give one side a part of the work, done in its own jurisdiction."""
    task_id = body.task_id or await _next_task_id(api, mediation_id)
    values = body.model_dump(exclude={"task_id"}, exclude_none=True)
    cmd = c.AssignTask(mediation_id=mediation_id, task_id=task_id, **values)
    return MediationStep.of(await c.assign_task(api.node, cmd))


@router.post("/{mediation_id}/tasks/{task_id}/findings")
async def report_findings(
    mediation_id: MediationId, task_id: TaskId, body: Findings, _: CaseAnswerer, api: ApiDep
) -> MediationStep:
    """Report what this side established for one of its tasks."""
    values = body.model_dump(exclude_none=True)
    cmd = c.ReportFindings(mediation_id=mediation_id, task_id=task_id, **values)
    return MediationStep.of(await c.report_findings(api.node, cmd))


@router.post("/{mediation_id}/outcome")
async def propose_outcome(
    mediation_id: MediationId, body: Proposal, _: Mediator, api: ApiDep
) -> MediationStep:
    """The mediator proposes the outcome; the case then shows the `terms_digest` to sign."""
    cmd = c.ProposeOutcome(mediation_id=mediation_id, **body.model_dump())
    return MediationStep.of(await c.propose_outcome(api.node, cmd))


@router.post("/{mediation_id}/signatures", status_code=201)
async def sign_outcome(
    mediation_id: MediationId, body: Signature, _: Mediator, api: ApiDep
) -> MediationStep:
    """This side signs the proposed outcome its `terms_digest` names (once per side)."""
    cmd = c.SignOutcome(mediation_id=mediation_id, **body.model_dump(exclude_none=True))
    return MediationStep.of(await c.sign_outcome(api.node, cmd))


@router.post("/{mediation_id}/close")
async def close(
    mediation_id: MediationId, body: Closing, _: Mediator, api: ApiDep
) -> MediationStep:
    """Close the mediation; with a signed agreement its dispute is resolved on both sides."""
    cmd = c.CloseMediation(mediation_id=mediation_id, **body.model_dump(exclude_none=True))
    return MediationStep.of(await c.close_mediation(api.node, cmd))


async def _next_task_id(api: ApiDep, mediation_id: str) -> str:
    """`<mediation>.T<n>` for the n-th task the requesting side assigns, `<mediation>.P<n>` for
    the partner's (so two tasks assigned at once on both sides never share an id); without the
    mediation id where that would pass a case id's 80 characters (task ids are the case's own)."""
    case = await queries.get_mediation_case(api.node.db, mediation_id)
    if case is None:
        raise UnknownMediation(f"no mediation {mediation_id} is held here")
    me = api.node.jurisdiction
    letter = "T" if me == case.requested_by else "P"
    taken = {task.task_id for task in case.tasks}
    prefix = f"{mediation_id}.{letter}" if len(mediation_id) <= _PREFIXED_UP_TO else letter
    n = sum(task.assigned_by == me for task in case.tasks) + 1
    while f"{prefix}{n}" in taken:
        n += 1
    return f"{prefix}{n}"
