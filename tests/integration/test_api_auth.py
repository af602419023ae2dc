"""Who may call the API: bearer tokens of users on file, and the roles each route allows,
checked against the real store (SQLite and PostgreSQL)."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.users.accounts import add_user, revoke_user
from services.users.model import Role
from tests.support.api import (
    ApiNode,
    dalang_without_nats,
)
from tests.support.databases import BACKENDS

PROBLEM = "application/problem+json"


@pytest.fixture(params=BACKENDS)
async def dalang(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ApiNode]:
    async with dalang_without_nats(request.param, tmp_path) as node:
        yield node


async def test_no_token_is_401_with_a_bearer_challenge(dalang):
    response = await dalang.client.get("/registry/requests")

    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["detail"] == "a bearer token is required"


@pytest.mark.parametrize(
    "authorization",
    ["Bearer not-a-token-of-anyone", "Basic Y2xlcms6c2VjcmV0", "Bearer", "token abc"],
)
async def test_unknown_or_malformed_token_is_401(dalang, authorization):
    await dalang.token(Role.ADMIN)  # a user exists: the token is still nobody's

    response = await dalang.client.get("/users/me", headers={"Authorization": authorization})

    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM


async def test_revoked_token_is_401_from_then_on(dalang):
    headers = await dalang.token(Role.WINDOW_CLERK, "clerk.li")
    assert (await dalang.client.get("/users/me", headers=headers)).status_code == 200
    async with dalang.api.node.db.transaction() as conn:
        await revoke_user(conn, "clerk.li", dalang.api.node.clock())

    response = await dalang.client.get("/users/me", headers=headers)

    assert response.status_code == 401
    assert response.json()["detail"] == "the token is unknown or revoked"


async def test_token_names_its_user_and_role(dalang):
    headers = await dalang.token(Role.COMMAND_CENTRE, "centre.zhao")

    response = await dalang.client.get("/users/me", headers=headers)

    assert response.json() == {"name": "centre.zhao", "role": "command_centre"}


@pytest.mark.parametrize(
    ("method", "path", "allowed", "refused"),
    [
        ("GET", "/registry/requests", Role.COMMAND_CENTRE, Role.MEDIATOR),
        ("GET", "/registry/requests", Role.AUDITOR, Role.OFFICER),
        ("GET", "/registry/overdue", Role.WINDOW_CLERK, Role.MEDIATOR),
        ("POST", "/registry/requests", Role.WINDOW_CLERK, Role.COMMAND_CENTRE),
        ("POST", "/registry/requests", Role.WINDOW_CLERK, Role.ADMIN),
        ("GET", "/quarantine", Role.AUDITOR, Role.WINDOW_CLERK),
        ("GET", "/quarantine", Role.ADMIN, Role.COMMAND_CENTRE),
        ("POST", "/quarantine/1/redrive", Role.ADMIN, Role.AUDITOR),
        ("GET", "/audit/access-log", Role.AUDITOR, Role.ADMIN),
    ],
)
async def test_wrong_role_is_403_and_an_allowed_one_passes(dalang, method, path, allowed, refused):
    refused_headers = await dalang.token(refused, "refused")
    allowed_headers = await dalang.token(allowed, "allowed")

    denied = await dalang.client.request(method, path, headers=refused_headers, json={})
    passed = await dalang.client.request(method, path, headers=allowed_headers, json={})

    assert denied.status_code == 403
    assert denied.headers["content-type"] == PROBLEM
    assert denied.json()["detail"].startswith(f"the role {refused.value} may not do this")
    # Past the role check: the answer is the route's own (a list, an empty body, no entry).
    assert passed.status_code in (200, 404, 422), passed.text


async def test_probes_and_metrics_need_no_token(dalang):
    for path in ("/healthz", "/metrics"):
        assert (await dalang.client.get(path)).status_code == 200


async def test_a_caller_is_let_in_while_a_unit_of_work_holds_the_store(dalang):
    headers = await dalang.token(Role.MEDIATOR, "assistant.tang")
    node = dalang.api.node
    holding, release = asyncio.Event(), asyncio.Event()

    async def long_unit_of_work() -> None:
        async with node.unit_of_work() as conn:
            await add_user(conn, "clerk.wu", Role.WINDOW_CLERK, node.clock())  # holds the lock
            holding.set()
            await release.wait()

    writer = asyncio.create_task(long_unit_of_work())
    await holding.wait()
    try:
        # On SQLite a request's writes queue behind it; finding who calls must not.
        response = await asyncio.wait_for(dalang.client.get("/users/me", headers=headers), 5)
    finally:
        release.set()
        await writer
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "assistant.tang"
