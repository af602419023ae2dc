"""Snapshots: transactions that only read, from one state of the store, beside its writers."""

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from services.store.database import Database
from services.store.tables import outbound_streams
from tests.support.databases import drop_postgres, open_store

pytestmark = pytest.mark.integration


def _stream(recipient: str) -> dict[str, object]:
    return {"recipient": recipient, "last_seq": 0, "head": "0" * 64, "delivered_seq": 0}


async def _recipients(conn: AsyncConnection) -> list[str]:
    query = select(outbound_streams.c.recipient).order_by(outbound_streams.c.recipient)
    return list((await conn.execute(query)).scalars())


async def test_a_snapshot_reads_one_state_while_a_unit_of_work_commits_beside_it(
    store: Database,
) -> None:
    async with store.transaction() as conn:
        await conn.execute(insert(outbound_streams).values(_stream("a")))
    async with store.snapshot() as reading:
        assert await _recipients(reading) == ["a"]
        async with store.transaction() as conn:  # neither waits for the other
            await conn.execute(insert(outbound_streams).values(_stream("b")))
        assert await _recipients(reading) == ["a"]
    async with store.snapshot() as reading:
        assert await _recipients(reading) == ["a", "b"]


async def test_a_snapshot_does_not_queue_behind_a_unit_of_work_of_its_process(
    store: Database,
) -> None:
    written, read = asyncio.Event(), asyncio.Event()

    async def unit_of_work() -> None:
        async with store.transaction() as conn:
            await conn.execute(insert(outbound_streams).values(_stream("a")))
            written.set()
            await read.wait()  # still open, its write uncommitted

    writer = asyncio.create_task(unit_of_work())
    await asyncio.wait_for(written.wait(), 5)
    async with store.snapshot() as reading:
        seen = await asyncio.wait_for(_recipients(reading), 5)
    read.set()
    await writer
    assert seen == []  # read at once, without what the open unit of work has not committed


async def test_a_snapshot_of_sqlite_reads_while_another_process_holds_the_write_lock(
    tmp_path: Path,
) -> None:
    """As `fengqiao report` or `fengqiao log` beside a running node: the node's open batch holds
    the write lock; a unit of work would wait up to the busy timeout, a snapshot reads at once."""
    db = Database.open(f"sqlite:///{tmp_path / 'node.db'}")
    await db.migrate()
    async with db.transaction() as conn:
        await conn.execute(insert(outbound_streams).values(_stream("a")))
    with contextlib.closing(sqlite3.connect(tmp_path / "node.db", isolation_level=None)) as node:
        node.execute("BEGIN IMMEDIATE")
        node.execute("INSERT INTO outbound_streams VALUES ('b', 0, ?, 0)", ("0" * 64,))
        async with db.snapshot() as reading:
            seen = await asyncio.wait_for(_recipients(reading), 5)
        node.execute("COMMIT")
    assert seen == ["a"]
    async with db.snapshot() as reading:
        assert await _recipients(reading) == ["a", "b"]
    await db.close()


async def test_a_snapshot_of_postgresql_refuses_a_write_and_leaves_its_connection_writable(
    tmp_path: Path,
) -> None:
    db, url = await open_store("postgresql", tmp_path)
    try:
        with pytest.raises(DBAPIError, match="read-only transaction"):
            async with db.snapshot() as reading:
                await reading.execute(insert(outbound_streams).values(_stream("a")))
        async with db.transaction() as conn:  # the pooled connection is read-write again
            await conn.execute(insert(outbound_streams).values(_stream("b")))
        async with db.snapshot() as reading:
            count = select(func.count()).select_from(outbound_streams)
            assert (await reading.execute(count)).scalar_one() == 1
    finally:
        await db.close()
        await drop_postgres(url)
