"""aiosqlite with at most one trip to its thread per statement.

aiosqlite runs each sqlite3 call on the connection's own thread and wakes the event loop with
its result. SQLAlchemy's adapter makes four such trips for one SELECT (open a cursor, execute,
fetch the rows, close the cursor), four for its BEGIN, one for the COMMIT and one more for the
rollback the pool resets each returned connection with, open transaction or not. A trip costs
tens of microseconds of CPU on both threads, more than the statement: measured here, a
transaction with one SELECT took ~1 ms of CPU, against ~0.1 ms with the synchronous driver.

Here a statement is one trip: the cursor is opened, executed, its first rows fetched and, if
that was all, closed, together on the thread; a transaction's BEGIN travels with its first
statement. Commit and rollback make no trip when no transaction is open. Rows beyond the first
`PREFETCH` (a streamed result) are fetched in further trips, as aiosqlite does.

Once a unit of work holds the write lock (its BEGIN IMMEDIATE ran, on the thread: it may wait
for another process's writer), its statements make no trip at all: they run at once on the
calling thread, the event loop's. Nothing they do can wait for a lock then (WAL: readers never
block the one writer), and a trip costs more than such a statement: ~110 µs of CPU a statement
measured here, 14 % of a single dispute report over HTTP. A unit of work that reads much (a
report's counts) asks for its statements to go to the thread all the same (`inline=False`), so
that the event loop serves meanwhile. Its COMMIT goes to the thread (it may checkpoint the WAL
to disk); a snapshot's ends at once (ending a read lock does nothing else).
"""

import sqlite3
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from functools import partial
from typing import Any, TypeVar

import aiosqlite

PREFETCH = 1000
"""Rows fetched with the statement; a result with more is fetched in trips of this many."""

T = TypeVar("T")
_Description = tuple[tuple[Any, ...], ...] | None


def connect(database: str, **kwargs: Any) -> "Connection":
    """Like aiosqlite.connect (await it); SQLAlchemy passes the URL's arguments."""
    # The connection is used from its thread and, inside a unit of work, from the event loop's
    # (never from both at once: every trip is awaited before the next statement).
    kwargs["check_same_thread"] = False
    connection = Connection(partial(sqlite3.connect, database, **kwargs), PREFETCH)
    connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite's own
    return connection


class Connection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors take one trip per statement."""

    _open_transaction = False
    _begin: str | None = None  # run on the thread just before the next statement
    _begin_inline = False  # what _inline becomes once _begin has run
    _inline = False  # the open transaction's statements run on the calling thread
    _reading = False  # the open transaction takes no write lock

    def cursor(self) -> "Cursor":  # type: ignore[override]
        return Cursor(self)

    def begin_with_next_statement(self, begin: str, inline: bool = False) -> None:
        """Open a transaction with `begin` in the trip of its first statement, not in one of
        its own (a transaction that runs no statement makes no trip at all); with `inline`,
        its later statements run on the calling thread (see the module's docstring)."""
        self._begin, self._begin_inline = begin, inline

    async def on_thread(self, work: Callable[[], T]) -> T:
        """`work` run on the connection's thread: one trip."""
        result: T = await self._execute(work)  # type: ignore[no-untyped-call]
        return result

    async def run(self, work: Callable[[], T]) -> T:
        """`work` at once while an inline transaction is open and begun, else on the thread
        (where any trip before it has finished: each was awaited)."""
        if self._inline and self._open_transaction and self._begin is None:
            return work()
        return await self.on_thread(work)

    async def commit(self) -> None:
        self._begin = None
        if self._open_transaction and self._reading:
            self._end(self._conn.commit)
        elif self._open_transaction:
            await self.on_thread(partial(self._end, self._conn.commit))

    async def rollback(self) -> None:
        self._begin = None
        if self._open_transaction:
            await self.on_thread(partial(self._end, self._conn.rollback))

    def _end(self, how: Callable[[], None]) -> None:
        how()
        self._open_transaction = self._conn.in_transaction


class Cursor:
    """What SQLAlchemy's aiosqlite adapter uses of aiosqlite.Cursor."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._cursor: sqlite3.Cursor | None = None  # only while rows are left to fetch
        self._rows: deque[Any] = deque()
        self.description: _Description = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    async def __aenter__(self) -> "Cursor":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> "Cursor":
        run = partial(self._execute, sql, () if parameters is None else parameters)
        await self._connection.run(run)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> "Cursor":
        await self._connection.run(partial(self._executemany, sql, parameters))
        return self

    # On the connection's thread (aiosqlite logs these calls by name, their arguments hidden:
    # services/store/driver_logs.py).
    def _execute(self, sql: str, parameters: Sequence[Any]) -> None:
        self._run(lambda cursor: cursor.execute(sql, parameters))

    def _executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> None:
        self._run(lambda cursor: cursor.executemany(sql, parameters))

    def _run(self, statement: Callable[[sqlite3.Cursor], object]) -> None:
        """The statement, its first rows, and the connection's state after."""
        connection = self._connection
        cursor = connection._conn.cursor()
        try:
            if connection._begin is not None:
                begin, connection._begin = connection._begin, None
                cursor.execute(begin)
                connection._reading = begin == "BEGIN"
                connection._inline = connection._begin_inline and not connection._reading
            statement(cursor)
            self.description = cursor.description
            self.rowcount, self.lastrowid = cursor.rowcount, cursor.lastrowid
            self._rows = deque(cursor.fetchmany(PREFETCH) if cursor.description else ())
        except BaseException:
            cursor.close()
            raise
        finally:
            self._connection._open_transaction = self._connection._conn.in_transaction
        if len(self._rows) == PREFETCH:
            self._cursor = cursor
        else:
            cursor.close()

    async def fetchone(self) -> Any:
        rows = await self.fetchmany(1)
        return rows[0] if rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        wanted = self.arraysize if size is None else size
        while len(self._rows) < wanted and self._cursor is not None:
            await self._connection.run(self._fetch_more)
        return [self._rows.popleft() for _ in range(min(wanted, len(self._rows)))]

    async def fetchall(self) -> list[Any]:
        while self._cursor is not None:
            await self._connection.run(self._fetch_more)
        rows, self._rows = list(self._rows), deque()
        return rows

    def _fetch_more(self) -> None:
        assert self._cursor is not None
        more = self._cursor.fetchmany(PREFETCH)
        self._rows.extend(more)
        if len(more) < PREFETCH:
            self._cursor.close()
            self._cursor = None

    async def close(self) -> None:
        self._rows.clear()
        if self._cursor is not None:
            cursor, self._cursor = self._cursor, None
            await self._connection.run(cursor.close)

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Any]:
        while (row := await self.fetchone()) is not None:
            yield row
