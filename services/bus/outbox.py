"""The transactional outbox: events commit with the domain change that caused them.

`enqueue` runs inside the caller's transaction: it takes the next seq of the sender -> recipient
stream, chains it to the previous envelope, signs it, and stores it. The relay publishes later;
a crash between the two loses nothing.
"""

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.agreement import Agreement, HandlingCode, PublicKey
from contracts.events.base import EventData
from services.bus.compose import Addressing, Signer, draft
from services.bus.envelope import GENESIS, Envelope, Unsigned, new_event_id, seal, seal_batch
from services.bus.handlers import NotApplicable
from services.bus.sealing_keys import SealingKeys
from services.store.database import insert_if_absent
from services.store.tables import outbound_streams, outbox


@dataclass(frozen=True)
class Outgoing:
    """One event for one partner, with its case thread."""

    event: EventData
    recipient: str
    subject: str
    correlation: str | None = None
    causation: str | None = None
    handling: HandlingCode | None = None
    after: str | None = None  # an event id this event's id must sort after (one it revises)


@dataclass(frozen=True)
class PendingEnvelope:
    event_id: str
    recipient: str
    seq: int
    type: str
    envelope: bytes


class ReceiptMismatch(NotApplicable):
    """A partner's receipt names a chain head that is not ours at that seq: an alarm."""

    reason = "receipt_mismatch"


# The statements of every transaction that sends or publishes, built once (building one costs
# about as much CPU as running it on SQLite).
_LOCK_STREAM = (
    select(outbound_streams.c.last_seq, outbound_streams.c.head)
    .where(outbound_streams.c.recipient == bindparam("recipient"))
    .with_for_update()
)
_MOVE_HEAD = (
    update(outbound_streams)
    .where(outbound_streams.c.recipient == bindparam("to"))
    .values(last_seq=bindparam("new_seq"), head=bindparam("new_head"))
)
# The oldest pending rows (at most `limit`), each with the bytes of the ones before it: a
# round's envelopes are read only up to `budget` bytes (the first one always).
_HEAD = (
    select(
        outbox.c.event_id,
        outbox.c.recipient,
        outbox.c.seq,
        func.length(outbox.c.envelope).label("size"),
    )
    .where(outbox.c.status == "pending")
    .order_by(outbox.c.recipient, outbox.c.seq)
    .limit(bindparam("limit"))
    .cte("head")
)
_SIZED = select(
    _HEAD.c.event_id,
    (func.sum(_HEAD.c.size).over(order_by=(_HEAD.c.recipient, _HEAD.c.seq)) - _HEAD.c.size).label(
        "before"
    ),
).cte("sized")
_PENDING = (
    select(outbox.c.event_id, outbox.c.recipient, outbox.c.seq, outbox.c.type, outbox.c.envelope)
    .select_from(outbox.join(_SIZED, _SIZED.c.event_id == outbox.c.event_id))
    .where(_SIZED.c.before < bindparam("budget"))
    .order_by(outbox.c.recipient, outbox.c.seq)
)
UNBOUNDED = 2**62
_PUBLISHED = (
    update(outbox)
    .where(
        outbox.c.status == "pending",
        outbox.c.recipient == bindparam("to"),
        outbox.c.seq.between(bindparam("first"), bindparam("last")),
    )
    .values(status="published", published_at=bindparam("at"))
)


async def enqueue(
    conn: AsyncConnection, agreement: Agreement, signer: Signer, outgoing: Outgoing, now: datetime
) -> Envelope:
    """Sign `outgoing` as the next envelope of its stream and store it, in `conn`'s transaction."""
    return (await enqueue_many(conn, agreement, signer, [outgoing], now))[0]


async def enqueue_many(
    conn: AsyncConnection,
    agreement: Agreement,
    signer: Signer,
    outgoing: Sequence[Outgoing],
    now: datetime,
) -> list[Envelope]:
    """Sign each event as the next envelope of its stream and store them all, in order.

    Where the agreement provides for batch signatures, the envelopes of one call to one
    recipient (if more than one) are signed in batches of its `max_envelopes`: one signature per
    batch, each envelope with its inclusion proof; otherwise each is signed alone. The envelopes
    to one recipient share one ephemeral sealing key (per 1,024), never another's.
    """
    heads = {r: await lock_stream(conn, r) for r in dict.fromkeys(o.recipient for o in outgoing)}
    counts = Counter(o.recipient for o in outgoing)
    batches = agreement.batch_signing
    drafts: dict[str, list[tuple[int, Unsigned]]] = defaultdict(list)
    envelopes: dict[int, Envelope] = {}
    sealing = SealingKeys()
    keys: dict[str, PublicKey] = {}  # each recipient's encryption key, looked up once
    for position, item in enumerate(outgoing):
        seq, prev = heads[item.recipient]
        to = Addressing(
            recipient=item.recipient,
            subject=item.subject,
            seq=seq + 1,
            prev=prev,
            correlation=item.correlation,
            causation=item.causation,
            handling=item.handling,
        )
        event_id = None if item.after is None else new_event_id(item.after)
        document = draft(agreement, signer, item.event, to, now, event_id, sealing, keys)
        if batches is not None and counts[item.recipient] > 1:
            unsigned = Unsigned.of(document)
            drafts[item.recipient].append((position, unsigned))
            heads[item.recipient] = (to.seq, unsigned.batch_chain_hash())
        else:
            envelopes[position] = seal(document, signer.key)
            heads[item.recipient] = (to.seq, envelopes[position].chain_hash())
    for batch in drafts.values():
        assert batches is not None
        for start in range(0, len(batch), batches.max_envelopes):
            chunk = batch[start : start + batches.max_envelopes]
            signed = seal_batch([unsigned for _, unsigned in chunk], signer.key)
            envelopes.update(zip((position for position, _ in chunk), signed, strict=True))
    ordered = [envelopes[position] for position in range(len(outgoing))]
    await conn.execute(outbox.insert(), [outbox_row(e, now) for e in ordered])
    for recipient, (seq, head) in heads.items():
        await move_head(conn, recipient, seq, head)
    return ordered


