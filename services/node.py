"""The node as the flows see it: who we are, the agreements, the store, the clock, the outbox.

A flow's command opens `node.unit_of_work()`, changes its case, applies the event to its own state
with the same handler the partner runs, and `node.send`s it: all in one transaction. When the
transaction commits, the relay is woken to publish at once.
"""

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.agreement import Agreement, AgreementBook, HandlingCode
from contracts.errors import NotPermittedByAgreement
from contracts.events.base import EventData
from services.bus.compose import Signer, check_permitted
from services.bus.envelope import Envelope
from services.bus.outbox import Outgoing, enqueue, enqueue_many
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
    async def unit_of_work(self) -> AsyncIterator[AsyncConnection]:
        """One transaction for a command; on commit the relay is woken."""
        async with self.db.transaction() as conn:
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
    ) -> VerifiedEvent:
        """Put `event` in the outbox for `recipient`, in `conn`'s transaction.

        Returns it as the partner will see it, so the command can apply it to its own state
        with the same handler.
        """
        agreement = self.agreement_for(recipient, event)
        outgoing = Outgoing(event, recipient, subject, correlation, causation, handling)
        envelope: Envelope = await enqueue(conn, agreement, self.signer, outgoing, self.clock())
        return VerifiedEvent(envelope=envelope, event=event, agreement=agreement)

    def today(self) -> str:
        """Today at this node, a day of the bureaus' calendar (China Standard Time), ISO."""
        return china_day(self.clock()).isoformat()

    async def send_many(
        self, conn: AsyncConnection, outgoing: Sequence[Outgoing]
    ) -> list[Envelope]:
        """Put many events in the outbox, in order, under the agreement permitting the first."""
        if not outgoing:
            return []
        agreement = self.agreement_for(outgoing[0].recipient, outgoing[0].event)
        return await enqueue_many(conn, agreement, self.signer, outgoing, self.clock())
