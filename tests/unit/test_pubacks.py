"""A batch's PubAcks gathered on one subscription: in order, errors kept, late answers dropped."""

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import nats.errors
import nats.js.errors
import pytest
from nats.aio.msg import Msg

from services.bus.pubacks import PubAcks


@dataclass
class FakeServer:
    """Answers each publish with what `answer` says, or not at all (None)."""

    answer: Callable[[int], dict[str, Any] | str | None]
    published: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    late: list[str] = field(default_factory=list)
    stale: list[Msg] = field(default_factory=list)
    """Answers held back, delivered before the next publish is answered."""
    deliver: Callable[[Msg], Awaitable[None]] | None = None

    def new_inbox(self) -> str:
        return "_INBOX.acks"

    async def subscribe(self, subject: str, cb: Callable[[Msg], Awaitable[None]]) -> "FakeServer":
        assert subject == "_INBOX.acks.*"
        self.deliver = cb
        return self

    async def unsubscribe(self) -> None:
        self.deliver = None

    async def publish(
        self, subject: str, payload: bytes, reply: str, headers: dict[str, str]
    ) -> None:
        assert self.deliver is not None
        self.published.append((subject, reply, headers))
        while self.stale:
            await self.deliver(self.stale.pop())
        answer = self.answer(len(self.published))
        if answer is None:
            self.late.append(reply)
        elif answer == "503":
            await self.deliver(Msg(_client=None, subject=reply, headers={"Status": "503"}))
        else:
            await self.deliver(Msg(_client=None, subject=reply, data=json.dumps(answer).encode()))


def _stored(n: int) -> dict[str, Any]:
    return {"stream": "OUT_a", "seq": n, "duplicate": n == 2}


MESSAGES = [("fq.a.b.t", b"%d" % n, {"Nats-Msg-Id": f"id-{n}"}) for n in range(1, 4)]


async def _acks(server: FakeServer) -> PubAcks:
    acks = PubAcks(server)
    await acks.open()
    return acks


async def test_each_message_has_its_own_reply_and_its_pubacks_come_back_in_order():
    server = FakeServer(_stored)
    answers = await (await _acks(server)).publish(MESSAGES, timeout=1)
    assert answers == [_stored(1), _stored(2), _stored(3)]
    assert [reply for _, reply, _ in server.published] == [
        "_INBOX.acks.0_0",
        "_INBOX.acks.0_1",
        "_INBOX.acks.0_2",
    ]


async def test_refusals_are_kept_as_errors_in_their_place():
    def answer(n: int) -> dict[str, Any] | str:
        if n == 2:
            return {"error": {"code": 503, "err_code": 10077, "description": "maximum bytes"}}
        return "503" if n == 3 else _stored(n)

    answers = await (await _acks(FakeServer(answer))).publish(MESSAGES, timeout=1)
    assert answers[0] == _stored(1)
    assert isinstance(answers[1], nats.js.errors.APIError) and answers[1].err_code == 10077
    assert isinstance(answers[2], nats.js.errors.NoStreamResponseError)


async def test_a_batch_not_answered_in_time_raises_and_its_late_answers_are_dropped():
    server = FakeServer(lambda n: None if n == 3 else _stored(n))
    acks = await _acks(server)
    with pytest.raises(nats.errors.TimeoutError):
        await acks.publish(MESSAGES, timeout=0.05)
    server.answer = _stored
    late = Msg(_client=None, subject=server.late[0], data=json.dumps(_stored(9)).encode())
    server.stale.append(late)  # batch 0's third answer, arriving while batch 1 is out
    assert server.late == ["_INBOX.acks.0_2"]
    assert await acks.publish(MESSAGES[:1], timeout=1) == [_stored(4)]
