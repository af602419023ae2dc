"""Two nodes over HTTP on real nats-servers (tests/support/regions.py); for the console suite,
two live nodes in two NATS regions, each serving its console over HTTP, and one headless
Chromium for the whole module (starting them once keeps the browser suite short)."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from gateway.app import create_app
from gateway.node_api import NodeApi
from services.runtime import NodeRuntime
from tests.support.api import DALANG, PERSONAL, QIANFENG, Clock, api_of_runtime
from tests.support.api_cases import PERSONAL as DISPUTE_PERSONAL
from tests.support.browser import ConsoleNode, Scene, ensure_chromium, served
from tests.support.live import node_settings, write_agreement
from tests.support.nats import running, two_regions
from tests.support.regions import nats_single, two_regions_fixture

__all__ = ["nats_single", "scene", "two_regions_fixture"]


@pytest.fixture(scope="module")
async def scene(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Scene]:
    chromium = ensure_chromium()
    root: Path = tmp_path_factory.mktemp("console")
    agreement = write_agreement(
        [DALANG, QIANFENG], root / "agreement.yaml", personal=PERSONAL | DISPUTE_PERSONAL
    )
    regions = two_regions(root, hub="qianfeng", leaf="dalang")
    clock = Clock(datetime.now(UTC))
    sides = (
        (DALANG, regions.leaf.url, "dalang", {QIANFENG.id: "qianfeng"}),
        (QIANFENG, regions.hub.url, "qianfeng", {DALANG.id: "dalang"}),
    )
    runtimes = [
        NodeRuntime(node_settings(b, root, url, domain, partners, agreement), clock=clock)
        for b, url, domain, partners in sides
    ]
    with running(*regions.servers):
        async with AsyncExitStack() as stack:
            nodes = []
            for runtime in runtimes:
                await runtime.start()
                stack.push_async_callback(runtime.stop)
                url = await stack.enter_async_context(
                    served(create_app(NodeApi.from_runtime(runtime)))
                )
                api = await stack.enter_async_context(api_of_runtime(runtime))
                nodes.append(ConsoleNode(runtime, url, api))
            playwright = await stack.enter_async_context(async_playwright())
            browser = await playwright.chromium.launch(
                executable_path=str(chromium), headless=True, args=["--no-sandbox"]
            )
            stack.push_async_callback(browser.close)
            yield Scene(nodes[0], nodes[1], browser, clock)
