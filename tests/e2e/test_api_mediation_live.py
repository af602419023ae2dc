"""The seed linked mediation over HTTP between two live nodes in two NATS regions, as the demo
plays it (gateway/demo/mediation.py): each side's users work their own node's API; every step
crosses NATS before the other side takes the next."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from gateway.demo.mediation import linked_mediation
from gateway.demo.seed import DISPUTE_ID
from services.users.model import Role
from tests.support.api import DALANG, QIANFENG, ApiNode, live_pair
from tests.support.api_cases import LAO_HUANG, PERSONAL
from tests.support.databases import BACKENDS
from tests.support.live import write_agreement
from tests.support.nats import TwoRegions

STEPS = [
    "mediation.requested",
    "mediation.accepted",
    "mediation.task_assigned",
    "mediation.task_assigned",
    "mediation.findings_reported",
    "mediation.findings_reported",
    "mediation.outcome_proposed",
    "mediation.outcome_signed",
    "mediation.outcome_signed",
    "mediation.closed",
]


@pytest.fixture(params=BACKENDS)
async def pair(
    request: pytest.FixtureRequest, two_regions: TwoRegions, tmp_path: Path
) -> AsyncIterator[tuple[ApiNode, ApiNode]]:
    agreement = write_agreement([DALANG, QIANFENG], tmp_path / "agreement.yaml", personal=PERSONAL)
    async with live_pair(request.param, two_regions, tmp_path, agreement) as nodes:
        yield nodes


async def _case(node: ApiNode, path: str) -> dict[str, Any]:
    response = await node.client.get(path, headers=await node.token(Role.MEDIATOR))
    assert response.status_code == 200, response.text
    case: dict[str, Any] = response.json()
    return case


async def test_seed_case_over_http_across_two_regions_closes_the_dispute_on_both(pair):
    dalang, qianfeng = pair
    told: list[str] = []
    ours, theirs = await linked_mediation(dalang, qianfeng, told.append)

    assert ours["timeline"] == theirs["timeline"]
    assert [entry["type"] for entry in ours["timeline"]] == STEPS
    assert [s["party_jurisdiction"] for s in ours["signatures"]] == [DALANG.id, QIANFENG.id]
    for node in (dalang, qianfeng):
        dispute = await _case(node, f"/disputes/{DISPUTE_ID}")
        assert (dispute["state"], dispute["closure"]) == ("closed", "resolved")
        assert dispute["compensation_fen"] == 98_000
    there = await _case(qianfeng, f"/disputes/{DISPUTE_ID}")
    assert there["parties"][0]["id_number"] == LAO_HUANG.id_number  # sealed, opened at home
    assert any("980 yuan" in line for line in told)
