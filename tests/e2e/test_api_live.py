"""The API over live nodes: a request filed over HTTP at Dalang's window reaches Qianfeng's
registry across two NATS regions and is accepted there over HTTP; readiness follows NATS."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.runtime import NodeRuntime
from services.users.model import Role
from tests.support.api import (
    DALANG,
    ID_NUMBER,
    QIANFENG,
    ApiNode,
    api_of_runtime,
    filing,
    live_pair,
    metric,
    registry_agreement,
)
from tests.support.databases import BACKENDS
from tests.support.live import node_settings, wait_until
from tests.support.nats import NatsServer, TwoRegions

REGISTRAR = {"name": "Registrar Chen", "home_jurisdiction": QIANFENG.id}


async def _metric(node: ApiNode, name: str, **labels: str) -> float:
    return metric((await node.client.get("/metrics")).text, name, **labels)


@pytest.fixture(params=BACKENDS)
async def pair(
    request: pytest.FixtureRequest, two_regions: TwoRegions, tmp_path: Path
) -> AsyncIterator[tuple[ApiNode, ApiNode]]:
    agreement = registry_agreement([DALANG, QIANFENG], tmp_path / "agreement.yaml")
    async with live_pair(request.param, two_regions, tmp_path, agreement) as nodes:
        yield nodes


async def test_request_filed_over_http_reaches_the_home_registry_and_its_answer_comes_back(pair):
    dalang, qianfeng = pair
    window_clerk = await dalang.token(Role.WINDOW_CLERK, "clerk.li")
    registrar = await qianfeng.token(Role.WINDOW_CLERK, "registrar.chen")
    assert (await dalang.client.get("/readyz")).json()["checks"] == {"store": "ok", "nats": "ok"}

    filed = await dalang.client.post("/registry/requests", json=filing(), headers=window_clerk)
    assert filed.status_code == 201, filed.text
    path = filed.headers["location"]

    async def arrived() -> bool:
        return (await qianfeng.client.get(path, headers=registrar)).status_code == 200

    await wait_until(arrived, 30, "the request on file at Qianfeng")
    there = (await qianfeng.client.get(path, headers=registrar)).json()
    assert there["summary"]["state"] == "requested"
    assert there["applicant"]["id_number"] == ID_NUMBER  # sealed on the wire, opened at home

    accepted = await qianfeng.client.post(
        f"{path}/accept", json={"handling_clerk": REGISTRAR}, headers=registrar
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "accepted"

    async def answered() -> bool:
        got = await dalang.client.get(path, headers=window_clerk)
        return bool(got.json()["summary"]["state"] == "accepted")

    await wait_until(answered, 30, "the acceptance back at Dalang")
    ours = (await dalang.client.get(path, headers=window_clerk)).json()
    theirs = (await qianfeng.client.get(path, headers=registrar)).json()
    assert ours["timeline"] == theirs["timeline"]
    assert [e["type"] for e in ours["timeline"]] == [
        "registry.proxy_requested",
        "registry.accepted",
    ]


async def test_metrics_show_traffic_delivered_and_receipted_both_ways(pair):
    dalang, qianfeng = pair
    clerk = await dalang.token(Role.WINDOW_CLERK)
    for _ in range(3):
        filed = await dalang.client.post("/registry/requests", json=filing(), headers=clerk)
        assert filed.status_code == 201, filed.text

    async def receipted() -> bool:
        # One scrape per node and look: two scrapes of Dalang's could straddle the relay's
        # round, the first seeing the requests not yet published, the second all published.
        ours = (await dalang.client.get("/metrics")).text
        if metric(ours, "fengqiao_outbox_pending", partner=QIANFENG.id) or metric(
            ours, "fengqiao_outbox_unreceipted", partner=QIANFENG.id
        ):
            return False
        # All receipted: Qianfeng applied them, and counts them.
        return await _metric(qianfeng, "fengqiao_inbox_applied_total", sender=DALANG.id) >= 3

    await wait_until(receipted, 30, "three requests applied at Qianfeng and receipted")
    text = (await dalang.client.get("/metrics")).text
    assert metric(text, "fengqiao_quarantine_held") == 0
    assert metric(text, "fengqiao_outbox_oldest_unreceipted_age_seconds", partner=QIANFENG.id) == 0
    # Qianfeng's receipts are events Dalang applied.
    assert metric(text, "fengqiao_inbox_applied_total", sender=QIANFENG.id) >= 1


async def test_readyz_is_503_naming_nats_while_its_server_is_down(
    nats_single: NatsServer, tmp_path: Path
) -> None:
    agreement = registry_agreement([DALANG, QIANFENG], tmp_path / "agreement.yaml")
    runtime = NodeRuntime(
        node_settings(
            DALANG, tmp_path, nats_single.url, "dalang", {QIANFENG.id: "dalang"}, agreement
        )
    )
    await runtime.start()
    try:
        async with api_of_runtime(runtime) as dalang:
            assert (await dalang.client.get("/readyz")).status_code == 200

            nats_single.stop()

            async def unready() -> bool:
                return (await dalang.client.get("/readyz")).status_code == 503

            await wait_until(unready, 15, "/readyz to answer 503")
            down = await dalang.client.get("/readyz")
            assert down.headers["content-type"] == "application/problem+json"
            assert down.json()["detail"] == "nats: not connected"
            assert down.json()["checks"]["store"] == "ok"
            assert (await dalang.client.get("/healthz")).status_code == 200

            nats_single.start()

            async def ready() -> bool:
                return (await dalang.client.get("/readyz")).status_code == 200

            await wait_until(ready, 15, "/readyz to answer 200 again")
    finally:
        await runtime.stop()
