"""Two processes of one node starting at once on one new store (nodes behind a load balancer):
the store is migrated once, the second migration waiting for the first (PostgreSQL: an advisory
lock; SQLite: its write lock), and neither fails."""

import asyncio
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from services.store.database import Database, applied_revisions, async_url, shipped_revisions
from tests.support.api import store_url
from tests.support.databases import BACKENDS, drop_postgres, fresh_postgres_url
from tests.support.nats import NatsServer, free_port
from tests.support.served import fengqiao, node_config


@pytest.mark.parametrize("backend", BACKENDS)
async def test_two_migrations_at_once_leave_the_store_at_the_newest_schema(
    backend: str, tmp_path: Path
) -> None:
    url = await store_url(backend, tmp_path)
    stores = [Database(create_async_engine(async_url(url))) for _ in range(2)]
    try:
        await asyncio.wait_for(asyncio.gather(*(s.migrate() for s in stores)), 60)
        assert applied_revisions(await stores[1].current_heads()) == shipped_revisions()
    finally:
        for store in stores:
            await store.close()
        if backend == "postgresql":
            await drop_postgres(url)


async def test_two_node_migrate_commands_at_once_on_one_postgresql_store_both_succeed(
    nats_single: NatsServer, tmp_path: Path
) -> None:
    url = await fresh_postgres_url()
    config = node_config(tmp_path, nats_single, free_port(), database_url=url)
    try:
        commands = [
            subprocess.Popen(
                fengqiao("node", "migrate", "--config", str(config)),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        said = [await asyncio.to_thread(c.communicate, timeout=120) for c in commands]
        assert [c.returncode for c in commands] == [0, 0], said
        assert all("is at the newest schema" in out for out, _ in said)
    finally:
        await drop_postgres(url)
