"""Five hundred proxy requests over HTTP between two live nodes in two NATS regions, then the
semiannual report over HTTP: both sides count the same figures (the travel the residents were
spared among them), reconcile with no difference and cosign; a store changed behind the
exchange's back shows up as listed differences instead."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from services.registry.model import registry_day
from services.registry.tables import registry_requests
from services.reports.figures import TRAVEL_COST_PER_TRIP_FEN
from services.users.model import Role
from tests.support.api import DALANG, PERSONAL, QIANFENG, ApiNode, live_pair
from tests.support.live import wait_until, write_agreement
from tests.support.nats import TwoRegions
from tests.support.proxy_traffic import (
    answer_at_home,
    await_receipted,
    await_states,
    complete_at_home,
    expected_states,
    file_requests,
    post,
    supply_promised,
)

COUNT = 500


@pytest.fixture
async def pair(two_regions: TwoRegions, tmp_path: Path) -> AsyncIterator[tuple[ApiNode, ApiNode]]:
    agreement = write_agreement([DALANG, QIANFENG], tmp_path / "agreement.yaml", personal=PERSONAL)
    async with live_pair("sqlite", two_regions, tmp_path, agreement) as nodes:
        yield nodes


def half_year(node: ApiNode) -> str:
    """The half year the node's today falls in (the requests are filed today)."""
    day = registry_day(node.api.node.clock())
    return f"{day.year}-H{1 if day.month <= 6 else 2}"


async def draft(node: ApiNode, period: str) -> dict[str, Any]:
    """The node's own figures for `period`, exported as JSON."""
    headers = await node.token(Role.COMMAND_CENTRE)
    response = await node.client.get("/reports/export", params={"period": period}, headers=headers)
    assert response.status_code == 200, response.text
    figures: dict[str, Any] = response.json()["figures"]
    return figures


async def report_at(node: ApiNode, report_id: str, **expected: Any) -> dict[str, Any]:
    """Wait until `node` holds the report with `expected` values; the report."""
    headers = await node.token(Role.AUDITOR)
    got: dict[str, Any] = {}

    async def there() -> bool:
        nonlocal got
        response = await node.client.get(f"/reports/{report_id}", headers=headers)
        got = response.json() if response.status_code == 200 else {}
        return bool(got) and all(got.get(k) == v for k, v in expected.items())

    await wait_until(there, 30, f"report {report_id} with {expected}")
    return got


async def propose(dalang: ApiNode, report_id: str, period: str) -> None:
    proposal = {"agreement_id": "live-test", "period": period, "report_id": report_id}
    await post(dalang, "/reports", proposal, Role.COMMAND_CENTRE)


async def test_five_hundred_requests_are_reported_alike_cosigned_and_a_changed_row_differs(pair):
    dalang, qianfeng = pair
    ids = await file_requests(dalang, COUNT)
    await supply_promised(dalang, ids)
    await await_receipted(dalang, QIANFENG.id)
    await answer_at_home(qianfeng, ids)
    await complete_at_home(qianfeng, ids)
    expected = expected_states(COUNT)
    await await_states(dalang, expected, "every answer back at Dalang")
    await await_states(qianfeng, expected, "the same at Qianfeng")

    period = half_year(dalang)
    ours, theirs = await draft(dalang, period), await draft(qianfeng, period)
    assert ours["proxy_requests"] == theirs["proxy_requests"]
    saved = ours["proxy_requests"]["travel_cost_avoided_fen"]
    assert saved == expected["completed"] * TRAVEL_COST_PER_TRIP_FEN  # 760 yuan a trip
    filed = sum(sum(s.values()) for s in ours["proxy_requests"]["by_service"].values())
    assert filed == COUNT

    await propose(dalang, "RPT-e2e-agreed", period)
    await report_at(qianfeng, "RPT-e2e-agreed", state="proposed")
    differences = await post(qianfeng, "/reports/RPT-e2e-agreed/reconcile", {}, Role.COMMAND_CENTRE)
    assert differences == []
    await post(qianfeng, "/reports/RPT-e2e-agreed/cosign", {}, Role.COMMAND_CENTRE)
    await report_at(dalang, "RPT-e2e-agreed", state="partner_signed")
    await post(dalang, "/reports/RPT-e2e-agreed/cosign", {}, Role.COMMAND_CENTRE)
    for node in (dalang, qianfeng):
        final = await report_at(node, "RPT-e2e-agreed", final=True)
        assert [s["signed_by"] for s in final["signatures"]] == [QIANFENG.id, DALANG.id]
        assert final["figures"][DALANG.id]["proxy_requests"]["travel_cost_avoided_fen"] == saved

    # One completed request turned rejected in Qianfeng's store, outside any event.
    changed = f"{DALANG.id}:bulk-0000"
    async with qianfeng.api.node.db.transaction() as conn:
        row = registry_requests.c.request_id == changed
        await conn.execute(update(registry_requests).where(row).values(state="rejected"))
    await propose(dalang, "RPT-e2e-diverged", period)
    await report_at(qianfeng, "RPT-e2e-diverged", state="proposed")
    listed = await post(qianfeng, "/reports/RPT-e2e-diverged/reconcile", {}, Role.COMMAND_CENTRE)
    counts = ours["proxy_requests"]["by_service"]["id_card_renewal"]  # request 0's service
    figure = "proxy_requests.by_service.id_card_renewal"
    assert [(d["figure"], d["proposed"], d["counted"]) for d in listed] == [
        (f"{figure}.completed", counts["completed"], counts["completed"] - 1),
        (f"{figure}.rejected", counts.get("rejected", 0), counts.get("rejected", 0) + 1),
    ]

    # Each side lists both reports: the agreed one final, the diverged one still proposed.
    for node in (dalang, qianfeng):
        headers = await node.token(Role.AUDITOR)
        listed = await node.client.get("/reports", params={"period": period}, headers=headers)
        held = {r["report_id"]: (r["state"], r["final"], r["partner"]) for r in listed.json()}
        assert held == {
            "RPT-e2e-agreed": ("final", True, QIANFENG.id),
            "RPT-e2e-diverged": ("proposed", False, QIANFENG.id),
        }
