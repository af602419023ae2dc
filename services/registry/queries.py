"""Reading proxy requests for the API: lists, one request with its timeline, what is overdue.

Nothing is masked here (masking is the API's job), and nothing read here is logged.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, RowMapping, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events.common import Person
from services.registry.model import FINAL, State
from services.registry.tables import (
    registry_files,
    registry_owed,
    registry_requests,
    registry_timeline,
)

OPEN_STATES = [s.value for s in State if s not in FINAL]
_SUMMARY = (
    "request_id",
    "originator",
    "home",
    "state",
    "service_code",
    "applicant_name",
    "filed_on",
    "due_on",
    "updated_at",
)

_DETAIL = (
    "handling",
    "time_limit_days",
    "delivery",
    "window_name",
    "responsible_clerk",
    "handling_clerk",
    "note",
    "accepted_on",
    "completed_on",
    "rejected_on",
    "result_reference",
    "result_delivery",
    "tracking_number",
    "rejection_reason",
    "first_event_id",
    "last_event_id",
)


@dataclass(frozen=True)
class ProxyRequestSummary:
    """One line of a list of requests."""

    request_id: str
    originator: str
    home: str
    state: State
    service_code: str
    applicant_name: str
    filed_on: date
    due_on: date | None
    updated_at: datetime


@dataclass(frozen=True)
class SuppliedFile:
    """A material file on file for a request (its bytes are in the material store)."""

    name: str
    sha256: str
    size_bytes: int
    event_id: str
    supplied_on: date


@dataclass(frozen=True)
class OwedMaterial:
    """A material promised at filing (容缺) or requested by the home registry."""

    name: str
    basis: str
    due_on: date | None
    reason: str | None
    since_event_id: str
    settled_event_id: str | None
    settled_on: date | None


@dataclass(frozen=True)
class TimelineEntry:
    """One step of a request, as both nodes record it."""

    event_id: str
    type: str
    time: str
    source: str
    summary: str


@dataclass(frozen=True)
class ProxyRequestView:
    """A request with everything on file about it."""

    summary: ProxyRequestSummary
    handling: str
    time_limit_days: int
    delivery: str
    applicant: Person
    window_name: str
    responsible_clerk: str
    handling_clerk: str | None
    note: str | None
    accepted_on: date | None
    completed_on: date | None
    rejected_on: date | None
    result_reference: str | None
    result_delivery: str | None
    tracking_number: str | None
    rejection_reason: str | None
    first_event_id: str
    last_event_id: str
    opened_at: datetime
    files: list[SuppliedFile]
    owed: list[OwedMaterial]
    timeline: list[TimelineEntry]


class OverdueKind(StrEnum):
    SERVICE = "service"  # accepted and not completed or rejected by its due day
    PROMISED_MATERIAL = "promised_material"  # 容缺: not supplied by the promised day
    REQUESTED_MATERIAL = "requested_material"  # asked for with a due day, not supplied by it


@dataclass(frozen=True)
class Overdue:
    """Something an open request owes past its day: the service, or a material."""

    request_id: str
    originator: str
    home: str
    service_code: str
    kind: OverdueKind
    what: str  # the service code, or the material's name
    due_on: date
    days_late: int


async def list_requests(
    conn: AsyncConnection,
    state: State | None = None,
    limit: int = 100,
    offset: int = 0,
    filed_by: tuple[str, str] | None = None,
) -> list[ProxyRequestSummary]:
    """Requests on file, most recently changed first; `filed_by` (this jurisdiction, a
    clerk's name) keeps that clerk's desk: those they filed here and those partners sent here."""
    t = registry_requests.c
    query = select(*(t[c] for c in _SUMMARY)).order_by(t.updated_at.desc(), t.request_id)
    if state is not None:
        query = query.where(t.state == state.value)
    if filed_by is not None:
        here, clerk = filed_by
        query = query.where(
            or_(t.originator != here, and_(t.originator == here, t.responsible_clerk == clerk))
        )
    rows = await conn.execute(query.limit(limit).offset(offset))
    return [_summary(row) for row in rows]


async def get_request(conn: AsyncConnection, request_id: str) -> ProxyRequestView | None:
    """One request with its files, the materials owed and its timeline; None if not on file."""
    row = (
        await conn.execute(
            select(registry_requests).where(registry_requests.c.request_id == request_id)
        )
    ).one_or_none()
    if row is None:
        return None
    m = row._mapping
    details = {k: m[k] for k in _DETAIL}
    return ProxyRequestView(
        summary=_summary(row),
        opened_at=_aware(m["opened_at"]),
        applicant=Person(
            name=m["applicant_name"],
            home_jurisdiction=m["applicant_home"],
            id_number=m["applicant_id_number"],
            phone=m["applicant_phone"],
            address=m["applicant_address"],
        ),
        files=await _files(conn, request_id),
        owed=await _owed(conn, request_id),
        timeline=await _timeline(conn, request_id),
        **details,
    )


async def overdue(conn: AsyncConnection, on: date) -> list[Overdue]:
    """What open requests owe past its day on `on` (the due day itself is still in time)."""
    r, o = registry_requests.c, registry_owed.c
    services = await conn.execute(
        select(r.request_id, r.originator, r.home, r.service_code, r.due_on).where(
            r.state.in_(OPEN_STATES), r.due_on < on
        )
    )
    found = [
        _overdue(row._mapping, OverdueKind.SERVICE, row.service_code, row.due_on, on)
        for row in services
    ]
    materials = await conn.execute(
        select(r.request_id, r.originator, r.home, r.service_code, o.name, o.basis, o.due_on)
        .join(registry_owed, o.request_id == r.request_id)
        .where(r.state.in_(OPEN_STATES), o.settled_event_id.is_(None), o.due_on < on)
    )
    for row in materials:
        kind = OverdueKind.PROMISED_MATERIAL
        if row.basis != "promised":
            kind = OverdueKind.REQUESTED_MATERIAL
        found.append(_overdue(row._mapping, kind, row.name, row.due_on, on))
    return sorted(found, key=lambda item: (item.due_on, item.request_id, item.kind, item.what))


def _overdue(row: RowMapping, kind: OverdueKind, what: str, due_on: date, on: date) -> Overdue:
    return Overdue(
        row["request_id"],
        row["originator"],
        row["home"],
        row["service_code"],
        kind,
        what,
        due_on,
        (on - due_on).days,
    )


def _summary(row: Row[Any]) -> ProxyRequestSummary:
    m = row._mapping
    values = {k: m[k] for k in _SUMMARY}
    values["state"] = State(values["state"])
    values["updated_at"] = _aware(values["updated_at"])
    return ProxyRequestSummary(**values)


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; the store writes UTC instants only.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _files(conn: AsyncConnection, request_id: str) -> list[SuppliedFile]:
    f = registry_files.c
    rows = await conn.execute(
        select(f.name, f.sha256, f.size_bytes, f.event_id, f.supplied_on)
        .where(f.request_id == request_id)
        .order_by(f.supplied_on, f.event_id, f.name, f.sha256)
    )
    return [SuppliedFile(*row) for row in rows]


async def _owed(conn: AsyncConnection, request_id: str) -> list[OwedMaterial]:
    o = registry_owed.c
    rows = await conn.execute(
        select(
            o.name,
            o.basis,
            o.due_on,
            o.reason,
            o.since_event_id,
            o.settled_event_id,
            o.settled_on,
        )
        .where(o.request_id == request_id)
        .order_by(o.since_event_id, o.name)
    )
    return [OwedMaterial(*row) for row in rows]


async def _timeline(conn: AsyncConnection, request_id: str) -> list[TimelineEntry]:
    t = registry_timeline.c
    rows = await conn.execute(
        select(t.event_id, t.type, t.time, t.source, t.summary)
        .where(t.request_id == request_id)
        .order_by(t.time, t.event_id)
    )
    return [TimelineEntry(*row) for row in rows]
