"""The bench's HTTP client: dispute reports posted to Dalang's API as a mediator would post them,
one a request (`POST /disputes`) or many a request (`POST /disputes/batch`), some in flight.

aiohttp, not httpx as the tests and the demo use: the client shares the machine's CPUs with
the nodes it measures, and with httpx it took 1.9-2.5 ms of CPU a single report against 0.8-1.0
with aiohttp (docs/performance.md, "The bench's own client").
"""

import asyncio
import time
from typing import Any

import aiohttp

from tests.chaos.conftest import dispute


class ApiRefused(RuntimeError):
    """The node answered a report with something other than 201."""


def report(n: int) -> dict[str, Any]:
    """The body reporting the bench's `n`-th dispute (the event the in-process phases send)."""
    return dispute(n).model_dump(mode="json", exclude={"reported_in"})


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
    headers = {"Authorization": f"Bearer {ready['token']}"}
    async with aiohttp.ClientSession(
        ready["api"],
        headers=headers,
        connector=aiohttp.TCPConnector(limit=in_flight),
        timeout=aiohttp.ClientTimeout(total=120),
    ) as client:

        async def one_at_a_time() -> None:
            for start in starts:  # shared: each request takes the next reports
                if rate:  # paced from the start: a slow answer is caught up, the load kept
                    await asyncio.sleep(max(0.0, started + (start - first) / rate - time.time()))
                numbers = range(start, min(start + size, first + count))
                sent = time.perf_counter()
                if batch is None:
                    path, body = "/disputes", report(start)
                else:
                    path, body = "/disputes/batch", {"reports": [report(n) for n in numbers]}
                async with client.post(path, json=body) as response:
                    if response.status != 201:
                        raise ApiRefused(f"{response.status}: {(await response.text())[:500]}")
                    answer = await response.json()
                requests_ms.append((time.perf_counter() - sent) * 1000)
                steps = [answer] if batch is None else answer["disputes"]
                accepted.extend(step["event_id"] for step in steps)

        started = time.time()
        await asyncio.gather(*(one_at_a_time() for _ in range(in_flight)))
    return {
        "started": started,
        "ended": time.time(),
        "accepted": accepted,
        "requests_ms": requests_ms,
    }
