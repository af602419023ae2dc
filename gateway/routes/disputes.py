"""Disputes (矛盾纠纷): report one to the partners its parties belong to, then take it through
its life (regrade, escalate, resolve, close).

Mediators take the steps (only the bureau a dispute was reported in may); mediators, officers,
the command centre, auditors and admins read. A read showing the parties' personal data is
written to the access log; who sees it in full is disputes_models.dispute_disclosure's rule.
"""

import secrets
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from gateway.deps import Action, ApiDep, CaseReader, Mediator
from gateway.problems import PROBLEM_RESPONSES, CaseNotFound, problem_response
from gateway.routes.disputes_models import (
    Closure,
    Dispute,
    DisputeBatch,
    DisputeBatchSent,
    DisputeReport,
    DisputeStep,
    DisputeSummary,
    Escalation,
    Regrade,
    Resolution,
    dispute_disclosure,
    parties_disclosed,
    present,
    report_command,
)
from gateway.routes.registry_models import CASE_ID_PATTERN
from gateway.routes.text import Term
from services.disputes import commands as c
from services.disputes import queries
from services.disputes.model import DisputeState
from services.node import Node
from services.users.access_log import CaseRef, read_case

DisputeId = Annotated[str, Path(pattern=CASE_ID_PATTERN, description="e.g. DL-2022-0001")]
STEP_RESPONSES = PROBLEM_RESPONSES | {
    404: problem_response("no dispute of that id is held here"),
    409: problem_response("the dispute's state, or this node's side, refuses the step"),
}
router = APIRouter(prefix="/disputes", tags=["disputes"], responses=STEP_RESPONSES)


def new_dispute_id(node: Node) -> str:
    """`<jurisdiction>:D<yyyymmdd>-<8 hex>`, unique without asking anyone."""
    return f"{node.jurisdiction}:D{node.clock():%Y%m%d}-{secrets.token_hex(4)}"


@router.post("", status_code=201)
async def report(
    body: DisputeReport, _: Mediator, api: ApiDep, request: Request, response: Response
) -> DisputeStep:
    """Report a dispute (mediator): it goes to every partner jurisdiction a party belongs to,
    as the agreements permit; the parties' personal data travel sealed to each."""
    cmd = report_command(body, body.dispute_id or new_dispute_id(api.node))
    sent = await c.report_dispute(api.node, cmd)
    response.headers["Location"] = str(request.url_for("get_dispute", dispute_id=sent.case_id).path)
    return DisputeStep.of(sent)


@router.post("/batch", status_code=201)
async def report_batch(body: DisputeBatch, _: Mediator, api: ApiDep) -> DisputeBatchSent:
    """Report up to 500 disputes in one request (mediator), all or none: each is checked as a
    single report is, and the first refused refuses the batch, naming its place in it."""
    cmds = [report_command(r, r.dispute_id or new_dispute_id(api.node)) for r in body.reports]
    sent = await c.report_disputes(api.node, cmds)
    return DisputeBatchSent(disputes=[DisputeStep.of(s) for s in sent])


@router.get("")
async def list_disputes(
    _: CaseReader, api: ApiDep, state: DisputeState | None = None, concerning: Term | None = None
) -> list[DisputeSummary]:
    """Disputes held here, newest first; `concerning` keeps those with a party from there.
    No personal data in a summary."""
    found = await queries.list_disputes(api.node.db, state, concerning)
    return [DisputeSummary.model_validate(s) for s in found]


@router.get("/{dispute_id}")
async def get_dispute(
    dispute_id: DisputeId, reader: CaseReader, api: ApiDep, action: Action
) -> Dispute:
    """One dispute with its parties and timeline. The parties' personal fields are masked
    unless the reader is an admin, or a mediator or officer of a jurisdiction concerned."""
    node = api.node

    # The query opens its own connection; SQLite's writer lock forbids nesting it in the log's
    # transaction, so the case is read first and the log row commits before it is answered.
    found = await queries.get_dispute_case(node.db, dispute_id)

    async def read(_conn: object) -> queries.DisputeCase | None:
        return found

    case = await read_case(
        node.db,
        reader,
        CaseRef("disputes", dispute_id),
        action,
        read,
        lambda case: parties_disclosed(
            case, dispute_disclosure(reader.role, node.jurisdiction, case)
        ),
        node.clock(),
    )
    if case is None:
        raise CaseNotFound(f"no dispute {dispute_id} is held here")
    return present(case, dispute_disclosure(reader.role, node.jurisdiction, case))


@router.post("/{dispute_id}/regrade")
async def regrade(dispute_id: DisputeId, body: Regrade, _: Mediator, api: ApiDep) -> DisputeStep:
    """Change the risk grade (the owner only), and say why."""
    cmd = c.RegradeDispute(dispute_id=dispute_id, **body.model_dump(exclude_none=True))
    return DisputeStep.of(await c.regrade_dispute(api.node, cmd))


@router.post("/{dispute_id}/escalate")
async def escalate(
    dispute_id: DisputeId, body: Escalation, _: Mediator, api: ApiDep
) -> DisputeStep:
    """Move the dispute one level up the mediation ladder (the owner only)."""
    cmd = c.EscalateDispute(dispute_id=dispute_id, **body.model_dump(exclude_none=True))
    return DisputeStep.of(await c.escalate_dispute(api.node, cmd))


@router.post("/{dispute_id}/resolve")
async def resolve(dispute_id: DisputeId, body: Resolution, _: Mediator, api: ApiDep) -> DisputeStep:
    """Record how the dispute was resolved, at its current level (the owner only)."""
    cmd = c.ResolveDispute(dispute_id=dispute_id, **body.model_dump(exclude_none=True))
    return DisputeStep.of(await c.resolve_dispute(api.node, cmd))


@router.post("/{dispute_id}/close")
async def close(dispute_id: DisputeId, body: Closure, _: Mediator, api: ApiDep) -> DisputeStep:
    """Close the dispute: `resolved` once resolved, otherwise withdrawn, duplicate, ..."""
    cmd = c.CloseDispute(dispute_id=dispute_id, **body.model_dump(exclude_none=True))
    return DisputeStep.of(await c.close_dispute(api.node, cmd))
