"""The receiving side: pull from this node's inbound stream, hand each envelope to the inbox, ack.

The ack goes out only after the inbox transaction committed. A crash before the ack means a
redelivery, which the inbox recognises by event id; a store failure keeps the batch, settled again
once the store answers; nothing is acknowledged that was not stored (applied, quarantined or held).
"""

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from services.bus.gaps import GapRepair
from services.bus.inbox import Inbox, Outcome
from services.bus.topology import sender_of
from services.bus.transport import Delivery, DurableConsumer, TransportError, stop_if_cancelled
from services.bus.verification import Checked
from services.store.database import StoreUnavailable

log = logging.getLogger(__name__)


@dataclass
class Receiver:
    """Feeds IN_<me> to the inbox through the durable consumer `name`."""

    consumer: DurableConsumer
    inbox: Inbox
    gaps: GapRepair | None = None
    batch: int = 256
    idle_s: float = 1.0
    store_retry_s: float = 1.0

    @property
    def stream(self) -> str:
        return self.consumer.stream

    async def receive_batch(self) -> int:
        """Fetch one batch, settle it in one inbox transaction, then ack it; how many settled."""
        fetched = await self._fetch(wait=True)
        return 0 if fetched is None else await self._settle(fetched)

    async def run(self) -> None:
        """Receive for ever; a transport failure is retried after a pause.

        While one batch settles, the next is being checked (in the verification workers, if
        the node has them): after a full batch, which says more are waiting, the next is
        fetched, without waiting, before the one ahead settles. The inbox still settles the
        batches one after the other, in stream order.
        """
        ahead: _Fetched | None = None
        while True:
            stop_if_cancelled()
            fetched = None
            try:
                if ahead is None or len(ahead.deliveries) == self.batch:
                    fetched = await self._fetch(wait=ahead is None)
            except TransportError as failure:
                log.warning("receiver: %s", failure)
                if ahead is None:
                    await asyncio.sleep(self.idle_s)
            try:
                if ahead is not None:
                    await self._settle(ahead)
                if self.gaps is not None:
                    await self.gaps.repair_due()
            except TransportError as failure:
                # What was not acknowledged is redelivered by the server.
                log.warning("receiver: %s", failure)
                await asyncio.sleep(self.idle_s)
            ahead = fetched

    async def _fetch(self, wait: bool) -> "_Fetched | None":
        """The next batch, its checks started; with `wait`, the first delivery is waited for
        up to idle_s, else only what the server has already is taken."""
        deliveries = await self.consumer.fetch(self.batch, self.idle_s, wait=wait)
        if not deliveries:
            return None
        checks = asyncio.ensure_future(self.inbox.check([d.data for d in deliveries]))
        await asyncio.sleep(0)  # the checks start (in the workers) before anything settles
        return _Fetched(deliveries, checks)

    async def _settle(self, fetched: "_Fetched") -> int:
        """Settle a fetched batch in one inbox transaction, then ack it; how many settled."""
        deliveries = fetched.deliveries
        items = [(d.data, d.stream_seq) for d in deliveries]
        checks = await fetched.checks
        while True:
            try:
                receipts = await self.inbox.settle(items, checks)
                break
            except (SQLAlchemyError, StoreUnavailable) as failure:
                # Kept, not nak'ed: every redelivery counts against the consumer's max_deliver,
                # after which the server gives the batch up, however long the store was down.
                log.error("inbox: store failed, batch kept until it answers: %s", failure)
                for delivery in deliveries:
                    await delivery.in_progress()
                stop_if_cancelled()
                await asyncio.sleep(self.store_retry_s)
        for delivery, receipt, checked in zip(deliveries, receipts, checks, strict=True):
            if self.gaps is not None:
                self.gaps.note(sender_of(delivery.subject), receipt.outcome, delivery.origin)
            if receipt.outcome == Outcome.QUARANTINED:
                _log_quarantined(delivery, receipt.reason, checked)
            if delivery is not deliveries[-1]:
                await delivery.ack_nowait()
        # Acks travel in order: once the last is confirmed, the server has them all.
        await deliveries[-1].ack()
        return len(deliveries)


def _log_quarantined(delivery: Delivery, reason: str | None, checked: Checked) -> None:
    """One line a quarantined envelope, with who sent it and its case thread when known."""
    envelope = checked.envelope if checked.rejected is None else None  # authentic ones only
    fields: dict[str, str | None] = {"sender": sender_of(delivery.subject), "reason": reason}
    if envelope is not None:
        fields |= {"event_id": envelope.id, "correlation": envelope.correlation}
    log.warning("inbox: quarantined stream seq %s: %s", delivery.stream_seq, reason, extra=fields)


@dataclass(frozen=True)
class _Fetched:
    """A fetched batch and its checks, under way."""

    deliveries: list[Delivery]
    checks: "asyncio.Future[list[Checked]]"


def consumer_name(me: str) -> str:
    """The durable consumer a node reads its inbound stream with."""
    return f"inbox-{me}"
