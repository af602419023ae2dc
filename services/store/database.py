"""Open the store, migrate it, and run units of work (one transaction each)."""

import asyncio
import contextlib
import functools
import json
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Table, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from services.settings import STORE_DRIVERS, without_password
from services.store import sqlite_thread
from services.store.driver_logs import hide_driver_arguments

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_WRITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)
"""Per event loop, one lock per SQLite file: Database._turn."""
_MIGRATING: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)
"""Per event loop, one migration at a time: Alembic keeps the one it runs in module globals."""
MIGRATION_LOCK = 0x66716D6967  # "fqmig": the PostgreSQL advisory lock a migration holds


def async_url(url: str) -> str:
    """Accept plain `sqlite:///` and `postgresql://` URLs and name the async drivers."""
    for plain, driver in STORE_DRIVERS.items():
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
    # A unit of work takes the write lock at BEGIN, so that two writers queue instead of
    # deadlocking later; a snapshot takes none (WAL: it reads beside the writer). The BEGIN goes
    # to the store's thread with the transaction's first statement; a unit of work's later
    # statements run on the event loop's thread unless it reads much (sqlite_thread).
    driver = connection.connection.driver_connection
    assert isinstance(driver, sqlite_thread.Connection)
    options = connection.get_execution_options()
    if options.get(_SNAPSHOT, False):
        driver.begin_with_next_statement("BEGIN")
    else:
        driver.begin_with_next_statement("BEGIN IMMEDIATE", inline=not options.get(_READS_MUCH))


_SNAPSHOT = "fengqiao_snapshot"
_READS_MUCH = "fengqiao_reads_much"
_SNAPSHOT_OPTIONS: dict[str, dict[str, Any]] = {
    "sqlite": {_SNAPSHOT: True},
    "postgresql": {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True},
}


class StoreUnavailable(Exception):
    """The store cannot be opened: its server is down or refuses us, its database or file is
    not there or not ours to open."""

    fix = "check database_url and that its server runs"
    reason = "store_unavailable"
    detail = "the node's store is not answering; try again shortly"  # what API clients see

    def __init__(self, problem: str) -> None:
        super().__init__(f"{problem}; {self.fix}")
        self.problem = problem


def json_text(value: Any) -> str:
    """A JSON column's text: orjson's compact UTF-8, several times quicker than the standard
    library's (a dispute's parties: 0.5 against 3 µs); what orjson refuses (an integer beyond
    64 bits, a member name that is no string) the standard library writes, as it did before."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value)


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
        engine = create_async_engine(
            async_url(url), pool_pre_ping=ping, hide_parameters=True, json_serializer=json_text
        )
        if engine.dialect.name == "sqlite":
            hide_driver_arguments()
            event.listen(engine.sync_engine, "do_connect", _sqlite_driver)
            event.listen(engine.sync_engine, "connect", _sqlite_connect)
            event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return cls(engine)

    async def migrate(self) -> None:
        """Bring the schema to the newest migration of every branch (one branch per flow).
        A store already there is only read, in a snapshot: a command run beside a busy node
        (`fengqiao report`, `fengqiao users`) does not wait for its write lock to learn that."""
        current = await self.current_heads()
        shipped = shipped_revisions()
        if current <= shipped and applied_revisions(current) == shipped:
            return
        migrating = _MIGRATING.setdefault(asyncio.get_running_loop(), asyncio.Lock())
        async with migrating, self.transaction(reads_much=True) as conn:  # it may rewrite tables
            if not self.is_sqlite:  # SQLite's write lock, taken first, keeps others out
                # Two processes of one node starting at once on one store: the second waits
                # here, then finds the store migrated by the first.
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                )
            await conn.run_sync(_upgrade)

    async def current_heads(self) -> set[str]:
        """The newest migration of each branch the store has run (none on an empty store);
        StoreUnavailable, saying why, when the store cannot be opened."""
        try:
            async with self.snapshot() as conn:
                return await conn.run_sync(_current_heads)
        except (OSError, DBAPIError) as exc:  # SQLite opens the file at the first statement
            raise self._unavailable(exc) from exc

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[AsyncConnection]:
        """A connection from the pool, returned to it after; StoreUnavailable when the store
        cannot be reached (its server down, its database gone), which the API answers with 503."""
        connection = self.engine.connect()
        try:
            await connection.start()
        except (OSError, DBAPIError) as exc:
            raise self._unavailable(exc) from exc
        try:
            yield connection
        finally:
            await connection.close()

    def _unavailable(self, exc: Exception) -> "StoreUnavailable":
        reason = getattr(exc, "orig", None) or exc
        where = without_password(str(self.engine.url))
        return StoreUnavailable(f"cannot open the store {where}: {reason}")

    @asynccontextmanager
    async def transaction(self, reads_much: bool = False) -> AsyncIterator[AsyncConnection]:
        """One transaction: committed when the block ends, rolled back if it raises.

        On SQLite its statements run on the event loop's thread once it holds the write lock,
        each in a fraction of a trip to the store's thread; `reads_much` (a report's counts
        over a half-year of events) sends them to that thread, the event loop serving
        meanwhile."""
        async with self._turn(), self._connection() as conn:
            if reads_much:
                await conn.execution_options(**{_READS_MUCH: True})
            async with conn.begin():
                yield conn

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that only reads, all of it from one consistent state of the store.

        It neither waits for writers nor holds them up: on SQLite it takes no write lock and
        does not queue in `_turn` (so a report or an audit run beside a busy node, in its
        process or another, reads at once and leaves the node's batches alone); on PostgreSQL
        it is READ ONLY and REPEATABLE READ, so a write in it fails there (the suites run on
        both). Writes belong in `transaction()`."""
        async with self._connection() as conn:
            await conn.execution_options(**_SNAPSHOT_OPTIONS[self.engine.dialect.name])
            async with conn.begin():
                yield conn

    def _turn(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """SQLite has one writer at a time (and every unit of work here begins IMMEDIATE): a
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


@functools.cache
def _migrations() -> ScriptDirectory:
    """The migration scripts, read once a process (migrate() and doctor ask twice each)."""
    return ScriptDirectory(str(MIGRATIONS))


def shipped_revisions() -> set[str]:
    """Every migration this code ships."""
    return {r.revision for r in _migrations().walk_revisions()}


def applied_revisions(current: set[str]) -> set[str]:
    """Every migration a store at heads `current` has run (their ancestors and dependencies);
    only for heads this code ships."""
    scripts = _migrations()
    return {r.revision for head in current for r in scripts.iterate_revisions(head, "base")}


def _current_heads(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


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
