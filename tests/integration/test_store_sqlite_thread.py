"""The SQLite driver: one trip to the connection's thread per statement, nothing else changed."""

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
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


async def test_a_transaction_with_one_select_takes_two_trips_to_the_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = await _store(tmp_path / "node.db")
    trips: list[str] = []
    on_thread = sqlite_thread.Connection.on_thread

    async def counted(self, work):  # type: ignore[no-untyped-def]
        trips.append(getattr(work, "func", work).__name__)
        return await on_thread(self, work)

    monkeypatch.setattr(sqlite_thread.Connection, "on_thread", counted)
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
