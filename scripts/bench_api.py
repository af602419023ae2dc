"""The bench's HTTP client: dispute reports posted to Dalang's API as a mediator would post them,
one a request (`POST /disputes`) or many a request (`POST /disputes/batch`), some in flight.

HTTP/1.1 by h11 (uvicorn's own protocol library) on asyncio's streams, not httpx as the tests and
the demo use: the client shares the machine's CPUs with the nodes it measures, and httpx took
2.0-2.4 ms of CPU a request here against 0.1 ms (the same requests to a server answering at
once, 16 in flight; docs/performance.md, "The bench's own client"). aiohttp costs what this
does, but nats-py imports it wherever it is installed: 7.6 MB more in every node measured.
"""

import asyncio
import time
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import h11
import orjson

from tests.chaos.conftest import dispute

TIMEOUT_S = 120.0
IDLE_S = 2.0
"""A kept-alive connection idle longer is not used again (uvicorn closes them after 5 s)."""


class ApiRefused(RuntimeError):
    """The node answered a report with something other than 201."""


def report(n: int) -> dict[str, Any]:
    """The body reporting the bench's `n`-th dispute (the event the in-process phases send)."""
    return dispute(n).model_dump(mode="json", exclude={"reported_in"})


class _Connection(NamedTuple):
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    http: h11.Connection
    idle_since: float = 0.0


class JsonClient:
    """POSTs JSON to one server over kept-alive connections, opened as requests need them."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        url = urlsplit(base_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.headers = [("host", url.netloc), ("content-type", "application/json")]
        self.headers += list(headers.items())
        self.idle: list[_Connection] = []

    async def _connection(self) -> _Connection:
        """The connection last kept alive, unless the server has closed it or may be about to;
        else a new one."""
        while self.idle:
            kept = self.idle.pop()
            if not kept.reader.at_eof() and time.monotonic() - kept.idle_since < IDLE_S:
                return kept
            kept.writer.close()
        reader, writer = await asyncio.open_connection(self.host, self.port)
        return _Connection(reader, writer, h11.Connection(h11.CLIENT))

    async def post(self, path: str, body: Any) -> tuple[int, Any]:
        """The answer's status and its JSON (None if it has no body)."""
        reader, writer, http, _ = await self._connection()
        try:
            status, content = await self._exchange(reader, writer, http, path, body)
        except BaseException:
            writer.close()
            raise
        if http.our_state is h11.DONE and http.their_state is h11.DONE:
            http.start_next_cycle()
            self.idle.append(_Connection(reader, writer, http, time.monotonic()))
        else:
            writer.close()
        return status, orjson.loads(content) if content else None

    async def _exchange(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        http: h11.Connection,
        path: str,
        body: Any,
    ) -> tuple[int, bytes]:
        data = orjson.dumps(body)
        headers = [*self.headers, ("content-length", str(len(data)))]
        request = h11.Request(method="POST", target=path, headers=headers)
        events = (request, h11.Data(data=data), h11.EndOfMessage())
        writer.write(b"".join(http.send(event) or b"" for event in events))
        status, chunks = 0, []
        while True:
            try:
                event = http.next_event()
            except h11.RemoteProtocolError as exc:
                raise ConnectionError(f"POST {path}: no answer from the server: {exc}") from exc
            if event is h11.NEED_DATA:
                http.receive_data(await asyncio.wait_for(reader.read(65536), TIMEOUT_S))
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                chunks.append(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return status, b"".join(chunks)

    async def close(self) -> None:
        for kept in self.idle:
            kept.writer.close()
        self.idle.clear()


async def post_reports(
    ready: dict[str, Any],
    first: int,
    count: int,
    batch: int | None,
    in_flight: int,
    rate: float | None = None,
) -> dict[str, Any]:
    """Disputes first..first+count-1 reported to the node that said `ready`: `batch` a request
    to /disputes/batch, or one a request to /disputes (batch None); `in_flight` requests at a
    time, as fast as they are answered or each sent at its time for `rate` reports/s. When the
    first request went and the last was answered (POSIX seconds), each report's event id
    (`accepted`) and how long each request took to be answered (`requests_ms`)."""
    size = batch or 1
    starts = iter(range(first, first + count, size))
    accepted: list[str] = []
    requests_ms: list[float] = []
    client = JsonClient(ready["api"], {"authorization": f"Bearer {ready['token']}"})

    async def one_at_a_time() -> None:
        for start in starts:  # shared: each request takes the next reports
            if rate:  # paced from the start: a slow answer is caught up, the load kept
                await asyncio.sleep(max(0.0, started + (start - first) / rate - time.time()))
            numbers = range(start, min(start + size, first + count))
            sent = time.perf_counter()
            if batch is None:
                status, answer = await client.post("/disputes", report(start))
            else:
                body = {"reports": [report(n) for n in numbers]}
                status, answer = await client.post("/disputes/batch", body)
            requests_ms.append((time.perf_counter() - sent) * 1000)
            if status != 201:
                raise ApiRefused(f"{status}: {orjson.dumps(answer)[:500].decode(errors='replace')}")
            steps = [answer] if batch is None else answer["disputes"]
            accepted.extend(step["event_id"] for step in steps)

    started = time.time()
    try:
        await asyncio.gather(*(one_at_a_time() for _ in range(in_flight)))
    finally:
        await client.close()
    return {
        "started": started,
        "ended": time.time(),
        "accepted": accepted,
        "requests_ms": requests_ms,
    }
