"""The home registry's refusals over HTTP between two live nodes: a request that crossed NATS
cannot be completed while a promised material is still owed (409), is not stepped by a role
that does not do the work (403), nor by a malformed body (422); the request stays as it was
on both sides, and completes once the window has sent the material."""

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from services.registry.model import registry_day
from services.users.model import Role
from tests.support.api import (
    DALANG,
    QIANFENG,
    ApiNode,
    b64,
    filing,
    live_pair,
    registry_agreement,
)
from tests.support.live import wait_until
from tests.support.nats import TwoRegions
from tests.support.proxy_traffic import REGISTRAR, await_receipted, post

DONE = {"result_reference": "QF-ID-1", "delivery": "window_pickup"}


@pytest.fixture
async def pair(two_regions: TwoRegions, tmp_path: Path) -> AsyncIterator[tuple[ApiNode, ApiNode]]:
    agreement = registry_agreement([DALANG, QIANFENG], tmp_path / "agreement.yaml")
    async with live_pair("sqlite", two_regions, tmp_path, agreement) as nodes:
        yield nodes


async def _state(node: ApiNode, path: str) -> str:
    got = await node.client.get(path, headers=await node.token(Role.WINDOW_CLERK))
    return str(got.json()["summary"]["state"])


async def test_home_registry_refusals_leave_the_request_as_it_was_on_both_sides(pair):
    dalang, qianfeng = pair
    week = registry_day(dalang.api.node.clock()) + timedelta(days=7)
    body = filing(files=filing()["files"][:2])  # the photo receipt promised for next week
    body["promised"] = [{"name": "photo_receipt", "promised_on": str(week)}]
    filed = await post(dalang, "/registry/requests", body, Role.WINDOW_CLERK)
    path = f"/registry/requests/{filed['request_id']}"
    await await_receipted(dalang, QIANFENG.id)
    await post(qianfeng, f"{path}/accept", {"handling_clerk": REGISTRAR}, Role.WINDOW_CLERK)
    clerk = await qianfeng.token(Role.WINDOW_CLERK)

    owed = await qianfeng.client.post(f"{path}/complete", json=DONE, headers=clerk)
    assert (owed.status_code, owed.json()["type"]) == (
        409,
        "/problems/registry_materials_outstanding",
    )
    command_centre = await qianfeng.token(Role.COMMAND_CENTRE)
    wrong_role = await qianfeng.client.post(f"{path}/complete", json=DONE, headers=command_centre)
    assert wrong_role.status_code == 403
    bad = await qianfeng.client.post(f"{path}/complete", json={"delivery": "pigeon"}, headers=clerk)
    assert bad.status_code == 422
    await await_receipted(qianfeng, DALANG.id)
    assert (await _state(qianfeng, path), await _state(dalang, path)) == ("accepted", "accepted")

    late = [{"material": "photo_receipt", "content_base64": b64(b"scan: photo receipt")}]
    await post(dalang, f"{path}/materials", {"files": late}, Role.WINDOW_CLERK)
    await await_receipted(dalang, QIANFENG.id)
    await post(qianfeng, f"{path}/complete", DONE, Role.WINDOW_CLERK)

    async def completed_at_the_window() -> bool:
        return await _state(dalang, path) == "completed"

    await wait_until(completed_at_the_window, 30, "the completion back at Dalang")
