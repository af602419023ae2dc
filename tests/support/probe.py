"""A probe handler for bus tests: every application of an event leaves one row, duplicates too.

The probe table has no unique key on purpose: an event applied twice would show as two rows.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, func, select

from services.bus.handlers import Handler
from services.bus.verification import VerifiedEvent
from services.node import Node
from services.runtime import NodeRuntime
from services.store.database import Database

probe_metadata = MetaData()
probe = Table(
    "probe",
    probe_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("seq", BigInteger, nullable=False),
)


async def create_probe(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.run_sync(probe_metadata.create_all)


async def start_with_probe(runtime: NodeRuntime) -> Node:
    """Start `runtime` with the probe table in its store before it receives anything: created
    after, a batch arriving first fails, is held back and redelivered, and the events behind
    it are applied all at once when it is (a test watching progress sees 0, then all)."""
    node = await runtime.open()
    await create_probe(node.db)
    return await runtime.start()


def probe_handlers(types: list[str]) -> Callable[[Node], Mapping[str, Handler]]:
    """Handlers that record each application of an event of `types`."""

    async def record(conn: Any, verified: VerifiedEvent) -> None:
        envelope = verified.envelope
        await conn.execute(
            probe.insert().values(event_id=envelope.id, subject=envelope.subject, seq=envelope.seq)
        )

    return lambda node: dict.fromkeys(types, record)


@dataclass(frozen=True)
class ProbeReport:
    applications: int
    distinct_events: int
    cases_out_of_order: list[str]


async def probe_report(db: Database) -> ProbeReport:
    """How many applications, of how many events, and which cases saw their events out of order."""
    async with db.transaction() as conn:
        rows = (await conn.execute(select(probe).order_by(probe.c.id))).all()
    last: dict[str, int] = {}
    disorder: set[str] = set()
    for row in rows:
        if row.seq <= last.get(row.subject, 0):
            disorder.add(row.subject)
        last[row.subject] = row.seq
    return ProbeReport(len(rows), len({r.event_id for r in rows}), sorted(disorder))


async def applications(db: Database) -> int:
    """How many applications the probe holds so far, read without waiting for the writer: a
    unit of work from outside a busy node's process would queue behind its batches (seconds,
    seen here on SQLite); a snapshot reads the last committed state at once."""
    async with db.snapshot() as conn:
        return int((await conn.execute(select(func.count()).select_from(probe))).scalar_one())