async def move_head(conn: AsyncConnection, recipient: str, seq: int, head: str) -> None:
    """The stream's last seq and chain head are now `seq` and `head` (locked: lock_stream)."""
    await conn.execute(_MOVE_HEAD, {"to": recipient, "new_seq": seq, "new_head": head})


async def lock_stream(conn: AsyncConnection, recipient: str) -> tuple[int, str]:
    """The stream's last seq and chain head, locked until the transaction ends."""
    stream = (await conn.execute(_LOCK_STREAM, {"recipient": recipient})).one_or_none()
    if stream is None:  # the first envelope to this recipient (or a concurrent first)
        await insert_if_absent(
            conn,
            outbound_streams,
            {"recipient": recipient, "last_seq": 0, "head": GENESIS, "delivered_seq": 0},
        )
        stream = (await conn.execute(_LOCK_STREAM, {"recipient": recipient})).one()
    return int(stream.last_seq), str(stream.head)


def outbox_row(envelope: Envelope, now: datetime, status: str = "pending") -> dict[str, Any]:
    """The outbox row of `envelope`, signed and stored at `now`."""
    return {
        "event_id": envelope.id,
        "recipient": envelope.recipient,
        "seq": envelope.seq,
        "type": envelope.type,
        "subject": envelope.subject,
        "correlation": envelope.correlation,
        "chain_hash": envelope.chain_hash(),
        "envelope": envelope.wire_bytes(),
        "sent_at": envelope.sent_at,
        "status": status,
        "created_at": now,
        "published_at": None,
        "delivered_at": None,
    }


async def pending(
    conn: AsyncConnection, limit: int, max_bytes: int = UNBOUNDED
) -> list[PendingEnvelope]:
    """The oldest unpublished envelopes, in stream order: at most `limit`, and no more than
    `max_bytes` of envelopes unless the first alone is larger."""
    rows = await conn.execute(_PENDING, {"limit": limit, "budget": max_bytes})
    return [PendingEnvelope(*row) for row in rows]


async def mark_published(
    conn: AsyncConnection, rows: Sequence[PendingEnvelope], now: datetime
) -> None:
    """JetStream acknowledged these envelopes, read by `pending` (all, or one recipient's).

    `pending` gives each stream's oldest pending envelopes without a gap, and a seq is taken
    only above every committed one, so they are each stream's pending rows between the first
    seq and the last: marked by that range (one bounded index range per stream), not by a list
    of ids that the store may answer by scanning every pending row.
    """
    ranges: dict[str, tuple[int, int]] = {}
    for row in rows:
        first, last = ranges.get(row.recipient, (row.seq, row.seq))
        ranges[row.recipient] = (min(first, row.seq), max(last, row.seq))
    for recipient, (first, last) in ranges.items():
        await conn.execute(_PUBLISHED, {"to": recipient, "first": first, "last": last, "at": now})


async def apply_receipt(
    conn: AsyncConnection, recipient: str, up_to_seq: int, chain_head: str, now: datetime
) -> int:
    """Mark delivered everything up to `up_to_seq` once the partner's chain head matches ours."""
    ours = (
        await conn.execute(
            select(outbox.c.chain_hash).where(
                outbox.c.recipient == recipient, outbox.c.seq == up_to_seq
            )
        )
    ).scalar_one_or_none()
    if ours != chain_head:
        raise ReceiptMismatch(
            f"{recipient} receipts seq {up_to_seq} with head {chain_head[:12]}…, "
            f"ours is {(ours or 'absent')[:12]}…"
        )
    # Everything up to the stream's delivered_seq was marked delivered when it was raised, in
    # the same transaction: only what lies above it is read, not the stream's whole history.
    delivered_seq = func.coalesce(
        select(outbound_streams.c.delivered_seq)
        .where(outbound_streams.c.recipient == recipient)
        .scalar_subquery(),
        0,
    )
    result = await conn.execute(
        update(outbox)
        .where(
            outbox.c.recipient == recipient,
            outbox.c.seq > delivered_seq,
            outbox.c.seq <= up_to_seq,
            outbox.c.status != "delivered",
        )
        .values(status="delivered", delivered_at=now)
    )
    await conn.execute(
        update(outbound_streams)
        .where(
            outbound_streams.c.recipient == recipient,
            outbound_streams.c.delivered_seq < up_to_seq,
        )
        .values(delivered_seq=up_to_seq)
    )
    return int(result.rowcount)
