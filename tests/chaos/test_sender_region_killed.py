"""The sender's nats-server is killed (SIGKILL) mid-stream and restarted: nothing is lost."""

import asyncio

from services.store.tables import outbox
from tests.chaos.conftest import EVENTS, Exchange
from tests.support.live import count


async def test_sender_server_killed_mid_stream_loses_nothing_and_applies_nothing_twice(
    exchange: Exchange,
) -> None:
    sending = asyncio.create_task(exchange.send_all())
    # Kill the sender's region once a good part is published and more is still to come.
    while await count(exchange.sender, outbox, outbox.c.status != "pending") < EVENTS // 5:
        await asyncio.sleep(0.05)
    exchange.regions.leaf.kill()
    await asyncio.sleep(1.5)
    exchange.regions.leaf.restart()
    await sending
    report = await exchange.settle(exchange.receiver)
    assert report.applications == EVENTS
    assert report.distinct_events == EVENTS
    assert report.cases_out_of_order == []
