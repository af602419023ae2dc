"""The SQLite driver: one trip to the connection's thread per statement (none inside a unit of
work once it holds the write lock), nothing else changed."""

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError

from services.store import sqlite_thread
from services.store.database import Database
from services.store.tables import outbound_streams

pytestmark = pytest.mark.integration


def _stream(recipient: str) -> dict[str, object]:
    return {"recipient": recipient, "last_seq": 0, "head": "0" * 64, "delivered_seq": 0}


async def _store(path: Path) -> Database:
    db = Database.open(f"sqlite:///{path}")
    await db.migrate()
    return db


def _count_trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of each piece of work sent to a connection's thread, from now on."""
    trips: list[str] = []
    on_thread = sqlite_thread.Connection.on_thread

    async def counted(self, work):  # type: ignore[no-untyped-def]
        trips.append(getattr(work, "func", work).__name__)
        return await on_thread(self, work)

    monkeypatch.setattr(sqlite_thread.Connection, "on_thread", counted)
    return trips


async def test_a_transaction_with_one_select_takes_two_trips_to_the_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = await _store(tmp_path / "node.db")
    trips = _count_trips(monkeypatch)
    try:
        async with db.transaction() as conn:
            await conn.execute(select(outbound_streams.c.recipient))
        assert trips == ["_execute", "_end"]  # BEGIN IMMEDIATE with the SELECT, COMMIT
        trips.clear()
        async with db.transaction():  # no statement: nothing begun, nothing to commit
            pass
        assert trips == []
        async with db.engine.connect() as conn:  # no transaction: nothing to roll back
            pass
        assert trips == []
    finally:
        await db.close()


async def test_a_result_larger_than_one_trip_streams_whole_and_in_order(tmp_path: Path) -> None:
    db = await _store(tmp_path / "node.db")
    count = sqlite_thread.PREFETCH * 2 + 500
    names = [f"r{n:05d}" for n in range(count)]
    try:
        async with db.transaction() as conn:
            await conn.execute(insert(outbound_streams), [_stream(n) for n in names])
        async with db.transaction() as conn:
            query = select(outbound_streams.c.recipient).order_by(outbound_streams.c.recipient)
            streamed = [name async for name in await conn.stream_scalars(query)]
            fetched = (await conn.execute(query)).scalars().all()
            first = (await conn.execute(query)).scalars().first()
        assert streamed == fetched == names
        assert first == names[0]
    finally:
        await db.close()


async def test_a_failed_statement_rolls_its_transaction_back_and_the_next_one_begins(
    tmp_path: Path,
) -> None:
    db = await _store(tmp_path / "node.db")
    try:
        async with db.transaction() as conn:
            await conn.execute(insert(outbound_streams).values(_stream("a")))
        with pytest.raises(IntegrityError):
            async with db.transaction() as conn:
                await conn.execute(insert(outbound_streams).values(_stream("b")))
                await conn.execute(insert(outbound_streams).values(_stream("a")))
        async with db.transaction() as conn:  # BEGIN IMMEDIATE would fail inside an open one
            result = await conn.execute(insert(outbound_streams).values(_stream("c")))
            assert result.rowcount == 1
        async with db.transaction() as conn:
            rows = await conn.execute(
                select(outbound_streams.c.recipient).order_by(outbound_streams.c.recipient)
            )
            assert rows.scalars().all() == ["a", "c"]
            assert (
                await conn.execute(select(func.count()).select_from(outbound_streams))
            ).scalar() == 2
    finally:
        await db.close()


async def test_the_write_lock_is_taken_with_the_first_statement_even_a_read(
    tmp_path: Path,
) -> None:
    db = await _store(tmp_path / "node.db")
    other = sqlite3.connect(tmp_path / "node.db", timeout=0, isolation_level=None)
    try:
        async with db.transaction() as conn:
            other.execute("BEGIN IMMEDIATE")  # nothing run yet: the file is not locked
            other.execute("ROLLBACK")
            await conn.execute(select(outbound_streams.c.recipient))
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            await conn.execute(insert(outbound_streams).values(_stream("a")))
        other.execute("BEGIN IMMEDIATE")  # committed: free again
        assert other.execute("SELECT recipient FROM outbound_streams").fetchall() == [("a",)]
        other.execute("ROLLBACK")
    finally:
        other.close()
        await db.close()


async def test_a_unit_of_work_runs_its_statements_after_the_first_without_a_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = await _store(tmp_path / "node.db")
    trips = _count_trips(monkeypatch)
    query = select(outbound_streams.c.recipient).order_by(outbound_streams.c.recipient)
    try:
        async with db.transaction() as conn:
            await conn.execute(insert(outbound_streams).values(_stream("a")))  # with BEGIN
            await conn.execute(insert(outbound_streams), [_stream("b"), _stream("c")])
            assert (await conn.execute(query)).scalars().all() == ["a", "b", "c"]
        assert trips == ["_execute", "_end"]  # BEGIN IMMEDIATE with the first, COMMIT
        trips.clear()
        async with db.snapshot() as conn:  # ending a read lock needs no trip
            assert (await conn.execute(query)).scalars().all() == ["a", "b", "c"]
        assert trips == ["_execute"]
        trips.clear()
        async with db.transaction(reads_much=True) as conn:  # each statement on the thread
            await conn.execute(insert(outbound_streams).values(_stream("d")))
            assert (await conn.execute(query)).scalars().all() == ["a", "b", "c", "d"]
        assert trips == ["_execute", "_execute", "_end"]
    finally:
        await db.close()


async def _ticks_during(db: Database, reads_much: bool) -> int:
    """How often a task woke every 5 ms while one long statement ran in a unit of work."""
    ticks: list[float] = []

    async def tick() -> None:
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.005)

    ticker = asyncio.create_task(tick())
    long_count = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000)"
    try:
        async with db.transaction(reads_much) as conn:
            await conn.execute(select(outbound_streams.c.recipient))  # the lock, the BEGIN
            await asyncio.sleep(0.02)
            started = time.monotonic()
            await conn.execute(text(f"{long_count} SELECT count(*) FROM c"))
            ended = time.monotonic()
    finally:
        ticker.cancel()
    assert ended - started > 0.1  # long enough to tell
    return sum(started < t < ended for t in ticks)


async def test_a_unit_of_work_that_reads_much_leaves_the_event_loop_serving(
    tmp_path: Path,
) -> None:
    db = await _store(tmp_path / "node.db")
    try:
        assert await _ticks_during(db, reads_much=True) >= 5
        assert await _ticks_during(db, reads_much=False) == 0  # it ran on the loop's thread
    finally:
        await db.close()
