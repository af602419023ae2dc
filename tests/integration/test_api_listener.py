"""The API's listening socket: the connections it accepts send small writes at once.

uvicorn serves the node's socket with asyncio's transports (`loop.create_server(sock=...)`, as
below), which turn Nagle's algorithm off only on sockets that name their protocol. With it on,
each response uvicorn writes in two parts waits for the client's delayed ACK on a kept-alive
connection (~40 ms a request on Linux: measured in docs/performance.md).
"""

import asyncio
import socket

from gateway.cli.node import listen


async def _nodelay_of_an_accepted_connection(listener: socket.socket) -> int:
    accepted: asyncio.Queue[int] = asyncio.Queue()

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        await accepted.put(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(on_connection, sock=listener)
    try:
        port = listener.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        nodelay = await asyncio.wait_for(accepted.get(), 10)
        writer.close()
        return nodelay
    finally:
        server.close()
        await server.wait_closed()


async def test_the_api_socket_accepts_connections_without_nagles_delay() -> None:
    assert await _nodelay_of_an_accepted_connection(listen("127.0.0.1", 0)) != 0


async def test_a_socket_made_without_its_protocol_keeps_nagles_delay() -> None:
    """What listen() guards against: the socket module's default protocol (0)."""
    plain = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    plain.bind(("127.0.0.1", 0))
    assert await _nodelay_of_an_accepted_connection(plain) == 0
