"""The quarantine: what this node received and did not apply, and re-driving an entry."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict

from gateway.deps import Admin, ApiDep, QuarantineReader
from gateway.problems import PROBLEM_RESPONSES, problem_response
from services.bus.quarantine import list_entries, redrive

router = APIRouter(prefix="/quarantine", tags=["quarantine"], responses=PROBLEM_RESPONSES)


class Status(StrEnum):
    HELD = "held"
    REDRIVEN = "redriven"
    ALL = "all"


class QuarantineEntry(BaseModel):
    """A received envelope not applied: why, from whom, and its size (the bytes stay here)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    received_at: datetime
    reason: str
    detail: str
    sender: str | None
    event_id: str | None
    stream_seq: int | None
    status: str
    size: int


class Redrive(BaseModel):
    """What re-driving did: `applied` (or `duplicate`), else still `quarantined` with why."""

    entry: int
    outcome: str
    reason: str | None


@router.get("")
async def list_quarantine(
    _: QuarantineReader,
    api: ApiDep,
    status: Status = Status.HELD,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[QuarantineEntry]:
    """Quarantined envelopes, newest first (admins and auditors)."""
    async with api.node.db.snapshot() as conn:
        found = await list_entries(conn, None if status is Status.ALL else status.value, limit)
    return [QuarantineEntry.model_validate(e) for e in found]


@router.post(
    "/{entry}/redrive",
    responses={404: problem_response("no held entry of that id")},
)
async def redrive_entry(
    entry: Annotated[int, Path(ge=1, le=2**31 - 1)], _: Admin, api: ApiDep
) -> Redrive:
    """Try a held entry again with the agreements and contracts in force now (admins).
    An entry still refused answers 200 with outcome `quarantined` and its reason."""
    receipt = await redrive(api.inbox, entry)
    return Redrive(entry=entry, outcome=receipt.outcome, reason=receipt.reason)
