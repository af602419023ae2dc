"""The bench's HTTP client against a real server on loopback: kept-alive connections, a
connection the server closes, and a refused report named."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable

import h11
import pytest

from scripts.bench_api import ApiRefused, JsonClient, post_reports

Answer = Callable[[bytes], tuple[int, list[tuple[str, str]], bytes] | None]


class Server:
    """An HTTP/1.1 server answering each request with `answer(body)` (None: hanging up
    instead), counting connections; each connection is closed without a word after `serves`
    requests, as an idle one is after a keep-alive timeout."""

    def __init__(self, answer: Answer, serves: int | None = None) -> None:
        self.answer, self.serves, self.connections, self.requests = answer, serves, 0, 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        http = h11.Connection(h11.SERVER)
        body, here = b"", 0
        while True:
            event = http.next_event()
            if event is h11.NEED_DATA:
                http.receive_data(await reader.read(65536))
            elif isinstance(event, h11.Request):
                pass
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                self.requests += 1
                answered = self.answer(body)
                if answered is None:
                    break
                status, headers, content = answered
                headers = [*headers, ("content-length", str(len(content)))]
                for out in (
                    h11.Response(status_code=status, headers=headers),
                    h11.Data(data=content),
                ):
                    writer.write(http.send(out) or b"")
                writer.write(http.send(h11.EndOfMessage()) or b"")
                await writer.drain()
                here += 1
                if http.our_state is not h11.DONE or http.their_state is not h11.DONE:
                    break
                if self.serves is not None and here == self.serves:
                    break
                http.start_next_cycle()
                body = b""
            else:
                break
        writer.close()


@contextlib.asynccontextmanager
async def serving(answer: Answer, serves: int | None = None) -> AsyncIterator[tuple[Server, str]]:
    server = Server(answer, serves)
    listening = await asyncio.start_server(server.serve, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    try:
        yield server, f"http://127.0.0.1:{port}"
    finally:
        listening.close()


def echo(status: int, close: bool = False) -> Answer:
    def answer(body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        headers = [("content-type", "application/json")] + (
            [("connection", "close")] if close else []
        )
        return status, headers, json.dumps({"echo": json.loads(body)}).encode()

    return answer


async def test_requests_share_a_kept_alive_connection() -> None:
    async with serving(echo(201)) as (server, url):
        client = JsonClient(url, {"authorization": "Bearer t"})
        answers = [await client.post("/disputes", {"n": n}) for n in range(3)]
        await client.close()
        assert answers == [(201, {"echo": {"n": n}}) for n in range(3)]
        assert (server.connections, server.requests) == (1, 3)


async def test_a_connection_the_server_closes_is_not_used_again() -> None:
    async with serving(echo(201, close=True)) as (server, url):
        client = JsonClient(url, {})
        answers = [await client.post("/disputes", {"n": n}) for n in range(2)]
        await client.close()
        assert answers == [(201, {"echo": {"n": n}}) for n in range(2)]
        assert (server.connections, server.requests) == (2, 2)


async def test_a_refused_report_stops_the_run_with_the_answer() -> None:
    async with serving(echo(422)) as (_, url):
        with pytest.raises(ApiRefused, match=r"^422: .*echo"):
            await post_reports({"api": url, "token": "t"}, 0, 4, None, 2)


async def test_a_connection_the_server_hung_up_while_idle_is_not_used_again() -> None:
    async with serving(echo(201), serves=1) as (server, url):
        client = JsonClient(url, {})
        first = await client.post("/disputes", {"n": 0})
        await asyncio.sleep(0.1)  # the hang-up reaches the client's loop
        second = await client.post("/disputes", {"n": 1})
        await client.close()
        assert [first, second] == [(201, {"echo": {"n": n}}) for n in range(2)]
        assert (server.connections, server.requests) == (2, 2)


async def test_a_server_hanging_up_without_an_answer_is_a_connection_error() -> None:
    async with serving(lambda _body: None) as (_, url):
        client = JsonClient(url, {})
        with pytest.raises(ConnectionError, match="POST /disputes: no answer from the server"):
            await client.post("/disputes", {"n": 0})
        await client.close()
