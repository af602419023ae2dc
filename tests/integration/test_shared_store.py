"""Two processes of each bureau's node on one PostgreSQL store (nodes behind a load balancer):
both accept, both relay, both consume the inbound stream, and the partner still applies every
event once, in its case's order, nothing quarantined and both chains whole. One process of each
then stops, and the other carries on alone."""

import asyncio
from pathlib import Path

from services.bus.audit import audit_store
from services.bus.outbox import Outgoing
from services.runtime import NodeRuntime
from services.store.tables import outbox, quarantine
from tests.chaos.conftest import DALANG, QIANFENG, dispute
from tests.support.databases import drop_postgres, fresh_postgres_url
from tests.support.live import applied, count, node_settings, wait_until, write_agreement
from tests.support.nats import NatsServer
from tests.support.probe import probe_handlers, probe_report, start_with_probe

HANDLERS = probe_handlers(["dispute.reported"])
CASES = 40
BATCH = 50


async def _send(runtime: NodeRuntime, numbers: range) -> None:
    """Disputes `numbers` accepted by `runtime`, BATCH a unit of work, over CASES cases."""
    node = runtime.node
    for start in range(numbers.start, numbers.stop, BATCH):
        outgoing = [
            Outgoing(dispute(n), QIANFENG.id, f"case-{n % CASES:02d}")
            for n in range(start, min(start + BATCH, numbers.stop))
        ]
        async with node.unit_of_work() as conn:
            await node.send_many(conn, outgoing)


async def _all_applied_and_receipted(
    dalang: NodeRuntime, qianfeng: NodeRuntime, events: int
) -> None:
    async def done() -> bool:
        receipted = await count(dalang, outbox, outbox.c.status == "delivered")
        return await applied(qianfeng) >= events and receipted >= events

    await wait_until(done, 60, f"{events} applied and receipted")
    report = await probe_report(qianfeng.node.db)
    assert (report.applications, report.distinct_events) == (events, events)
    assert report.cases_out_of_order == []
    assert await count(qianfeng, quarantine) == 0
    assert await count(dalang, quarantine) == 0
    for runtime in (dalang, qianfeng):
        async with runtime.node.db.snapshot() as conn:
            audits = await audit_store(conn, runtime.node.book)
        assert [a.problems for a in audits] == [[] for _ in audits]


async def test_two_processes_of_each_node_on_one_store_apply_each_event_once_in_order(
    nats_single: NatsServer, tmp_path: Path
) -> None:
    agreement = write_agreement([DALANG, QIANFENG], tmp_path / "agreement.yaml")
    stores = [await fresh_postgres_url() for _ in range(2)]
    settings = [
        node_settings(
            bureau,
            tmp_path,
            nats_single.url,
            "dalang",
            {partner.id: "dalang"},
            agreement,
            database_url=store,
            verify_workers=0,
        )
        for bureau, partner, store in ((DALANG, QIANFENG, stores[0]), (QIANFENG, DALANG, stores[1]))
    ]
    dalangs = [NodeRuntime(settings[0], HANDLERS) for _ in range(2)]
    qianfengs = [NodeRuntime(settings[1], HANDLERS) for _ in range(2)]
    try:
        await start_with_probe(qianfengs[0])
        await asyncio.gather(qianfengs[1].start(), *(d.start() for d in dalangs))

        await asyncio.gather(_send(dalangs[0], range(0, 600)), _send(dalangs[1], range(600, 1200)))
        await _all_applied_and_receipted(dalangs[0], qianfengs[0], 1200)

        await dalangs[1].stop()
        await qianfengs[0].stop()
        await _send(dalangs[0], range(1200, 1400))
        await _all_applied_and_receipted(dalangs[0], qianfengs[1], 1400)
    finally:
        for runtime in (*dalangs, *qianfengs):
            await runtime.stop()
        for store in stores:
            await drop_postgres(store)
