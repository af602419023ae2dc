"""What the NATS client reports about its connection, logged in one line each.

The client retries a server that is down every half second, for ever, and reports each failed
attempt; by default it logs every one with its traceback. Here each is one line naming the
server (its password left out), and the same failure repeated is logged once per `every_s`
with how many times it recurred since, so a node waiting for NATS says so without flooding its
log; a different failure is logged at once.
"""

import logging
import time
from collections.abc import Callable

from services.settings import without_password

log = logging.getLogger("services.nats")


class NatsEvents:
    """The error, disconnected and reconnected callbacks of one NATS connection."""

    def __init__(
        self, servers: str, every_s: float = 10.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.servers = ", ".join(without_password(u.strip()) for u in servers.split(","))
        self.every_s = every_s
        self.clock = clock
        self._last: tuple[str, float] | None = None  # the failure last logged, and when
        self._repeats = 0

    async def error(self, exc: Exception) -> None:
        failure = f"{type(exc).__name__}: {exc}".rstrip(": ")
        now = self.clock()
        last_failure, last_at = self._last or ("", float("-inf"))
        same = failure == last_failure
        if same and now - last_at < self.every_s:
            self._repeats += 1
            return
        again = f" ({self._repeats} more times since)" if same and self._repeats else ""
        retrying = "; retrying" if isinstance(exc, OSError | TimeoutError) else ""
        log.warning("NATS at %s: %s%s%s", self.servers, failure, again, retrying)
        self._last, self._repeats = (failure, now), 0

    async def disconnected(self) -> None:
        log.warning("NATS at %s: connection lost; reconnecting", self.servers)

    async def reconnected(self) -> None:
        self._last, self._repeats = None, 0
        log.info("NATS at %s: reconnected", self.servers)
