"""JSON columns: written by orjson where it can, by the standard library where it cannot."""

from typing import Any

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, Table, Text, cast, insert, select

from services.store.database import Database

pytestmark = pytest.mark.integration

probe = Table(
    "json_probe",
    MetaData(),
    Column("n", Integer, primary_key=True),
    Column("value", JSON, nullable=False),
)

PARTIES = [{"name": "张三", "home_jurisdiction": "guangan-qianfeng", "phone": "13800138000"}]


async def _write_and_read(store: Database, value: Any) -> tuple[Any, str]:
    async with store.transaction() as conn:
        await conn.run_sync(lambda sync: probe.create(sync, checkfirst=True))
        await conn.execute(insert(probe).values(n=1, value=value))
    async with store.snapshot() as conn:
        row = (await conn.execute(select(probe.c.value, cast(probe.c.value, Text)))).one()
    return row[0], row[1]


async def test_a_json_column_is_written_compact_in_utf8_and_reads_back_the_same(
    store: Database,
) -> None:
    read, text = await _write_and_read(store, {"parties": PARTIES, "n": 2**53})
    assert read == {"parties": PARTIES, "n": 2**53}
    expected = (
        '{"parties":[{"name":"张三","home_jurisdiction":"guangan-qianfeng",'
        '"phone":"13800138000"}],"n":9007199254740992}'
    )
    assert text == expected


async def test_what_orjson_refuses_is_written_by_the_standard_library(store: Database) -> None:
    beyond_64_bits = 2**70
    read, text = await _write_and_read(store, {"n": beyond_64_bits})
    assert read == {"n": beyond_64_bits}
    assert text == '{"n": 1180591620717411303424}'  # the standard library's spacing
