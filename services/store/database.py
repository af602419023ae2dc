"""Open the store, migrate it, and run units of work (one transaction each)."""

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from services.store import sqlite_thread
from services.store.driver_logs import hide_driver_arguments

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_WRITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)
"""Per event loop, one lock per SQLite file: Database._turn."""


def async_url(url: str) -> str:
    """Accept plain `sqlite:///` and `postgresql://` URLs and name the async drivers."""
    for plain, driver in (
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://", "postgresql+asyncpg://"),
    ):
        if url.startswith(plain):
            return driver + url.removeprefix(plain)
    return url


def _sqlite_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # The driver's own implicit transactions are switched off: _sqlite_begin opens them.
    # WAL lets readers run beside the one writer; busy_timeout waits instead of failing.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_driver(
    _dialect: Any, _record: ConnectionPoolEntry, _args: list[Any], kwargs: dict[str, Any]
) -> None:
    # aiosqlite's connection, with one trip to its thread per statement (sqlite_thread).
    kwargs["async_creator_fn"] = sqlite_thread.connect


def _sqlite_begin(connection: Connection) -> None:
    # Take the write lock at BEGIN, so that two writers queue instead of deadlocking later;
    # the BEGIN goes to the store's thread with the transaction's first statement.
    driver = connection.connection.driver_connection
    assert isinstance(driver, sqlite_thread.Connection)
    driver.begin_with_next_statement("BEGIN IMMEDIATE")


class Database:
    """The node's store. `transaction()` is the unit of work: all or nothing."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._path = engine.url.database or ""

    @classmethod
    def open(cls, url: str) -> "Database":
        # hide_parameters: a failed statement's error (logged with its traceback) names no row.
        # A server can restart under a pooled connection; a SQLite file cannot.
        ping = not async_url(url).startswith("sqlite")
        engine = create_async_engine(async_url(url), pool_pre_ping=ping, hide_parameters=True)
        if engine.dialect.name == "sqlite":
            hide_driver_arguments()
            event.listen(engine.sync_engine, "do_connect", _sqlite_driver)
            event.listen(engine.sync_engine, "connect", _sqlite_connect)
            event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return cls(engine)

    async def migrate(self) -> None:
        """Bring the schema to the newest migration of every branch (one branch per flow)."""
        async with self._turn(), self.engine.begin() as conn:
            await conn.run_sync(_upgrade)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        async with self._turn(), self.engine.begin() as conn:
            yield conn

    def _turn(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """SQLite has one writer at a time (and every transaction here begins IMMEDIATE): a
        connection finding the file locked would sleep in SQLite's busy handler, in steps of up
        to 100 ms however soon it is free.
        So this process's transactions on one file queue on one lock, each starting as the one
        before ends; other processes still meet the busy timeout."""
        if not self.is_sqlite:
            return contextlib.nullcontext()
        locks = _WRITERS.setdefault(asyncio.get_running_loop(), {})
        return locks.setdefault(self._path, asyncio.Lock())

    async def close(self) -> None:
        await self.engine.dispose()


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "heads")


async def insert_if_absent(conn: AsyncConnection, table: Table, values: dict[str, Any]) -> bool:
    """INSERT unless the primary key exists already; True when a row was inserted."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    result = await conn.execute(dialect.insert(table).values(values).on_conflict_do_nothing())
    return bool(result.rowcount)
