"""A region on a 3-node JetStream cluster: streams with replicas 3 outlive one server."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import nats.errors
from nats.js import JetStreamContext

from services.bus.topology import event_subject, outbound_stream
from services.bus.transport import (
    Outgoing,
    Published,
    TransportError,
    ensure_outbound_stream,
    publish_batch,
    replay,
)
from tests.support.nats import RegionCluster, connect

T = TypeVar("T")
QIANFENG = "guangan-qianfeng"
OUT = outbound_stream(QIANFENG)


def events(start: int, count: int) -> list[Outgoing]:
    subject = event_subject(QIANFENG, "dongguan-dalang", "dispute.reported")
    return [Outgoing(subject, b"y" * 300, f"event-{n}") for n in range(start, start + count)]


async def retried(attempt: Callable[[], Awaitable[T]], within: float = 15.0) -> T:
    """What the relay does: try again (same msg ids) until the cluster answers."""
    deadline = time.monotonic() + within
    while True:
        try:
            return await attempt()
        except (TransportError, nats.errors.Error):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def publish_retried(js: JetStreamContext, batch: list[Outgoing]) -> list[Published]:
    return await retried(lambda: publish_batch(js, batch, timeout=2))


async def stream_leader(js: JetStreamContext) -> str:
    info = await retried(lambda: js.stream_info(OUT))
    assert info.cluster is not None
    return str(info.cluster.leader)


async def test_the_cluster_keeps_accepting_without_a_pause_when_a_follower_is_killed(
    region_cluster: RegionCluster,
) -> None:
    async with await connect(*region_cluster.nodes) as nc:
        js = nc.jetstream(timeout=2)
        info = await retried(lambda: ensure_outbound_stream(js, QIANFENG, replicas=3))
        await publish_retried(js, events(0, 500))
        leader = await stream_leader(js)
        # Not the server this client is on either: that would test the client's reconnect.
        assert nc.connected_url is not None
        connected = nc.connected_url.port
        follower = next(
            node
            for node in region_cluster.nodes
            if node.name != leader and node.client_port != connected
        )

        follower.kill()
        started = time.monotonic()
        after_kill = await publish_batch(js, events(500, 500), timeout=2)
        took = time.monotonic() - started
        state = (await js.stream_info(OUT)).state

    assert info.config.num_replicas == 3
    assert [p.seq for p in after_kill] == list(range(501, 1001))
    assert (state.messages, state.last_seq) == (1000, 1000)
    assert took < 2, f"500 events took {took:.1f}s with one follower down"


async def test_the_cluster_loses_nothing_when_the_stream_leader_is_killed(
    region_cluster: RegionCluster,
) -> None:
    async with await connect(*region_cluster.nodes) as nc:
        js = nc.jetstream(timeout=2)
        await retried(lambda: ensure_outbound_stream(js, QIANFENG, replicas=3))
        await publish_retried(js, events(0, 500))
        leader = await stream_leader(js)
        [victim] = [node for node in region_cluster.nodes if node.name == leader]

        # The survivors elect a new leader (Raft, a few seconds); publishes are retried with the
        # same msg ids meanwhile, as the relay does, so none is lost and none doubled.
        victim.kill()
        after_kill = await publish_retried(js, events(500, 500))
        state = (await retried(lambda: js.stream_info(OUT))).state
        stored = await retried(lambda: replay(js, OUT, first_seq=1, last_seq=1000))
        new_leader = await stream_leader(js)

    assert [p.seq for p in after_kill] == list(range(501, 1001))
    assert (state.messages, state.last_seq) == (1000, 1000)
    assert [m.msg_id for m in stored] == [f"event-{n}" for n in range(1000)]
    assert new_leader in {node.name for node in region_cluster.nodes} - {leader}
