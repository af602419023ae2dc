"""The request rows as handlers and commands change them: one request, its files, what is owed."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.agreement import HandlingCode
from contracts.events.common import FileDigest
from contracts.events.registry import RegistryProxyRequestedV1
from services.bus.envelope import Envelope
from services.registry.model import State, registry_day
from services.registry.tables import (
    registry_files,
    registry_owed,
    registry_requests,
    registry_timeline,
)
from services.store.database import insert_if_absent

PROMISED, REQUESTED = "promised", "requested"


@dataclass(frozen=True)
class RequestRecord:
    """What a step needs to know of a request on file."""

    request_id: str
    originator: str
    home: str
    state: State
    handling: HandlingCode
    time_limit_days: int
    first_event_id: str
    last_event_id: str

    def partner_of(self, jurisdiction: str) -> str:
        """The other side of the request."""
        return self.home if jurisdiction == self.originator else self.originator


async def load(conn: AsyncConnection, request_id: str) -> RequestRecord | None:
    """The request, locked for the rest of the transaction; None when it is not on file."""
    t = registry_requests.c
    row = (
        await conn.execute(
            select(
                t.request_id,
                t.originator,
                t.home,
                t.state,
                t.handling,
                t.time_limit_days,
                t.first_event_id,
                t.last_event_id,
            )
            .where(t.request_id == request_id)
            .with_for_update()
        )
    ).one_or_none()
    if row is None:
        return None
    return RequestRecord(
        row.request_id,
        row.originator,
        row.home,
        State(row.state),
        HandlingCode(row.handling),
        row.time_limit_days,
        row.first_event_id,
        row.last_event_id,
    )


async def open_request(
    conn: AsyncConnection, event: RegistryProxyRequestedV1, envelope: Envelope, state: State
) -> None:
    """Put a newly filed request on file, applicant as received (the store is the node's own)."""
    applicant = event.applicant
    await conn.execute(
        registry_requests.insert().values(
            request_id=event.request_id,
            originator=envelope.source,
            home=envelope.recipient,
            state=state.value,
            handling=envelope.handling.value,
            service_code=event.service_code,
            time_limit_days=event.time_limit_days,
            delivery=event.delivery,
            applicant_name=applicant.name,
            applicant_home=applicant.home_jurisdiction,
            applicant_id_number=applicant.id_number,
            applicant_phone=applicant.phone,
            applicant_address=applicant.address,
            window_name=event.requesting_window.name,
            responsible_clerk=event.responsible_clerk.name,
            note=event.note,
            filed_on=registry_day(envelope.sent_at),
            first_event_id=envelope.id,
            last_event_id=envelope.id,
            opened_at=envelope.sent_at,
            updated_at=envelope.sent_at,
        )
    )


async def advance(
    conn: AsyncConnection, request_id: str, state: State, envelope: Envelope, **values: Any
) -> None:
    """Move the request to `state` after `envelope`, with the step's own columns.

    `updated_at` is the newest event time (the same on both nodes whatever order crossing
    steps arrive in); `last_event_id` is the event applied last here, which the next step
    from here names as its causation.
    """
    t = registry_requests.c
    newest = case((t.updated_at < envelope.sent_at, envelope.sent_at), else_=t.updated_at)
    await conn.execute(
        update(registry_requests)
        .where(t.request_id == request_id)
        .values(state=state.value, last_event_id=envelope.id, updated_at=newest, **values)
    )


async def add_files(
    conn: AsyncConnection, request_id: str, files: Iterable[FileDigest], envelope: Envelope
) -> None:
    """Record supplied files; the same file supplied again is one file."""
    for f in files:
        await insert_if_absent(
            conn,
            registry_files,
            {
                "request_id": request_id,
                "sha256": f.sha256,
                "name": f.name,
                "size_bytes": f.size_bytes,
                "event_id": envelope.id,
                "supplied_on": registry_day(envelope.sent_at),
            },
        )


async def owe(
    conn: AsyncConnection,
    request_id: str,
    owed: Iterable[tuple[str, date | None]],
    basis: str,
    envelope: Envelope,
    reason: str | None = None,
) -> None:
    """Record materials owed (promised at filing, or requested by the home registry)."""
    since_seq = envelope.seq if basis == REQUESTED else 0
    for name, due_on in owed:
        await conn.execute(
            registry_owed.insert().values(
                request_id=request_id,
                name=name,
                since_event_id=envelope.id,
                basis=basis,
                since_seq=since_seq,
                due_on=due_on,
                reason=reason,
            )
        )


async def owed_names(conn: AsyncConnection, request_id: str, basis: str | None = None) -> list[str]:
    """Materials still owed for the request (of one basis, or all)."""
    t = registry_owed.c
    query = select(t.name).where(t.request_id == request_id, t.settled_event_id.is_(None))
    if basis is not None:
        query = query.where(t.basis == basis)
    return sorted(set((await conn.execute(query)).scalars()))


async def settle(
    conn: AsyncConnection, request_id: str, names: Iterable[str], envelope: Envelope, seen: int
) -> None:
    """A supply settles what was owed under the same names, as far as its window had seen."""
    t = registry_owed.c
    await conn.execute(
        update(registry_owed)
        .where(
            t.request_id == request_id,
            t.name.in_(set(names)),
            t.settled_event_id.is_(None),
            t.since_seq <= seen,
        )
        .values(settled_event_id=envelope.id, settled_on=registry_day(envelope.sent_at))
    )


async def home_seen(conn: AsyncConnection, envelope: Envelope, home: str) -> int:
    """The newest home registry event (its seq) the sender had applied when it sent `envelope`.

    A home event has seen itself; a window event has seen what the event it follows (its
    causation) had seen: both nodes hold that row, so both compute the same number.
    """
    if envelope.source == home:
        return envelope.seq
    if envelope.causation is None:
        return 0
    t = registry_timeline.c
    found = (
        await conn.execute(select(t.home_seen).where(t.event_id == envelope.causation))
    ).scalar_one_or_none()
    return int(found or 0)


async def note(
    conn: AsyncConnection, request_id: str, envelope: Envelope, summary: str, seen: int
) -> None:
    """Append the step to the request's timeline (identical on both nodes)."""
    await conn.execute(
        registry_timeline.insert().values(
            event_id=envelope.id,
            request_id=request_id,
            type=envelope.type,
            time=envelope.time,
            source=envelope.source,
            seq=envelope.seq,
            causation=envelope.causation,
            home_seen=seen,
            summary=summary[:200],
        )
    )


async def renumber(conn: AsyncConnection, me: str, moves: Mapping[str, tuple[int, int]]) -> None:
    """Our envelopes `moves` (event id: old seq, new seq) were signed again at new seqs before
    they were sent (services/bus/catch_up.py): the timeline's seq, and where this node is the
    home registry, the seq a home event has seen (its own) and the seq a request owes since."""
    t, o, r = registry_timeline.c, registry_owed.c, registry_requests.c
    ours_as_home = select(r.request_id).where(r.home == me)
    for event_id, (old, new) in moves.items():
        await conn.execute(update(registry_timeline).where(t.event_id == event_id).values(seq=new))
        await conn.execute(
            update(registry_timeline)
            .where(t.event_id == event_id, t.home_seen == old, t.request_id.in_(ours_as_home))
            .values(home_seen=new)
        )
        await conn.execute(
            update(registry_owed)
            .where(o.since_event_id == event_id, o.since_seq == old)
            .values(since_seq=new)
        )
