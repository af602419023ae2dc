"""Quick measurement of the bus on this machine: raw JetStream publish/s, and events/s end to end
between two nodes in two regions (accepted at Dalang -> signed -> outbox -> JetStream -> leaf link
-> verified and committed at Qianfeng), in the same run. Not a benchmark: `make bench` is.

    .venv/bin/python scripts/measure_bus.py [--events 5000]
"""

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nats.js.api import StreamConfig

from services.bus.outbox import Outgoing
from services.runtime import NodeRuntime
from tests.chaos.conftest import DALANG, QIANFENG, dispute
from tests.support.live import applied, node_settings, write_agreement
from tests.support.nats import connect, running, two_regions
from tests.support.probe import probe_handlers


async def raw_publish(url_server, count: int, payload: bytes, in_flight: int) -> float:  # type: ignore[no-untyped-def]
    nc = await connect(url_server)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name="RAW", subjects=["raw.>"]))
    started = time.perf_counter()
    for start in range(0, count, in_flight):
        futures = [
            await js.publish_async(f"raw.{n}", payload)
            for n in range(start, min(start + in_flight, count))
        ]
        await asyncio.gather(*futures)
    elapsed = time.perf_counter() - started
    await js.delete_stream("RAW")
    await nc.close()
    return count / elapsed


async def end_to_end(root: Path, regions, events: int) -> float:  # type: ignore[no-untyped-def]
    agreement = write_agreement([DALANG, QIANFENG], root / "agreement.yaml")
    handlers = probe_handlers([])
    sender = NodeRuntime(
        node_settings(
            DALANG, root, regions.leaf.url, "dalang", {QIANFENG.id: "qianfeng"}, agreement
        ),
        handlers,
    )
    receiver = NodeRuntime(
        node_settings(
            QIANFENG, root, regions.hub.url, "qianfeng", {DALANG.id: "dalang"}, agreement
        ),
        lambda node: {"dispute.reported": _nothing},
    )
    node = await sender.start()
    await receiver.start()
    try:
        started = time.perf_counter()
        for first in range(0, events, 500):
            async with node.unit_of_work() as conn:
                await node.send_many(
                    conn,
                    [
                        Outgoing(dispute(n), QIANFENG.id, f"case-{n % 400}")
                        for n in range(first, min(first + 500, events))
                    ],
                )
        while await applied(receiver) < events:
            await asyncio.sleep(0.05)
        return events / (time.perf_counter() - started)
    finally:
        await sender.stop()
        await receiver.stop()


async def _nothing(conn, verified) -> None:  # type: ignore[no-untyped-def]
    return None


async def main(events: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="fq-measure-"))
    regions = two_regions(root)
    sample = dispute(0)
    with running(*regions.servers):
        e2e = await end_to_end(root, regions, events)
        payload = b"x" * 1500
        raw_one = await raw_publish(regions.leaf, 2000, payload, 1)
        raw_bounded = await raw_publish(regions.leaf, 20000, payload, 256)
    print(f"raw JetStream publish, awaited one by one: {raw_one:,.0f}/s")
    print(f"raw JetStream publish, 256 in flight:      {raw_bounded:,.0f}/s")
    print(
        f"end to end Dalang -> Qianfeng ({events} events, "
        f"{len(sample.model_dump_json())} B of data each): {e2e:,.0f} events/s"
    )
    print(f"ratio end to end / raw bounded publish: {e2e / raw_bounded:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    asyncio.run(main(parser.parse_args().events))
