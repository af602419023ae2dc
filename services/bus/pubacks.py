"""Publishing a batch to JetStream and collecting its PubAcks on one subscription.

nats-py's `publish_async` takes a semaphore, a nuid and random token, a future with a callback and
a dataclass built by introspection for each message: measured here, about half of the relay's
CPU per published event. A JetStream publish is a plain NATS request whose answer is the PubAck
(`{"stream", "seq", "duplicate"}` or `{"error": {...}}`; a 503 status when no stream listens),
so a batch is published with one reply subject per message under one wildcard subscription, and
the answers are counted into the batch's slots. Answers to an earlier batch given up on are
recognised by their batch number and dropped.
"""

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from nats.js.api import Header

from services.bus.replies import Replies

NO_RESPONDERS = "503"
Message = tuple[str, bytes, dict[str, str]]
"""Subject, payload and headers of one message to publish."""


@dataclass
class _Batch:
    number: int
    answers: list[dict[str, Any] | nats.errors.Error | None]
    missing: int
    complete: asyncio.Event = field(default_factory=asyncio.Event)


class PubAcks(Replies):
    """Publishes batches on connection `nc` and gathers their PubAcks; `open()` before use."""

    def __init__(self, nc: Any) -> None:
        super().__init__(nc)
        self._batch: _Batch | None = None

    async def publish(
        self, messages: Sequence[Message], timeout: float
    ) -> list[dict[str, Any] | nats.errors.Error]:
        """Publish `messages` in order; each one's PubAck (a dict) or error, in order.

        Raises nats.errors.TimeoutError when some are not answered within `timeout`.
        """
        if self._batch is not None:
            raise RuntimeError("one batch at a time per PubAcks")
        batch = _Batch(next(self._numbers), [None] * len(messages), len(messages))
        self._batch = batch
        try:
            for slot, (subject, payload, headers) in enumerate(messages):
                reply = f"{self._inbox}.{batch.number}_{slot}"
                await self._nc.publish(subject, payload, reply=reply, headers=headers)
            if batch.missing:
                async with asyncio.timeout(timeout):
                    await batch.complete.wait()
        except TimeoutError as late:
            raise nats.errors.TimeoutError from late
        finally:
            self._batch = None
        return [answer for answer in batch.answers if answer is not None]

    async def _arrive(self, msg: Msg) -> None:
        batch = self._batch
        number, _, slot = msg.subject.rpartition(".")[2].partition("_")
        if batch is None or number != str(batch.number):
            return  # the answer to a batch given up on
        index = int(slot)
        if batch.answers[index] is not None:
            return
        batch.answers[index] = _answer(msg)
        batch.missing -= 1
        if not batch.missing:
            batch.complete.set()


def _answer(msg: Msg) -> dict[str, Any] | nats.errors.Error:
    if msg.headers and msg.headers.get(Header.STATUS) == NO_RESPONDERS:
        return nats.js.errors.NoStreamResponseError()
    try:
        answer = json.loads(msg.data)
    except ValueError:
        return nats.errors.Error(f"unreadable PubAck {msg.data[:80]!r}")
    if not isinstance(answer, dict):
        return nats.errors.Error(f"unreadable PubAck {msg.data[:80]!r}")
    if "error" in answer:
        try:
            nats.js.errors.APIError.from_error(answer["error"])  # raises the error's own type
        except nats.js.errors.APIError as refused:
            return refused
        return nats.errors.Error(f"unreadable PubAck error {answer['error']!r}")
    return answer
