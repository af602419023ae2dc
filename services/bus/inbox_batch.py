"""One inbox transaction's working state: stream positions, ids seen, rows to write at the end."""

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.bus.envelope import Envelope
from services.bus.topology import JURISDICTION
from services.bus.verification import StreamPosition
from services.store.database import insert_if_absent
from services.store.tables import held, inbound_streams, inbox, quarantine

# The statements of every batch, built once (building one costs about as much CPU as running
# it on SQLite).
_SEEN = select(inbox.c.event_id, inbox.c.stream_seq).where(
    inbox.c.event_id.in_(bindparam("ids", expanding=True))
)
_POSITION = (
    select(inbound_streams.c.applied_seq, inbound_streams.c.head)
    .where(inbound_streams.c.sender == bindparam("of"))
    .with_for_update()
)
_MOVE_POSITION = (
    update(inbound_streams)
    .where(inbound_streams.c.sender == bindparam("of"))
    .values(
        applied_seq=bindparam("new_seq"),
        head=bindparam("new_head"),
        unreceipted=inbound_streams.c.unreceipted + bindparam("more"),
    )
)

RECEIPT_TYPE = "bus.receipt"
SUBJECT_LENGTH = 200  # of inbox.subject, as of an envelope's subject
_CLAIMED_ID = re.compile(r"[!-~]{1,36}")  # printable ASCII, at most an event id's length


@dataclass(frozen=True)
class Claimed:
    """What an envelope claims before anything is verified: used to find rows, never trusted."""

    event_id: str | None = None
    sender: str | None = None


def claimed(raw: bytes) -> Claimed:
    """The id and source an envelope claims, if it is JSON enough to say."""
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        return Claimed()
    if not isinstance(doc, dict):
        return Claimed()
    event_id, sender = doc.get("id"), doc.get("source")
    # Only what a store can hold and look up (no NUL, no lone surrogate): garbage claiming
    # anything else is quarantined without it, not left to fail the batch it came in.
    return Claimed(
        event_id if isinstance(event_id, str) and _CLAIMED_ID.fullmatch(event_id) else None,
        sender if isinstance(sender, str) and JURISDICTION.fullmatch(sender) else None,
    )


def storable(text: str) -> str:
    """`text` as any store holds it: NUL and lone surrogates (which a refusal's detail may
    quote from the bytes refused) written as escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


@dataclass(frozen=True)
class Redriving:
    """A quarantine entry being tried again: its id and its exact bytes."""

    entry_id: int
    raw: bytes


async def requarantine(conn: AsyncConnection, entry_id: int, reason: str, detail: str) -> None:
    """A quarantine entry re-driven and refused again: the same entry, with today's reason."""
    again = {"reason": reason, "detail": storable(detail)}
    await conn.execute(update(quarantine).where(quarantine.c.id == entry_id).values(**again))


@dataclass
class _Stream:
    position: StreamPosition
    exists: bool
    unreceipted: int = 0
    moved: bool = False


class Batch:
    """Positions are read once (locked) and written once; inbox rows are inserted together."""

    def __init__(
        self,
        conn: AsyncConnection,
        now: datetime,
        isolated: bool = True,
        redriving: Redriving | None = None,
    ) -> None:
        self.conn = conn
        self.now = now
        self.isolated = isolated  # each handler in its own savepoint
        self.redriving = redriving
        self.seen: dict[str, int | None] = {}
        self._streams: dict[str, _Stream] = {}
        self._rows: list[dict[str, Any]] = []

    @property
    def positions(self) -> dict[str, StreamPosition]:
        return {sender: s.position for sender, s in self._streams.items()}

    async def load_seen(self, event_ids: list[str | None]) -> None:
        """Which of these events were received before, and at which inbound stream seq."""
        wanted = sorted({i for i in event_ids if i is not None})
        if wanted:
            rows = await self.conn.execute(_SEEN, {"ids": wanted})
            self.seen.update({row.event_id: row.stream_seq for row in rows})

    async def position(self, sender: str | None) -> StreamPosition:
        """Where the stream from `sender` stands, as of this batch."""
        if sender is None:
            return StreamPosition()
        if sender not in self._streams:
            row = (await self.conn.execute(_POSITION, {"of": sender})).one_or_none()
            position = StreamPosition(row.applied_seq, row.head) if row else StreamPosition()
            self._streams[sender] = _Stream(position, exists=row is not None)
        return self._streams[sender].position

    def record(self, envelope: Envelope, raw: bytes, stream_seq: int | None, status: str) -> None:
        """The envelope took its place in its stream; its inbox row is written at flush."""
        stream = self._streams[envelope.source]
        chain_hash = envelope.chain_hash()
        stream.position = StreamPosition(envelope.seq, chain_hash)
        stream.moved = True
        # Receipts are not receipted in turn (that would ping-pong); the next receipt covers them.
        stream.unreceipted += 0 if envelope.type == RECEIPT_TYPE else 1
        self.seen[envelope.id] = stream_seq
        self._rows.append(
            {
                "event_id": envelope.id,
                "sender": envelope.source,
                "seq": envelope.seq,
                "type": envelope.type,
                # Escaped, a NUL stays within the column; the envelope's bytes keep it whole.
                "subject": storable(envelope.subject)[:SUBJECT_LENGTH],
                "correlation": envelope.correlation,
                "chain_hash": chain_hash,
                "envelope": raw,
                "sent_at": envelope.sent_at,
                "stream_seq": stream_seq,
                "status": status,
                "applied_at": self.now,
            }
        )

    async def hold(self, sender: str | None, seq: int, raw: bytes) -> bool:
        """Keep an envelope that arrived before its predecessors; False when another one is
        held in its place (the same bytes again are a redelivery, held already)."""
        row = {"sender": sender, "seq": seq, "envelope": raw, "received_at": self.now}
        if await insert_if_absent(self.conn, held, row):
            return True
        kept = select(held.c.envelope).where(held.c.sender == sender, held.c.seq == seq)
        return bytes((await self.conn.execute(kept)).scalar_one()) == raw

    async def quarantine(
        self, raw: bytes, stream_seq: int | None, reason: str, detail: str
    ) -> None:
        """Keep an envelope that must not be applied, with the reason and its exact bytes; the
        entry being re-driven, refused again, keeps its row with today's reason."""
        if self.redriving is not None and raw == self.redriving.raw:
            await requarantine(self.conn, self.redriving.entry_id, reason, detail)
            return
        who = claimed(raw)
        await self.conn.execute(
            quarantine.insert().values(
                received_at=self.now,
                reason=reason,
                detail=storable(detail),
                sender=who.sender,
                event_id=who.event_id,
                stream_seq=stream_seq,
                raw=raw,
                status="held",
            )
        )

    async def flush(self) -> None:
        """Write the inbox rows and the streams' new positions."""
        if self._rows:
            await self.conn.execute(inbox.insert(), self._rows)
        for sender, stream in self._streams.items():
            if stream.moved:
                await self._write_position(sender, stream)

    async def _write_position(self, sender: str, stream: _Stream) -> None:
        seq, head, more = stream.position.seq, stream.position.head, stream.unreceipted
        if stream.exists:
            moved = {"of": sender, "new_seq": seq, "new_head": head, "more": more}
            await self.conn.execute(_MOVE_POSITION, moved)
            return
        await self.conn.execute(
            inbound_streams.insert().values(
                sender=sender, applied_seq=seq, head=head, receipted_seq=0, unreceipted=more
            )
        )
