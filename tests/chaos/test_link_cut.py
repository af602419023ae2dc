"""The leaf-node link between the regions is cut for a while and restored: nothing is lost."""

import asyncio

from services.bus.topology import inbound_stream
from services.store.tables import outbox
from tests.chaos.conftest import EVENTS, QIANFENG, Exchange
from tests.support.live import applied, count, wait_until


async def test_link_cut_and_restored_delays_delivery_but_loses_nothing(exchange: Exchange) -> None:
    await exchange.send_all(0, EVENTS // 2)
    while await applied(exchange.receiver) < EVENTS // 10:
        await asyncio.sleep(0.05)
    exchange.regions.leaf.cut_link()
    # While cut, the sender goes on publishing into its own region and nothing crosses.
    crossed = await _inbound_messages(exchange)
    await exchange.send_all(EVENTS // 2, EVENTS)
    await wait_until(lambda: _all_published(exchange), 60, "all published into the sender's region")
    assert await _inbound_messages(exchange) == crossed, "the link was not cut"
    assert crossed < EVENTS
    exchange.regions.leaf.restore_link()
    report = await exchange.settle(exchange.receiver)
    assert (report.applications, report.distinct_events) == (EVENTS, EVENTS)
    assert report.cases_out_of_order == []


async def _inbound_messages(exchange: Exchange) -> int:
    assert exchange.receiver.nc is not None
    info = await exchange.receiver.nc.jetstream().stream_info(inbound_stream(QIANFENG.id))
    return int(info.state.messages)


async def _all_published(exchange: Exchange) -> bool:
    return await count(exchange.sender, outbox, outbox.c.status != "pending") == EVENTS
