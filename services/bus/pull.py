"""Pull requests to a durable JetStream consumer, answered into one subscription.

nats-py's `PullSubscription.fetch` waits for each message of a batch with a task, a timer and a
uuid of its own (`Subscription.next_msg`): measured here, that cost the receiver more CPU per
message than its inbox transaction. A pull request is a plain NATS request (JetStream ADR-13):
`{"batch": n, "expires": ns}` or `{"batch": n, "no_wait": true}` published to
`<api prefix>.CONSUMER.MSG.NEXT.<stream>.<consumer>` with a reply subject; the server sends up
to n messages there and, when a request ends short, a status message (404 no messages, 408
request timeout, 409 a conflict such as a leader change). The consumer, its explicit acks and
its redelivery are the server's and stay as they are.

Every request here has a reply subject of its own under one wildcard subscription, so that the
late status of a request given up on is never taken for the end of the current one. A message
that arrives late for such a request is delivered like any other (the server sent it to this
consumer): it is handed out by the next pull, acked or redelivered as usual.
"""

import asyncio
import json
from collections import deque
from typing import Any

from nats.aio.msg import Msg

from services.bus.replies import Replies

STATUS = "Status"
DESCRIPTION = "Description"
REQUEST_ENDED = frozenset({"404", "408", "409"})
HEARTBEAT = "100"


class PullRefused(Exception):
    """The server answered a pull request with an error status other than an ending one."""


class PullFeed(Replies):
    """Pull requests for one durable consumer on connection `nc`, answered on one subscription.

    `close()` stops receiving; messages not handed out are redelivered by the server after
    AckWait.
    """

    def __init__(self, nc: Any, next_subject: str) -> None:
        super().__init__(nc)
        self._next_subject = next_subject
        self._arrived: deque[Msg] = deque()
        self._signal = asyncio.Event()

    async def pull(self, batch: int, timeout: float, *, wait: bool) -> list[Msg]:
        """Up to `batch` messages: what arrived already, else what one request brings.

        With `wait`, the request lasts `timeout` on the server and returns when `batch` came;
        without, the server answers at once with what it has. Either way this returns after
        `timeout` at the latest, with what came.
        """
        msgs = self._take(batch, reply=None)
        if msgs:
            return msgs
        reply = f"{self._inbox}.{next(self._numbers)}"
        request: dict[str, Any] = {"batch": batch}
        if wait:
            request["expires"] = int(timeout * 1_000_000_000)
        else:
            request["no_wait"] = True
        await self._nc.publish(self._next_subject, json.dumps(request).encode(), reply=reply)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        ended = False
        while len(msgs) < batch and not ended:
            if not self._arrived:
                self._signal.clear()
                try:
                    async with asyncio.timeout_at(deadline):
                        await self._signal.wait()
                except TimeoutError:
                    break
            taken, ended = self._take_until_end(batch - len(msgs), reply)
            msgs += taken
        return msgs

    def _take(self, count: int, reply: str | None) -> list[Msg]:
        return self._take_until_end(count, reply)[0]

    def _take_until_end(self, count: int, reply: str | None) -> tuple[list[Msg], bool]:
        """Up to `count` arrived messages; True once the request `reply` was ended by the server.

        Status messages of other (earlier) requests are dropped: they end nothing now.
        """
        taken: list[Msg] = []
        while self._arrived and len(taken) < count:
            msg = self._arrived.popleft()
            status = msg.headers.get(STATUS) if msg.headers else None
            if status is None:
                taken.append(msg)
                continue
            if msg.subject != reply or status == HEARTBEAT:
                continue
            if status in REQUEST_ENDED:
                return taken, True
            description = msg.headers.get(DESCRIPTION, "") if msg.headers else ""
            raise PullRefused(f"pull request refused: {status} {description}".strip())
        return taken, False

    async def _arrive(self, msg: Msg) -> None:
        self._arrived.append(msg)
        self._signal.set()
