"""Applying verified events: one handler per event type, listed in an explicit table."""

from collections.abc import Awaitable, Callable, Mapping

from sqlalchemy.ext.asyncio import AsyncConnection

from services.bus.verification import VerifiedEvent

Handler = Callable[[AsyncConnection, VerifiedEvent], Awaitable[None]]


class NotApplicable(Exception):
    """A handler refuses a verified event (e.g. a step its case does not allow)."""

    reason = "not_applicable"


class StoreRefused(NotApplicable):
    """The store refuses what a handler writes for a verified event (a key that clashes, a
    value it cannot hold, such as a NUL in PostgreSQL text): the event is quarantined."""

    reason = "store_refused"


def dispatcher(handlers: Mapping[str, Handler]) -> Handler:
    """One handler that hands each event to the handler its type is listed with."""

    async def apply(conn: AsyncConnection, verified: VerifiedEvent) -> None:
        handler = handlers.get(verified.envelope.type)
        if handler is None:
            raise NotApplicable(f"this node has no handler for {verified.envelope.type}")
        await handler(conn, verified)

    return apply
