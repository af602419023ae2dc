"""Two live nodes in two regions, sending 10,000 events while the tests break things."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from contracts.events.disputes import DisputeReportedV1
from services.bus.outbox import Outgoing
from services.runtime import NodeRuntime
from services.store.tables import quarantine
from tests.support.live import applied, delivered, node_settings, wait_until, write_agreement
from tests.support.nats import TwoRegions, running, two_regions
from tests.support.probe import ProbeReport, probe_handlers, probe_report, start_with_probe
from tests.support.trust import Bureau

EVENTS = 10_000
CASES = 400
BATCH = 500
DALANG, QIANFENG = Bureau("dongguan-dalang"), Bureau("guangan-qianfeng")


def dispute(n: int) -> DisputeReportedV1:
    return DisputeReportedV1(
        dispute_id=f"DL-{n:06d}",
        reported_in="dongguan-dalang",
        category="wages_labour",
        risk="low",
        source="grid_worker",
        place="Dalang wool-knitting workshop",
        parties=[
            {
                "name": "Lao Huang",
                "home_jurisdiction": "guangan-qianfeng",
                "id_number": "511602197001010015",
            }
        ],
        narrative="Wages unpaid for two months.",
        occurred_on="2026-03-02",
    )


@dataclass
class Exchange:
    """Dalang's node on the leaf region sends to Qianfeng's node on the hub region."""

    regions: TwoRegions
    root: Path
    agreement: Path
    sender: NodeRuntime
    receiver: NodeRuntime

    async def send_all(self, first: int = 0, end: int = EVENTS) -> None:
        """Enqueue events `first`..`end`-1 over CASES cases, BATCH per transaction."""
        node = self.sender.node
        for start in range(first, end, BATCH):
            outgoing = [
                Outgoing(dispute(n), QIANFENG.id, subject=f"case-{n % CASES:04d}")
                for n in range(start, min(start + BATCH, end))
            ]
            async with node.unit_of_work() as conn:
                await node.send_many(conn, outgoing)
            await asyncio.sleep(0)

    async def settle(
        self, receiver: NodeRuntime, events: int = EVENTS, timeout: float = 240
    ) -> ProbeReport:
        """Wait until every event is applied and receipted, then read the probe."""
        await wait_until(lambda: _at_least(applied(receiver), events), timeout, f"{events} applied")
        await wait_until(
            lambda: _at_least(delivered(self.sender), events), timeout, "all receipted"
        )
        async with receiver.node.db.transaction() as conn:
            quarantined = (
                await conn.execute(select(func.count()).select_from(quarantine))
            ).scalar_one()
        assert quarantined == 0
        return await probe_report(receiver.node.db)


async def _at_least(value, expected: int) -> bool:  # type: ignore[no-untyped-def]
    return await value >= expected


@pytest.fixture
async def exchange(tmp_path: Path) -> AsyncIterator[Exchange]:
    regions = two_regions(tmp_path)
    with running(*regions.servers):
        agreement = write_agreement([DALANG, QIANFENG], tmp_path / "agreement.yaml")
        handlers = probe_handlers(["dispute.reported"])
        sender = NodeRuntime(
            node_settings(
                DALANG, tmp_path, regions.leaf.url, "dalang", {QIANFENG.id: "qianfeng"}, agreement
            ),
            handlers,
        )
        exchange = Exchange(
            regions,
            tmp_path,
            agreement,
            sender,
            NodeRuntime(
                node_settings(
                    QIANFENG,
                    tmp_path,
                    regions.hub.url,
                    "qianfeng",
                    {DALANG.id: "dalang"},
                    agreement,
                ),
                handlers,
            ),
        )
        await sender.start()
        await start_with_probe(exchange.receiver)
        try:
            yield exchange
        finally:
            await sender.stop()
            await exchange.receiver.stop()
