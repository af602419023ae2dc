"""A window's day of proxy requests over HTTP: many Qianfeng residents filed at Dalang's window
(mixed services, some materials promised for later), then answered by Qianfeng's registry.

Each request's fate is fixed by its number (`fate`), so a test knows what each side must count.
"""

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from services.registry.catalogue import service_catalogue
from services.registry.model import registry_day
from services.users.model import Role
from tests.support.api import DALANG, QIANFENG, ApiNode, b64, metric
from tests.support.ids import identity_number
from tests.support.live import wait_until

CLERK = {"name": "Window clerk Li", "home_jurisdiction": DALANG.id}
REGISTRAR = {"name": "Registrar Chen", "home_jurisdiction": QIANFENG.id}
PARALLEL = 8  # requests in flight at once, as several window clerks would


class Fate(StrEnum):
    """What becomes of a request: its final state on both sides, and how it gets there."""

    COMPLETED = "completed"  # accepted, completed
    COMPLETED_LATE = "completed_late"  # filed with a material promised, supplied, completed
    REJECTED = "rejected"  # rejected without acceptance
    OPEN = "open"  # accepted, a promised material still owed at the end


STATE = {
    Fate.COMPLETED: "completed",
    Fate.COMPLETED_LATE: "completed",
    Fate.REJECTED: "rejected",
    Fate.OPEN: "accepted",
}


def fate(n: int) -> Fate:
    """Request n's fate: 6 in 10 completed at once, 2 completed after a promised material,
    1 rejected, 1 still open."""
    cycle = [Fate.COMPLETED] * 6 + [Fate.COMPLETED_LATE] * 2 + [Fate.REJECTED, Fate.OPEN]
    return cycle[n % 10]


def filing(n: int, today: date) -> dict[str, Any]:
    """Request n: a Qianfeng resident, a service from the catalogue in turn, its materials
    scanned (the first one promised for next week when its fate says so)."""
    services = service_catalogue().services
    service = services[n % len(services)]
    materials = [m.code for m in service.materials]
    late = fate(n) in (Fate.COMPLETED_LATE, Fate.OPEN)
    promised = materials[:1] if late else []
    return {
        "service_code": service.code,
        "applicant": {
            "name": f"Resident {n}",
            "home_jurisdiction": QIANFENG.id,
            "id_number": identity_number(sequence=n % 1000),
            "phone": f"138{n:08d}",
            "address": f"Guangxing town, house {n}",
        },
        "window_name": "Xiangtou hometown policing station",
        "responsible_clerk": CLERK,
        "files": [
            {"material": m, "content_base64": b64(f"scan {n} {m}".encode())}
            for m in materials
            if m not in promised
        ],
        "promised": [{"name": m, "promised_on": str(today + timedelta(days=7))} for m in promised],
        "request_id": f"{DALANG.id}:bulk-{n:04d}",
    }


def expected_states(count: int) -> Counter[str]:
    """How many of `count` requests end in each state."""
    return Counter(STATE[fate(n)] for n in range(count))


async def in_parallel(steps: Iterable[Callable[[], Awaitable[None]]]) -> None:
    """Run `steps` with at most PARALLEL in flight."""
    gate = asyncio.Semaphore(PARALLEL)

    async def one(step: Callable[[], Awaitable[None]]) -> None:
        async with gate:
            await step()

    await asyncio.gather(*(one(step) for step in steps))


async def post(node: ApiNode, path: str, body: dict[str, Any], role: Role) -> dict[str, Any]:
    """POST as a user of `role`; the step must succeed."""
    response = await node.client.post(path, json=body, headers=await node.token(role))
    assert response.status_code in (200, 201), f"{path}: {response.text}"
    result: dict[str, Any] = response.json()
    return result


async def file_requests(dalang: ApiNode, count: int) -> list[str]:
    """File `count` requests at Dalang's window; their ids, in order."""
    await dalang.token(Role.WINDOW_CLERK)  # the clerk on file before the requests race
    today = registry_day(dalang.api.node.clock())
    bodies = [filing(n, today) for n in range(count)]

    def step(body: dict[str, Any]) -> Callable[[], Awaitable[None]]:
        return lambda: _void(post(dalang, "/registry/requests", body, Role.WINDOW_CLERK))

    await in_parallel(step(b) for b in bodies)
    return [b["request_id"] for b in bodies]


async def _void(call: Awaitable[Any]) -> None:
    await call


async def answer_at_home(qianfeng: ApiNode, ids: list[str]) -> None:
    """Qianfeng's registry takes each request as its fate says (the window supplies the
    promised materials in between: see `supply_promised`)."""

    async def answer(n: int, path: str) -> None:
        if fate(n) is Fate.REJECTED:
            reason = {"reason": "The applicant's household moved out of Qianfeng."}
            await post(qianfeng, f"{path}/reject", reason, Role.WINDOW_CLERK)
            return
        await post(qianfeng, f"{path}/accept", {"handling_clerk": REGISTRAR}, Role.WINDOW_CLERK)

    await qianfeng.token(Role.WINDOW_CLERK)

    await in_parallel(
        (lambda n=n, i=i: answer(n, f"/registry/requests/{i}")) for n, i in enumerate(ids)
    )


async def supply_promised(dalang: ApiNode, ids: list[str]) -> None:
    """The window sends the material promised for every request fated to complete late."""
    today = registry_day(dalang.api.node.clock())

    async def supply(n: int, request_id: str) -> None:
        promised = filing(n, today)["promised"][0]["name"]
        files = [{"material": promised, "content_base64": b64(f"late scan {n}".encode())}]
        path = f"/registry/requests/{request_id}/materials"
        await post(dalang, path, {"files": files}, Role.WINDOW_CLERK)

    late = [(n, i) for n, i in enumerate(ids) if fate(n) is Fate.COMPLETED_LATE]
    await in_parallel((lambda n=n, i=i: supply(n, i)) for n, i in late)


async def complete_at_home(qianfeng: ApiNode, ids: list[str]) -> None:
    """Qianfeng completes every request fated to complete (their materials all in)."""
    done = {"result_reference": "QF-ID-2026", "delivery": "window_pickup"}
    due = [
        f"/registry/requests/{i}/complete"
        for n, i in enumerate(ids)
        if STATE[fate(n)] == "completed"
    ]
    await in_parallel(
        (lambda path=path: _void(post(qianfeng, path, done, Role.WINDOW_CLERK))) for path in due
    )


async def states(node: ApiNode) -> Counter[str]:
    """How many requests this node holds in each state."""
    headers = await node.token(Role.COMMAND_CENTRE)
    found: Counter[str] = Counter()
    offset = 0
    while True:
        params = {"limit": "500", "offset": str(offset)}
        page = (await node.client.get("/registry/requests", params=params, headers=headers)).json()
        found.update(r["state"] for r in page)
        if len(page) < 500:
            return found
        offset += 500


async def await_receipted(sender: ApiNode, partner: str) -> None:
    """Wait until the partner has applied and receipted everything `sender` sent it."""

    async def receipted() -> bool:
        text = (await sender.client.get("/metrics")).text
        return (
            metric(text, "fengqiao_outbox_pending", partner=partner) == 0
            and metric(text, "fengqiao_outbox_unreceipted", partner=partner) == 0
        )

    await wait_until(receipted, 60, f"everything sent to {partner} applied and receipted")


async def await_states(node: ApiNode, expected: Counter[str], what: str) -> None:
    """Wait until `node` holds exactly `expected` requests by state."""

    async def there() -> bool:
        return await states(node) == expected

    await wait_until(there, 60, what)
