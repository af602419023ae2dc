"""Case timelines: one entry per event applied to a case, identical on every node holding it,
and the step recorded on the case row itself.

Shared by the dispute and mediation flows (each has its own case and timeline tables whose first
primary key column is the case id). An entry names the envelope, never personal data. The two
sides of a case may apply concurrent steps in different orders (each its own first), so a
timeline is read in the order the events were sent: by envelope time, then by (time-ordered,
UUIDv7) event id.
"""

import functools
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

from sqlalchemy import Column, Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events.base import EventData
from services.bus.handlers import NotApplicable
from services.bus.verification import VerifiedEvent

E = TypeVar("E", bound=EventData)


@dataclass(frozen=True)
class TimelineEntry:
    """One step of a case: which envelope, when it was sent, by whom, and what it did."""

    position: int
    event_id: str
    type: str
    time: str
    source: str
    summary: str


def expect(verified: VerifiedEvent, kind: type[E]) -> E:
    """The verified event's data as `kind`; a handler registered for another type refuses it."""
    if not isinstance(verified.event, kind):
        raise NotApplicable(
            f"{verified.envelope.type} was read as {type(verified.event).__name__}, "
            f"not {kind.__name__}"
        )
    return verified.event


async def append_entry(
    conn: AsyncConnection, table: Table, case_id: str, verified: VerifiedEvent, summary: str
) -> None:
    """Add the step `verified` to the case's timeline."""
    await conn.execute(table.insert(), entry_row(table, case_id, verified, summary))


def entry_row(table: Table, case_id: str, verified: VerifiedEvent, summary: str) -> dict[str, str]:
    """The timeline row of step `verified` (many go in one statement: `table.insert()`)."""
    envelope = verified.envelope
    return {
        _case_column(table).name: case_id,
        "event_id": envelope.id,
        "type": envelope.type,
        "time": envelope.time,
        "source": envelope.source,
        "summary": summary,
    }


async def record_step(
    conn: AsyncConnection,
    cases: Table,
    case_id: str,
    verified: VerifiedEvent,
    state: Enum,
    values: dict[str, Any],
) -> None:
    """The case took step `verified`: its new state, its thread, and the step's values."""
    envelope = verified.envelope
    await conn.execute(
        update(cases)
        .where(_case_column(cases) == case_id)
        .values(state=state.value, last_event_id=envelope.id, updated_at=envelope.sent_at, **values)
    )


async def read_timeline(conn: AsyncConnection, table: Table, case_id: str) -> list[TimelineEntry]:
    """The case's timeline, oldest first."""
    rows = await conn.execute(
        select(table.c.event_id, table.c.type, table.c.time, table.c.source, table.c.summary)
        .where(_case_column(table) == case_id)
        .order_by(table.c.time, table.c.event_id)
    )
    return [TimelineEntry(n, *row) for n, row in enumerate(rows, start=1)]


@functools.cache  # a handful of tables, a lookup for every entry written
def _case_column(table: Table) -> "Column[Any]":
    return next(iter(table.primary_key.columns))
