"""The personal-data access log, for auditors: who read which case's personal fields, when."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict

from gateway.deps import ApiDep, Auditor, Offset
from gateway.problems import PROBLEM_RESPONSES
from gateway.routes.text import Term
from services.users.access_log import AccessFilter, Disclosure, query_log
from services.users.model import Role

router = APIRouter(prefix="/audit", tags=["audit"], responses=PROBLEM_RESPONSES)


class AccessEntry(BaseModel):
    """One read of a case's personal fields (their names, never their values)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    user_name: str
    role: Role
    flow: str
    case_id: str
    fields: list[str]
    disclosure: Disclosure
    action: str


@router.get("/access-log")
async def access_log(
    _: Auditor,
    api: ApiDep,
    user: Term | None = None,
    flow: Term | None = None,
    case_id: Term | None = None,
    since: Annotated[AwareDatetime | None, Query(description="from this instant on")] = None,
    until: Annotated[AwareDatetime | None, Query(description="before this instant")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[AccessEntry]:
    """Logged reads, newest first, filtered by user, flow, case and time (auditors)."""
    wanted = AccessFilter(user, flow, case_id, since, until, limit, offset)
    async with api.node.db.snapshot() as conn:
        found = await query_log(conn, wanted)
    return [AccessEntry.model_validate(e) for e in found]
