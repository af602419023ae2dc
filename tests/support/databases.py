"""Fresh stores for tests: a SQLite file, and a new database on the real PostgreSQL server.

PostgreSQL comes from FENGQIAO_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/test);
an unreachable server fails the test: the production backend is never skipped.
"""

import os
import shutil
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import asyncpg
import pytest

from services.store.database import Database

PG_URL = os.environ.get("FENGQIAO_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]


async def _admin() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(PG_URL, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_URL} ({exc}); set FENGQIAO_TEST_PG_URL")


async def fresh_postgres_url() -> str:
    """Create an empty database on the test server and return its URL."""
    name = f"fq_{uuid.uuid4().hex[:16]}"
    admin = await _admin()
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return PG_URL.rsplit("/", 1)[0] + "/" + name


async def drop_postgres(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = await _admin()
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def open_store(backend: str, directory: Path) -> tuple[Database, str]:
    """A migrated store of `backend` and its URL."""
    if backend == "sqlite":
        url = f"sqlite:///{directory / 'node.db'}"
    else:
        url = await fresh_postgres_url()
    db = Database.open(url)
    await db.migrate()
    return db, url


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty store on each backend."""
    db, url = await open_store(request.param, tmp_path)
    try:
        yield db
    finally:
        await db.close()
        if request.param == "postgresql":
            await drop_postgres(url)


def back_up_sqlite(store: Path, to: Path) -> None:
    """As docs/operations.md says: sqlite3's online backup, the WAL's commits included."""
    with closing(sqlite3.connect(store)) as live, closing(sqlite3.connect(to)) as copy:
        live.backup(copy)


def restore_sqlite(backup: Path, store: Path) -> None:
    """Put `backup` in place of `store`, its node stopped (the old WAL files removed)."""
    for leftover in ("-wal", "-shm"):
        Path(f"{store}{leftover}").unlink(missing_ok=True)
    shutil.copy(backup, store)
