"""aiosqlite's connection, each call run at once on the event loop's thread.

aiosqlite hands every call (a cursor, an execute, a fetch, a close, a commit) to a thread of its
own and wakes the loop when it is done: three or four hand-offs per statement through
SQLAlchemy's adapter. On this project's 2-CPU machine one hand-off cost 150-300 µs of CPU
(a queue, a thread wake-up, the loop's self-pipe), so an empty transaction cost ~1 ms and each
statement ~0.5 ms, while SQLite itself answers a local file in microseconds. The node's units of
work already queue on its own writer lock (services.store.database), so a call never waits for
another of this process's connections; another process holding the file (a CLI command) can
make one wait, up to the busy timeout, as it could before on the store's thread.
"""

import sqlite3
from collections.abc import Callable, Generator
from functools import partial
from typing import Any

import aiosqlite

ITER_CHUNK_SIZE = 64


class _RunAtOnce:
    """Stands in for the queue of aiosqlite's thread (which SQLAlchemy's adapter also feeds
    directly): each (future, call) put is run at once and its future settled."""

    def put_nowait(self, item: tuple[Any, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:  # handed to the awaiting caller, as the thread would
            if future is not None:
                future.set_exception(exc)
            return
        if future is not None:
            future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection without its thread: every call runs where it is awaited."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], iter_chunk_size: int) -> None:
        super().__init__(connector, iter_chunk_size)
        self._tx = _RunAtOnce()  # type: ignore[assignment]

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def _connect(self) -> "InlineConnection":
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Generator[Any, None, "InlineConnection"]:
        return self._connect().__await__()


def inline_creator(path: str) -> Callable[[], InlineConnection]:
    """What create_async_engine(async_creator=...) calls for each new connection to `path`."""
    connector = partial(sqlite3.connect, path, check_same_thread=False)
    return lambda: InlineConnection(connector, ITER_CHUNK_SIZE)
