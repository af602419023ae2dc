"""Qianfeng's node on its region's 3-node JetStream cluster (streams with replicas 3), the hub of
Dalang's leaf region: one server is SIGKILLed mid-stream and nothing is lost or applied twice.

Half the events are sent and Qianfeng's node is applying them when the leader of its inbound
stream is killed (sometimes also the server its client or Dalang's leaf link is on); the other
half is published, sourced, applied and receipted with the region down to two servers.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from pathlib import Path

import pytest

from contracts.events.disputes import DisputeReportedV1
from gateway.node_api import NodeApi
from services.bus.outbox import Outgoing
from services.bus.topology import inbound_stream, outbound_stream
from services.runtime import NodeRuntime
from services.store.database import Database
from services.store.tables import outbox, quarantine
from tests.support.api import client_for
from tests.support.live import (
    count,
    declare_outbound_streams,
    delivered,
    node_settings,
    store_watcher,
    wait_until,
    write_agreement,
)
from tests.support.nats import NatsServer, RegionCluster, leaf_region, running
from tests.support.probe import probe_handlers, probe_report, start_with_probe
from tests.support.trust import Bureau

EVENTS = 3_000
BATCH = 250
CASES = 100
DALANG, QIANFENG = Bureau("dongguan-dalang", "大朗"), Bureau("guangan-qianfeng", "前锋")


def dispute(n: int) -> DisputeReportedV1:
    return DisputeReportedV1(
        dispute_id=f"DL-{n:06d}",
        reported_in=DALANG.id,
        category="neighbour",
        risk="low",
        source="grid_worker",
        place="Xiangwei village, Dalang",
        parties=[{"name": "Lao Cheng", "home_jurisdiction": QIANFENG.id}],
        narrative="Noise between neighbours in a workers' dormitory.",
        occurred_on="2026-05-01",
    )


@dataclass
class ClusterExchange:
    cluster: RegionCluster
    sender: NodeRuntime
    receiver: NodeRuntime
    watcher: Database

    async def send(self, first: int, end: int) -> None:
        """Dalang sends disputes `first`..`end`-1 over CASES cases, BATCH per transaction."""
        node = self.sender.node
        for start in range(first, end, BATCH):
            outgoing = [
                Outgoing(dispute(n), QIANFENG.id, subject=f"case-{n % CASES:03d}")
                for n in range(start, min(start + BATCH, end))
            ]
            async with node.unit_of_work() as conn:
                await node.send_many(conn, outgoing)
            await asyncio.sleep(0)

    async def applications(self) -> int:
        """How many applications Qianfeng's probe has seen so far (read without locking)."""
        return (await probe_report(self.watcher)).applications

    async def inbound_leader(self) -> NatsServer:
        """The server leading Qianfeng's inbound stream (the copy its consumer reads)."""
        assert self.receiver.nc is not None
        info = await self.receiver.nc.jetstream().stream_info(inbound_stream(QIANFENG.id))
        assert info.cluster is not None and info.config.num_replicas == 3
        return next(s for s in self.cluster.nodes if s.name == info.cluster.leader)


@pytest.fixture
async def exchange(region_cluster: RegionCluster, tmp_path: Path) -> AsyncIterator[ClusterExchange]:
    dalang_region = leaf_region(tmp_path, "dalang", region_cluster.leaf_urls())
    with running(dalang_region):
        dalang_region.wait_linked()
        agreement = write_agreement([DALANG, QIANFENG], tmp_path / "agreement.yaml")
        handlers = probe_handlers(["dispute.reported"])
        sender = NodeRuntime(
            node_settings(
                DALANG, tmp_path, dalang_region.url, "dalang", {QIANFENG.id: "qianfeng"}, agreement
            ),
            handlers,
        )
        receiver = NodeRuntime(
            node_settings(
                QIANFENG,
                tmp_path,
                ",".join(region_cluster.urls),
                "qianfeng",
                {DALANG.id: "dalang"},
                agreement,
                stream_replicas=3,
            ),
            handlers,
        )
        await declare_outbound_streams(sender.settings, receiver.settings)
        await start_with_probe(receiver)
        try:
            await sender.start()
            watcher = store_watcher(receiver)
            try:
                yield ClusterExchange(region_cluster, sender, receiver, watcher)
            finally:
                await sender.stop()
                await watcher.close()
        finally:
            await receiver.stop()


async def test_a_cluster_server_killed_mid_stream_loses_nothing_and_applies_nothing_twice(
    exchange: ClusterExchange,
) -> None:
    await exchange.send(0, EVENTS // 2)
    await wait_until(lambda: _at_least(exchange.applications(), 1), 30, "Qianfeng applying")
    victim = await exchange.inbound_leader()
    victim.kill()
    killed_at = await exchange.applications()
    # The second half is published, sourced, applied and receipted with one server dead.
    await exchange.send(EVENTS // 2, EVENTS)

    await wait_until(lambda: _at_least(exchange.applications(), EVENTS), 60, f"{EVENTS} applied")
    await wait_until(lambda: _at_least(delivered(exchange.sender), EVENTS), 60, "all receipted")
    report = await probe_report(exchange.watcher)
    assert 0 < killed_at < EVENTS // 2, "the server was not killed mid-stream"
    assert (report.applications, report.distinct_events) == (EVENTS, EVENTS)
    assert report.cases_out_of_order == []
    assert await count(exchange.receiver, quarantine) == 0
    assert await count(exchange.sender, outbox, outbox.c.status != "delivered") == 0


async def _at_least(value: Awaitable[int], expected: int) -> bool:
    return await value >= expected


async def test_a_node_started_while_its_cluster_has_no_quorum_waits_for_it(
    region_cluster: RegionCluster, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Two of the region's three servers are down when Qianfeng's node starts: JetStream cannot
    place a stream of 3 replicas (and, once the leader's term runs out, has no leader). The node
    says so, in its log and its /readyz, and waits; it starts once they are back."""
    first, *others = region_cluster.nodes
    for server in others:
        server.stop()
    agreement = write_agreement([DALANG, QIANFENG], tmp_path / "agreement.yaml")
    settings = node_settings(
        QIANFENG,
        tmp_path,
        first.url,
        "qianfeng",
        {DALANG.id: "dalang"},
        agreement,
        stream_replicas=3,
    )
    node = NodeRuntime(settings, probe_handlers(["dispute.reported"]))
    starting = asyncio.create_task(node.start())
    try:

        async def waiting() -> bool:
            if starting.done():
                starting.result()  # a start that gave up fails the test here, with its error
            return "declaring the outbound stream" in caplog.text

        await wait_until(waiting, 60, "the node to say it waits for JetStream")
        assert not starting.done()
        async with client_for(NodeApi.from_runtime(node)) as api:
            not_ready = await api.client.get("/readyz")
        assert (not_ready.status_code, not_ready.json()["checks"]["nats"]) == (
            503,
            "connected; still starting (streams, catch-up, inbox consumer)",
        )
        for server in others:
            server.launch()
        for server in others:
            await asyncio.to_thread(server.wait_ready, 30)
        await asyncio.wait_for(starting, 120)
        assert node.nc is not None
        info = await node.nc.jetstream().stream_info(outbound_stream(QIANFENG.id))
        assert info.config.num_replicas == 3
    finally:
        starting.cancel()
        await node.stop()
