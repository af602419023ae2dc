"""The SQLite store: the units of work of one process take turns on its file."""

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from services.store.database import Database
from services.store.tables import outbound_streams

pytestmark = pytest.mark.integration


async def _store(path: Path) -> Database:
    db = Database.open(f"sqlite:///{path}")
    await db.migrate()
    return db


async def test_two_units_of_work_on_one_file_take_turns_instead_of_meeting_the_lock(
    tmp_path: Path,
) -> None:
    first, second = (
        await _store(tmp_path / "node.db"),
        Database.open(f"sqlite:///{tmp_path}/node.db"),
    )
    order: list[str] = []
    holding = asyncio.Event()

    async def long_unit() -> None:
        async with first.transaction() as conn:
            order.append("first begins")
            holding.set()
            await asyncio.sleep(0.2)  # awaits something else while holding the write lock
            await conn.execute(
                insert(outbound_streams).values(
                    recipient="a", last_seq=0, head="0" * 64, delivered_seq=0
                )
            )
            order.append("first ends")

    async def other_unit() -> None:
        await holding.wait()
        async with second.transaction() as conn:
            order.append("second begins")
            await conn.execute(
                insert(outbound_streams).values(
                    recipient="b", last_seq=0, head="0" * 64, delivered_seq=0
                )
            )

    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.gather(long_unit(), other_unit())
    assert order == ["first begins", "first ends", "second begins"]
    assert loop.time() - started < 2.0  # no busy-handler sleep, no lock timeout
    async with second.transaction() as conn:
        assert (
            await conn.execute(select(func.count()).select_from(outbound_streams))
        ).scalar() == 2
    await first.close()
    await second.close()


async def test_a_failed_statement_rolls_back_and_the_next_unit_of_work_goes_on(
    tmp_path: Path,
) -> None:
    db = await _store(tmp_path / "node.db")
    row = {"recipient": "a", "last_seq": 0, "head": "0" * 64, "delivered_seq": 0}
    async with db.transaction() as conn:
        await conn.execute(insert(outbound_streams).values(row))
    with pytest.raises(IntegrityError):
        async with db.transaction() as conn:
            await conn.execute(insert(outbound_streams).values(row | {"last_seq": 5}))
    async with db.transaction() as conn:
        seqs = (await conn.execute(select(outbound_streams.c.last_seq))).scalars().all()
    assert seqs == [0]
    await db.close()
