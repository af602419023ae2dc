"""The bench's HTTP client: dispute reports posted to Dalang's API as a mediator would post them,
one a request (`POST /disputes`) or many a request (`POST /disputes/batch`), some in flight."""

import asyncio
import time
from typing import Any

import httpx

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
    limits = httpx.Limits(max_connections=in_flight)
    async with httpx.AsyncClient(
        base_url=ready["api"], headers=headers, limits=limits, timeout=120
    ) as client:

        async def one_at_a_time() -> None:
            for start in starts:  # shared: each request takes the next reports
                if rate:  # paced from the start: a slow answer is caught up, the load kept
                    await asyncio.sleep(max(0.0, started + (start - first) / rate - time.time()))
                numbers = range(start, min(start + size, first + count))
                sent = time.perf_counter()
                if batch is None:
                    response = await client.post("/disputes", json=report(start))
                else:
                    body = {"reports": [report(n) for n in numbers]}
                    response = await client.post("/disputes/batch", json=body)
                requests_ms.append((time.perf_counter() - sent) * 1000)
                if response.status_code != 201:
                    raise ApiRefused(f"{response.status_code}: {response.text[:500]}")
                steps = [response.json()] if batch is None else response.json()["disputes"]
                accepted.extend(step["event_id"] for step in steps)

        started = time.time()
        await asyncio.gather(*(one_at_a_time() for _ in range(in_flight)))
    return {
        "started": started,
        "ended": time.time(),
        "accepted": accepted,
        "requests_ms": requests_ms,
    }
