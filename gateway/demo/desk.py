"""One bureau's staff at their node's HTTP API: each step is one request with the token of the
role that does the work, and each wait polls the node until the partner's step has arrived."""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from services.users.model import Role

Say = Callable[[str], None]
"""Where the scenario tells what happens, one line at a time."""
Case = dict[str, Any]
Check = Callable[[Case], bool]


class Desk(Protocol):
    """A node's API as its users call it: an HTTP client and a token per role."""

    client: httpx.AsyncClient

    async def token(self, role: Role) -> dict[str, str]:
        """The Authorization header of a user with `role`."""
        ...


@dataclass
class ApiDesk:
    """A running node's API over HTTP, with the demo users' tokens by role."""

    client: httpx.AsyncClient
    tokens: dict[Role, str] = field(default_factory=dict)

    async def token(self, role: Role) -> dict[str, str]:
        """The Authorization header of this node's demo user with `role`."""
        return {"Authorization": f"Bearer {self.tokens[role]}"}


class StepRefused(RuntimeError):
    """The node answered a step with an error, or never showed what was waited for."""


async def act(desk: Desk, role: Role, path: str, body: dict[str, Any]) -> Any:
    """POST `body` to `path` as `role`; the JSON answer, or StepRefused with the problem."""
    response = await desk.client.post(path, json=body, headers=await desk.token(role))
    if response.status_code not in (200, 201):
        raise StepRefused(f"POST {path}: {response.status_code} {response.text}")
    return response.json()


async def read(desk: Desk, role: Role, path: str) -> Any:
    """GET `path` as `role`; the JSON answer, or StepRefused with the problem."""
    response = await desk.client.get(path, headers=await desk.token(role))
    if response.status_code != 200:
        raise StepRefused(f"GET {path}: {response.status_code} {response.text}")
    return response.json()


async def seen(
    desk: Desk,
    path: str,
    what: str,
    until: Check = lambda case: True,
    *,
    role: Role = Role.MEDIATOR,
    timeout: float = 30.0,
    **expected: Any,
) -> Case:
    """Poll `path` as `role` until the case is there with `expected` values (and `until`)."""
    headers = await desk.token(role)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await desk.client.get(path, headers=headers)
        case: Case = response.json() if response.status_code == 200 else {}
        if case and all(case.get(k) == v for k, v in expected.items()) and until(case):
            return case
        if asyncio.get_running_loop().time() > deadline:
            raise StepRefused(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.1)
