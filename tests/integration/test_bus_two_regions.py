"""Two nodes in two regions (JetStream domains joined by a leaf link) exchange signed events."""

from pathlib import Path

from contracts.events.disputes import DisputeReportedV1
from services.runtime import NodeRuntime
from tests.support.live import (
    applied,
    delivered,
    node_settings,
    recording_handlers,
    wait_until,
    write_agreement,
)
from tests.support.nats import TwoRegions
from tests.support.trust import Bureau


def dispute(n: int) -> DisputeReportedV1:
    return DisputeReportedV1(
        dispute_id=f"DL-{n:06d}",
        reported_in="dongguan-dalang",
        category="debt",
        risk="low",
        source="walk_in",
        place="Dalang",
        parties=[
            {
                "name": "Lao Cheng",
                "home_jurisdiction": "guangan-qianfeng",
                "id_number": "511602198002020025",
            }
        ],
        narrative="A loan between fellow villagers.",
        occurred_on="2026-04-01",
    )


async def test_events_cross_regions_are_applied_once_and_receipted_back(
    two_regions: TwoRegions, tmp_path: Path
) -> None:
    dalang, qianfeng = Bureau("dongguan-dalang"), Bureau("guangan-qianfeng")
    agreement = write_agreement([dalang, qianfeng], tmp_path / "agreement.yaml")
    handlers = recording_handlers(["dispute.reported"])
    sender = NodeRuntime(
        node_settings(
            dalang,
            tmp_path,
            two_regions.leaf.url,
            "dalang",
            {"guangan-qianfeng": "qianfeng"},
            agreement,
        ),
        handlers,
    )
    receiver = NodeRuntime(
        node_settings(
            qianfeng,
            tmp_path,
            two_regions.hub.url,
            "qianfeng",
            {"dongguan-dalang": "dalang"},
            agreement,
        ),
        handlers,
    )
    node = await sender.start()
    await receiver.start()
    try:
        for batch in range(3):
            async with node.unit_of_work() as conn:
                for n in range(100):
                    await node.send(conn, dispute(batch * 100 + n), "guangan-qianfeng", "DL")
        await wait_until(lambda: _equals(applied(receiver), 300), 30, "300 applied at Qianfeng")
        await wait_until(lambda: _equals(delivered(sender), 300), 30, "300 receipted at Dalang")
    finally:
        await sender.stop()
        await receiver.stop()


async def _equals(value, expected: int) -> bool:
    return await value == expected
