"""The node as the flows see it: who we are, the agreements, the store, the clock, the outbox.

A flow's command opens `node.unit_of_work()`, changes its case, applies the event to its own state
with the same handler the partner runs, and `node.send`s it: all in one transaction. When the
transaction commits, the relay is woken to publish at once.
"""

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.agreement import Agreement, AgreementBook, HandlingCode
from contracts.errors import NotPermittedByAgreement
from contracts.events.base import EventData
from services.bus.compose import Signer, check_permitted
from services.bus.outbox import Outgoing, enqueue_many
from services.bus.verification import VerifiedEvent
from services.calendar import china_day
from services.store.database import Database


@dataclass
class Node:
    """One jurisdiction's node: everything a command or handler may use."""

    jurisdiction: str
    book: AgreementBook
    signer: Signer
    db: Database
    clock: Callable[[], datetime]
    published: asyncio.Event = field(default_factory=asyncio.Event)

    def agreement_for(self, recipient: str, event: EventData) -> Agreement:
        """The agreement in force that permits `event` from us to `recipient`."""
        refusals = []
        for agreement_id in self.book.ids():
            loaded = self.book.in_force(agreement_id, self.clock().date())
            if loaded is None:
                continue
            try:
                check_permitted(loaded.agreement, self.jurisdiction, recipient, event)
            except NotPermittedByAgreement as refusal:
                refusals.append(refusal.detail)
                continue
            return loaded.agreement
        raise NotPermittedByAgreement(
            "; ".join(refusals)
            or f"no agreement in force between {self.jurisdiction} and {recipient}"
        )

    @asynccontextmanager
    async def unit_of_work(self, reads_much: bool = False) -> AsyncIterator[AsyncConnection]:
        """One transaction for a command (Database.transaction); on commit the relay is woken."""
        async with self.db.transaction(reads_much) as conn:
            yield conn
        self.published.set()

    async def send(
        self,
        conn: AsyncConnection,
        event: EventData,
        recipient: str,
        subject: str,
        correlation: str | None = None,
        causation: str | None = None,
        handling: HandlingCode | None = None,
        after: str | None = None,
    ) -> VerifiedEvent:
        """Put `event` in the outbox for `recipient`, in `conn`'s transaction; its id sorts
        after `after`, if given.

        Returns it as the partner will see it, so the command can apply it to its own state
        with the same handler.
        """
        outgoing = Outgoing(event, recipient, subject, correlation, causation, handling, after)
        return (await self.send_many(conn, [outgoing]))[0]

    def today(self) -> str:
        """Today at this node, a day of the bureaus' calendar (China Standard Time), ISO."""
        return china_day(self.clock()).isoformat()

    async def send_many(
        self, conn: AsyncConnection, outgoing: Sequence[Outgoing]
    ) -> list[VerifiedEvent]:
        """Put many events in the outbox in `conn`'s transaction, each under the agreement in
        force that permits it, and return them as the partners will see them.

        The events under one agreement are enqueued together, in the order given (signed in
        batches where it provides for batch signatures): a recipient's events permitted by two
        agreements take their stream places one agreement after the other.
        """
        now = self.clock()
        permitting: dict[tuple[str, str, int], Agreement] = {}
        agreements: list[Agreement] = []
        for item in outgoing:
            kind = (item.recipient, item.event.event_type, item.event.version[0])
            if kind not in permitting:
                permitting[kind] = self.agreement_for(item.recipient, item.event)
            agreements.append(permitting[kind])
        groups: dict[str, list[int]] = defaultdict(list)
        for position, agreement in enumerate(agreements):
            groups[agreement.ref].append(position)
        sent: dict[int, VerifiedEvent] = {}
        for positions in groups.values():
            agreement = agreements[positions[0]]
            items = [outgoing[p] for p in positions]
            envelopes = await enqueue_many(conn, agreement, self.signer, items, now)
            for position, item, envelope in zip(positions, items, envelopes, strict=True):
                sent[position] = VerifiedEvent(envelope, item.event, agreement)
        return [sent[p] for p in range(len(outgoing))]
