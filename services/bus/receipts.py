"""Cumulative signed receipts: "received everything up to seq N, chain head H".

The recipient of a stream issues them through its own outbox (so they are signed, sequenced and
survive a crash like any event); the sender marks its envelopes delivered only when a receipt's
chain head equals its own at that seq.
"""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.agreement import Agreement, AgreementBook
from contracts.errors import NotPermittedByAgreement
from contracts.events.bus import CumulativeReceiptV1
from services.bus.compose import Signer, check_permitted
from services.bus.envelope import Envelope, format_time
from services.bus.handlers import Handler, NotApplicable
from services.bus.outbox import Outgoing, apply_receipt, enqueue
from services.bus.verification import VerifiedEvent
from services.store.tables import inbound_streams


async def issue_receipts(
    conn: AsyncConnection, book: AgreementBook, signer: Signer, now: datetime, at_least: int = 1
) -> list[Envelope]:
    """Receipt every inbound stream with at least `at_least` events applied since its last one."""
    due = await conn.execute(
        select(inbound_streams.c.sender, inbound_streams.c.applied_seq, inbound_streams.c.head)
        .where(inbound_streams.c.unreceipted >= max(at_least, 1))
        .with_for_update()
    )
    sent = []
    for sender, applied_seq, head in due.all():
        receipt = CumulativeReceiptV1(
            sender=sender,
            recipient=signer.jurisdiction,
            up_to_seq=applied_seq,
            chain_head=head,
            received_at=format_time(now),
        )
        agreement = _agreement_permitting(book, signer.jurisdiction, receipt, now)
        if agreement is None:
            continue
        outgoing = Outgoing(receipt, recipient=sender, subject=f"receipt:{signer.jurisdiction}")
        sent.append(await enqueue(conn, agreement, signer, outgoing, now))
        await conn.execute(
            update(inbound_streams)
            .where(inbound_streams.c.sender == sender)
            .values(receipted_seq=applied_seq, unreceipted=0)
        )
    return sent


def _agreement_permitting(
    book: AgreementBook, me: str, receipt: CumulativeReceiptV1, now: datetime
) -> Agreement | None:
    for agreement_id in book.ids():
        loaded = book.in_force(agreement_id, now.date())
        if loaded is None:
            continue
        try:
            check_permitted(loaded.agreement, me, receipt.sender, receipt)
        except NotPermittedByAgreement:
            continue
        return loaded.agreement
    return None


def receipt_handler(me: str, clock: Callable[[], datetime]) -> Handler:
    """The handler of `bus.receipt`: mark our envelopes delivered."""

    async def handle(conn: AsyncConnection, verified: VerifiedEvent) -> None:
        receipt = verified.event
        assert isinstance(receipt, CumulativeReceiptV1)
        if receipt.sender != me or receipt.recipient != verified.envelope.source:
            raise NotApplicable(
                f"receipt for stream {receipt.sender}->{receipt.recipient} reached {me} "
                f"from {verified.envelope.source}"
            )
        await apply_receipt(conn, receipt.recipient, receipt.up_to_seq, receipt.chain_head, clock())

    return handle
