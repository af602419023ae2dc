"""Pull requests answered into one subscription: what ends a pull, and what is handed out."""

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from nats.aio.msg import Msg

from services.bus.pull import PullFeed, PullRefused

NEXT = "$JS.API.CONSUMER.MSG.NEXT.IN_q.inbox-q"


@dataclass
class FakeServer:
    """A connection whose server answers only when the test says so."""

    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    deliver: Callable[[Msg], Awaitable[None]] | None = None

    def new_inbox(self) -> str:
        return "_INBOX.feed"

    async def subscribe(self, subject: str, cb: Callable[[Msg], Awaitable[None]]) -> "FakeServer":
        assert subject == "_INBOX.feed.*"
        self.deliver = cb
        return self

    async def unsubscribe(self) -> None:
        self.deliver = None

    async def publish(self, subject: str, payload: bytes, reply: str) -> None:
        assert subject == NEXT
        self.requests.append((reply, json.loads(payload)))

    async def send(self, reply: str, n: int) -> None:
        assert self.deliver is not None
        await self.deliver(Msg(_client=None, subject=reply, reply=f"$JS.ACK.{n}", data=b"%d" % n))

    async def status(self, reply: str, code: str, description: str = "") -> None:
        assert self.deliver is not None
        headers = {"Status": code, "Description": description}
        await self.deliver(Msg(_client=None, subject=reply, data=b"", headers=headers))


async def _feed() -> tuple[PullFeed, FakeServer]:
    server = FakeServer()
    feed = PullFeed(server, NEXT)
    await feed.open()
    return feed, server


def _data(msgs: list[Msg]) -> list[bytes]:
    return [m.data for m in msgs]


async def test_a_waiting_pull_asks_for_expiry_and_a_quick_one_for_no_wait():
    feed, server = await _feed()
    assert await feed.pull(1, 0.01, wait=True) == []
    assert await feed.pull(5, 0.01, wait=False) == []
    assert server.requests == [
        ("_INBOX.feed.0", {"batch": 1, "expires": 10_000_000}),
        ("_INBOX.feed.1", {"batch": 5, "no_wait": True}),
    ]


async def test_the_end_status_of_an_earlier_request_does_not_end_the_current_one():
    feed, server = await _feed()
    assert await feed.pull(1, 0.01, wait=True) == []  # given up on before the server ended it
    await server.status("_INBOX.feed.0", "408", "Request Timeout")
    got = await _answering(server, feed.pull(2, 1.0, wait=False), [("send", 1), ("send", 2)])
    assert _data(got) == [b"1", b"2"]
    assert [reply for reply, _ in server.requests] == ["_INBOX.feed.0", "_INBOX.feed.1"]


async def test_a_request_the_server_ends_short_returns_what_came():
    feed, server = await _feed()
    got = await _answering(server, feed.pull(10, 1.0, wait=False), [("send", 1), ("status", "404")])
    assert _data(got) == [b"1"]


async def test_a_message_that_came_late_for_an_earlier_request_is_handed_out_next():
    feed, server = await _feed()
    assert await feed.pull(1, 0.01, wait=True) == []
    await server.send("_INBOX.feed.0", 7)
    assert _data(await feed.pull(1, 1.0, wait=True)) == [b"7"]
    assert len(server.requests) == 1  # taken from what had arrived, no new request


async def test_an_error_status_for_the_current_request_is_raised():
    feed, server = await _feed()
    with pytest.raises(PullRefused, match="400 Bad Request"):
        await _answering(server, feed.pull(1, 1.0, wait=False), [("status", "400")])


async def _answering(
    server: FakeServer, pull: Awaitable[list[Msg]], answers: list[tuple[str, Any]]
) -> list[Msg]:
    """Run `pull`, and answer the request it makes with `answers`."""
    task = asyncio.ensure_future(pull)
    asked = len(server.requests)
    while len(server.requests) == asked:
        await asyncio.sleep(0)
    reply = server.requests[-1][0]
    for kind, value in answers:
        if kind == "send":
            await server.send(reply, value)
        else:
            await server.status(reply, value, "Bad Request" if value == "400" else "No Messages")
    return await task
