"""A node's loops stop when cancelled, also where nats-py swallows the cancel: its publish,
waiting while it flushes, catches CancelledError and returns (nats-py 2.16,
`Client._flush_pending`); an ack, a pull request and a relay round all publish."""

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

from services.bus.receiver import Receiver
from services.bus.relay import Relay
from services.bus.transport import JetStreamUnavailable
from services.runtime import supervised, utc_now


class Swallow:
    """What nats-py's publish does to a cancel that reaches it while it flushes, once."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.done = False

    async def __call__(self, seconds: float) -> None:
        self.reached.set()
        if self.done:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(seconds)
        self.done = True


async def _stops_when_cancelled(loop: Coroutine[Any, Any, None], swallow: Swallow) -> bool:
    """Whether `loop`, cancelled where `swallow` swallows it, stops as cancelled within 2 s."""
    task = asyncio.create_task(loop)
    await swallow.reached.wait()
    task.cancel()
    await asyncio.wait({task}, timeout=2)
    stopped = task.cancelled()
    task.cancel()  # a loop that went on: the next cancel is not swallowed
    await asyncio.wait({task}, timeout=2)
    return stopped


async def test_the_receiver_stops_when_a_pull_swallowed_its_cancel() -> None:
    swallow = Swallow()

    class SwallowingConsumer:
        stream = "IN_guangan-qianfeng"

        async def fetch(self, batch: int, timeout: float, *, wait: bool = True) -> list[Any]:
            await swallow(timeout)
            return []

    receiver = Receiver(SwallowingConsumer(), inbox=None, idle_s=0.2)  # type: ignore[arg-type]
    assert await _stops_when_cancelled(receiver.run(), swallow)


async def test_the_relay_stops_when_a_round_swallowed_its_cancel() -> None:
    swallow = Swallow()
    relay = Relay(None, None, "dongguan-dalang", utc_now, asyncio.Event(), 1, 1, idle_poll_s=0.1)  # type: ignore[arg-type]

    async def round_swallowing_a_cancel() -> int:
        await swallow(10)
        return 0

    relay.publish_pending = round_swallowing_a_cancel  # type: ignore[method-assign]
    assert await _stops_when_cancelled(relay.run(), swallow)


async def test_a_loop_failing_after_its_cancel_was_swallowed_is_not_restarted() -> None:
    swallow = Swallow()

    async def loop() -> None:
        await swallow(10)
        raise JetStreamUnavailable("fetch from IN_guangan-qianfeng/inbox: nats: connection closed")

    assert await _stops_when_cancelled(supervised("receiver", loop), swallow)
