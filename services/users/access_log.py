"""The personal-data access log: who read which case's personal fields, when, and how shown.

A read and its log row commit in one transaction: no personal data leaves the store unlogged.
The log holds field names only, never their values.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.store.database import Database
from services.users.accounts import aware
from services.users.model import Role, User
from services.users.tables import access_log

T = TypeVar("T")


class Disclosure(StrEnum):
    """How the personal fields were shown to the reader."""

    FULL = "full"
    MASKED = "masked"


@dataclass(frozen=True)
class Disclosed:
    """The personal fields a read shows (paths such as `applicant.id_number`), and how."""

    fields: tuple[str, ...]
    disclosure: Disclosure


@dataclass(frozen=True)
class CaseRef:
    """A case of a flow: `registry`, request id."""

    flow: str
    case_id: str


@dataclass(frozen=True)
class AccessEntry:
    """One logged read."""

    id: int
    at: datetime
    user_name: str
    role: Role
    flow: str
    case_id: str
    fields: list[str]
    disclosure: Disclosure
    action: str


@dataclass(frozen=True)
class AccessFilter:
    """What an auditor asks the log for; every given criterion must hold."""

    user_name: str | None = None
    flow: str | None = None
    case_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    offset: int = 0


async def read_case(
    db: Database,
    reader: User,
    case: CaseRef,
    action: str,
    read: Callable[[AsyncConnection], Awaitable[T | None]],
    disclosed: Callable[[T], Disclosed],
    at: datetime,
) -> T | None:
    """Read a case and, when it shows personal fields, log the read in the same transaction."""
    async with db.transaction() as conn:
        found = await read(conn)
        if found is None:
            return None
        shown = disclosed(found)
        if shown.fields:
            await conn.execute(
                access_log.insert().values(
                    at=at,
                    user_name=reader.name,
                    role=reader.role.value,
                    flow=case.flow,
                    case_id=case.case_id,
                    fields=",".join(shown.fields),
                    disclosure=shown.disclosure.value,
                    action=action[:200],
                )
            )
    return found


async def query_log(conn: AsyncConnection, wanted: AccessFilter) -> list[AccessEntry]:
    """Logged reads matching `wanted`, newest first."""
    a = access_log.c
    query = select(access_log).order_by(a.at.desc(), a.id.desc())
    for column, value in (
        (a.user_name, wanted.user_name),
        (a.flow, wanted.flow),
        (a.case_id, wanted.case_id),
    ):
        if value is not None:
            query = query.where(column == value)
    # In UTC: SQLite compares the stored instants as text, written in UTC.
    if wanted.since is not None:
        query = query.where(a.at >= wanted.since.astimezone(UTC))
    if wanted.until is not None:
        query = query.where(a.at < wanted.until.astimezone(UTC))
    rows = await conn.execute(query.limit(wanted.limit).offset(wanted.offset))
    return [_entry(row) for row in rows]


def _entry(row: Row[Any]) -> AccessEntry:
    return AccessEntry(
        id=row.id,
        at=aware(row.at),
        user_name=row.user_name,
        role=Role(row.role),
        flow=row.flow,
        case_id=row.case_id,
        fields=row.fields.split(","),
        disclosure=Disclosure(row.disclosure),
        action=row.action,
    )
