"""One wildcard subscription for the replies to many requests on one NATS connection."""

import itertools
from typing import Any

from nats.aio.msg import Msg


class Replies:
    """Each request gets a reply subject of its own, `<inbox>.<token>`, and every answer comes
    to `_arrive` on one subscription (no per-request subscription, task or timer)."""

    def __init__(self, nc: Any) -> None:
        self._nc = nc
        self._inbox: str = nc.new_inbox()
        self._numbers = itertools.count()
        self._subscription: Any = None

    async def open(self) -> None:
        """Subscribe to the replies of every request made through this object."""
        self._subscription = await self._nc.subscribe(f"{self._inbox}.*", cb=self._arrive)

    async def close(self) -> None:
        """Stop receiving replies."""
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None

    async def _arrive(self, msg: Msg) -> None:
        raise NotImplementedError
