"""Every HTTP request's id: in the node's log lines written while it is served, and returned to
the client in `X-Request-ID`, so that a caller can name the request to the operator.

A client's own `X-Request-ID` (a token of at most 64 letters, digits and `._:-`) is kept, so that
a request is followed from the window's system into this node's log; anything else is replaced.
"""

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.logs import REQUEST_ID

HEADER = "X-Request-ID"
_TOKEN = re.compile(rb"[A-Za-z0-9._:-]{1,64}")


class RequestIds:
    """ASGI middleware: sets `REQUEST_ID` for the request and answers with it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(HEADER.lower().encode())
        request_id = given.decode() if given and _TOKEN.fullmatch(given) else uuid.uuid4().hex
        header = (HEADER.lower().encode(), request_id.encode())
        # Left set (not reset) in the request's task: the 500 handler, outside this middleware,
        # and the server's access log line still name the request.
        REQUEST_ID.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        await self.app(scope, receive, send_with_id)
