"""Everything the demo runs, started in order and stopped in the reverse order however the demo
ends: two NATS regions, both outbound streams, the demo users, the two node processes."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from gateway.demo.desk import ApiDesk, Say, StepRefused
from gateway.demo.nodes import (
    AGREEMENT,
    DEMO_KEYS,
    NodeProcess,
    add_demo_users,
    declare_outbound_stream,
    write_node_config,
)
from gateway.demo.regions import start_two_regions
from gateway.demo.seed import DALANG, QIANFENG
from services.users.model import Role


@dataclass
class Stage:
    """The two running nodes, and each node's API as its demo users call it."""

    nodes: list[NodeProcess]
    desks: dict[str, ApiDesk]
    """By jurisdiction; each desk holds its node's demo users' tokens by role."""


@asynccontextmanager
async def two_bureaus(root: Path, say: Say) -> AsyncIterator[Stage]:
    """Start the regions and the nodes under `root`; stop them all when the block ends."""
    regions = await start_two_regions(root / "nats", QIANFENG.domain, DALANG.domain)
    nodes: list[NodeProcess] = []
    try:
        say(
            f"[setup] NATS region {QIANFENG.domain!r} (hub) on {regions.hub.server.url}, "
            f"region {DALANG.domain!r} (leaf) on {regions.leaf.server.url}: each its own "
            "JetStream domain, joined by a leaf-node link (deploy/nats/region-hub.conf, "
            "region-leaf.conf)."
        )
        dalang = write_node_config(root, DALANG, QIANFENG, regions.leaf.server.url)
        qianfeng = write_node_config(root, QIANFENG, DALANG, regions.hub.server.url)
        nodes = [dalang, qianfeng]
        for node, region in ((dalang, regions.leaf), (qianfeng, regions.hub)):
            await declare_outbound_stream(region.server.url, node.bureau.jurisdiction)
        tokens = [await add_demo_users(n) for n in nodes]
        for node in nodes:
            node.start()
        say(
            f"[setup] Nodes 大朗 Dalang and 前锋 Qianfeng start (`fengqiao node run`), each with "
            f"its own SQLite store, the DEMO keys of {DEMO_KEYS.relative_to(DEMO_KEYS.parents[2])} "
            f"and the agreement both bureaus signed, {AGREEMENT.name}."
        )
        async with AsyncExitStack() as clients:
            desks: dict[str, ApiDesk] = {}
            for node, users in zip(nodes, tokens, strict=True):
                http = httpx.AsyncClient(base_url=node.url, timeout=30)
                desks[node.bureau.jurisdiction] = ApiDesk(
                    await clients.enter_async_context(http), users
                )
                await node.wait_ready(http)
            say(f"[setup] Both nodes are ready; {len(Role)} users on each, one per role.")
            yield Stage(nodes, desks)
    except (StepRefused, httpx.HTTPError):
        for node in nodes:  # what each node said about it, before its directory goes
            say(f"[{node.bureau.short}] the end of its log:\n{node.log_tail()}")
        raise
    finally:
        for node in nodes:
            node.stop()
        regions.stop()
