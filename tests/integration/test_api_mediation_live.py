"""The seed linked mediation over HTTP between two live nodes in two NATS regions: each side's
users work their own node's API; every step crosses NATS before the other side takes the next."""

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from services.runtime import NodeRuntime
from services.users.model import Role
from tests.support.api import DALANG, QIANFENG, ApiNode, api_of_runtime, drop_store, store_url
from tests.support.api_cases import LAO_HUANG, PERSONAL, dispute_report
from tests.support.databases import BACKENDS
from tests.support.live import node_settings, wait_until, write_agreement
from tests.support.nats import TwoRegions

D, M = "DL-2022-0001", "LM-2022-0001"
ASSISTANT = {"name": "Police assistant Tang", "home_jurisdiction": QIANFENG.id}
OUTCOME: dict[str, Any] = {"terms": ["老黄 gets the land back", "老程 pays the medical costs"]}


@pytest.fixture(params=BACKENDS)
async def pair(
    request: pytest.FixtureRequest, two_regions: TwoRegions, tmp_path: Path
) -> AsyncIterator[tuple[ApiNode, ApiNode]]:
    agreement = write_agreement([DALANG, QIANFENG], tmp_path / "agreement.yaml", personal=PERSONAL)
    urls = [await store_url(request.param, tmp_path / b.id) for b in (DALANG, QIANFENG)]
    sides = (
        (DALANG, two_regions.leaf.url, "dalang", {QIANFENG.id: "qianfeng"}),
        (QIANFENG, two_regions.hub.url, "qianfeng", {DALANG.id: "dalang"}),
    )
    runtimes = [
        NodeRuntime(
            node_settings(bureau, tmp_path, nats, domain, partners, agreement, database_url=url)
        )
        for (bureau, nats, domain, partners), url in zip(sides, urls, strict=True)
    ]
    try:
        for runtime in runtimes:
            await runtime.start()
        async with api_of_runtime(runtimes[0]) as dalang, api_of_runtime(runtimes[1]) as qianfeng:
            yield dalang, qianfeng
    finally:
        for runtime in runtimes:
            await runtime.stop()
        for url in urls:
            await drop_store(url)


async def _step(node: ApiNode, role: Role, path: str, body: dict[str, Any]) -> None:
    response = await node.client.post(path, json=body, headers=await node.token(role))
    assert response.status_code in (200, 201), response.text


async def _seen(
    node: ApiNode,
    path: str,
    what: str,
    until: Callable[[dict[str, Any]], bool] = lambda case: True,
    **expected: Any,
) -> dict[str, Any]:
    """Wait until `node` shows the case at `path` with `expected` values (and `until`)."""
    headers = await node.token(Role.MEDIATOR)
    got: dict[str, Any] = {}

    async def there() -> bool:
        nonlocal got
        response = await node.client.get(path, headers=headers)
        got = response.json() if response.status_code == 200 else {}
        return bool(got) and all(got.get(k) == v for k, v in expected.items()) and until(got)

    await wait_until(there, 30, what)
    return got


async def test_seed_case_over_http_across_two_regions_resolves_the_dispute_on_both(pair):
    dalang, qianfeng = pair
    await _step(dalang, Role.MEDIATOR, "/disputes", dispute_report(dispute_id=D))
    there = await _seen(qianfeng, f"/disputes/{D}", "the dispute at Qianfeng")
    assert there["parties"][0]["id_number"] == LAO_HUANG.id_number  # sealed, opened at home

    request = {
        "mediation_id": M,
        "dispute_id": D,
        "mediator": ASSISTANT,
        "summary": "A fight.",
        "requested_part": "Establish who owns the land.",
    }
    await _step(dalang, Role.MEDIATOR, "/mediations", request)
    await _seen(qianfeng, f"/mediations/{M}", "the request at Qianfeng", state="requested")
    officer = {"name": "Officer Li", "home_jurisdiction": QIANFENG.id}
    await _step(qianfeng, Role.OFFICER, f"/mediations/{M}/accept", {"officer": officer})
    await _seen(dalang, f"/mediations/{M}", "the acceptance at Dalang", state="accepted")
    task = {"assignee": QIANFENG.id, "description": "Establish who owns the land."}
    await _step(dalang, Role.MEDIATOR, f"/mediations/{M}/tasks", task)
    await _seen(qianfeng, f"/mediations/{M}", "the task at Qianfeng", lambda c: bool(c["tasks"]))
    findings = {"findings": "The land belongs to 老黄."}
    await _step(qianfeng, Role.OFFICER, f"/mediations/{M}/tasks/{M}.T1/findings", findings)

    await _seen(
        dalang,
        f"/mediations/{M}",
        "the findings at Dalang",
        lambda c: bool(c["tasks"][0]["findings"]),
    )
    await _step(
        dalang,
        Role.MEDIATOR,
        f"/mediations/{M}/outcome",
        {"mediator": ASSISTANT, "outcome": OUTCOME},
    )
    proposed = await _seen(
        qianfeng, f"/mediations/{M}", "the proposal at Qianfeng", state="proposed"
    )
    digest = proposed["terms_digest"]  # what each side's signer reads and quotes
    for node, name in ((dalang, "老程"), (qianfeng, "老黄")):
        signer = {"name": name, "home_jurisdiction": QIANFENG.id}
        body = {"signer": signer, "signer_role": "party", "terms_digest": digest}
        await _step(node, Role.MEDIATOR, f"/mediations/{M}/signatures", body)

    await _seen(
        dalang, f"/mediations/{M}", "both signatures at Dalang", lambda c: len(c["signatures"]) == 2
    )
    await _step(dalang, Role.MEDIATOR, f"/mediations/{M}/close", {"closure": "agreement_signed"})

    for node, where in ((dalang, "Dalang"), (qianfeng, "Qianfeng")):
        await _seen(node, f"/disputes/{D}", f"the dispute resolved at {where}", state="resolved")
    ours = await _seen(dalang, f"/mediations/{M}", "closed at Dalang", state="closed")
    theirs = await _seen(qianfeng, f"/mediations/{M}", "closed at Qianfeng", state="closed")
    assert ours["timeline"] == theirs["timeline"]
    assert len(ours["timeline"]) == 8
