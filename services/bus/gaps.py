"""Gap repair: when envelopes of a partner's stream are missing here, read them again from the
partner's own outbound stream (across the leaf node) and hand them to the inbox.

A gap usually closes by itself (a resent batch lands out of order); only one still open after
`after_s` is repaired. The partner's stream is only read, never changed.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import nats.errors
from nats.aio.client import Client as NatsClient
from sqlalchemy import or_, select

from contracts.errors import MalformedEnvelope
from services.bus.envelope import Envelope
from services.bus.inbox import Inbox, Outcome
from services.bus.topology import addressed_to, inbound_stream, outbound_stream
from services.bus.transport import Origin, TransportError, origin_of, replay
from services.store.tables import held, inbound_streams, inbox, quarantine

log = logging.getLogger(__name__)


@dataclass
class OpenGap:
    since: float
    below: int | None  # origin seq (in the sender's stream) of the first envelope held


@dataclass
class GapRepair:
    """Tracks open gaps per sender and repairs the ones that stay open."""

    nc: NatsClient
    me: str
    domains: dict[str, str | None]  # sender -> its JetStream domain (None: ours)
    inbox: Inbox
    clock: Callable[[], float]
    after_s: float = 5.0
    gaps: dict[str, OpenGap] = field(default_factory=dict)
    applied_origin: dict[str, int] = field(default_factory=dict)

    def note(self, sender: str, outcome: Outcome, origin: Origin | None) -> None:
        """Remember what a delivery from `sender` did: held opens a gap, applied moves on.

        A delivery placed after the first one held (a resend that landed late) closed that
        gap: it is forgotten, so that the next envelope held opens a gap of its own.
        """
        if outcome == Outcome.HELD and sender not in self.gaps:
            self.gaps[sender] = OpenGap(self.clock(), origin.seq if origin else None)
        elif outcome != Outcome.HELD and origin is not None:
            self.applied_origin[sender] = max(self.applied_origin.get(sender, 0), origin.seq)
            gap = self.gaps.get(sender)
            if gap is not None and gap.below is not None and origin.seq > gap.below:
                del self.gaps[sender]

    async def resume(self, consumed: int = 0) -> None:
        """After a restart: a gap is open for every sender with envelopes held here (what was
        known of it went with the process), so that it is repaired even if the sender is quiet;
        and for every sender whose last envelope in our inbound stream was consumed (at or below
        `consumed`, the consumer's ack floor) but neither applied nor quarantined here (a store
        restored from a backup): no delivery to come would show that gap."""
        async with self.inbox.db.snapshot() as conn:
            senders = (await conn.execute(select(held.c.sender).distinct())).scalars().all()
        for sender in senders:
            self.gaps.setdefault(sender, OpenGap(self.clock(), None))
        for sender in sorted(self.domains.keys() - self.gaps.keys()):
            lost = await self._lost(sender, consumed)
            if lost is not None:
                log.warning(
                    "%s applied seq %d of %s, which sent up to %d: the store is behind (restored"
                    " from a backup?); reading the rest again",
                    self.me,
                    *lost,
                )
                self.gaps.setdefault(sender, OpenGap(self.clock() - self.after_s, None))

    async def _lost(self, sender: str, consumed: int) -> tuple[int, str, int] | None:
        """(seq applied, `sender`, its last seq) if the last envelope from `sender` in our
        inbound stream was consumed and the store neither applied nor quarantined it."""
        try:
            last = await self.nc.jetstream().get_last_msg(
                inbound_stream(self.me), addressed_to(sender, self.me)
            )
        except nats.errors.Error:  # none from them (or no answer: the next delivery will tell)
            return None
        if last.seq is None or last.seq > consumed or last.data is None:
            return None  # still to come: the receiver sees the gap when it arrives
        try:
            envelope = Envelope.from_wire(last.data)
        except MalformedEnvelope:  # it was quarantined, or will be when it comes again
            return None
        q = quarantine.c
        async with self.inbox.db.snapshot() as conn:
            refused = await conn.scalar(
                # A held envelope refused when its place came has no stream seq: its id tells.
                select(q.id)
                .where(or_(q.stream_seq == last.seq, q.event_id == envelope.id))
                .limit(1)
            )
            applied = await conn.scalar(
                select(inbound_streams.c.applied_seq).where(inbound_streams.c.sender == sender)
            )
        if refused is not None or envelope.seq <= (applied or 0):
            return None
        return applied or 0, sender, envelope.seq

    async def repair_due(self) -> int:
        """Re-read every gap open longer than `after_s`; how many envelopes were re-read."""
        due = [s for s, g in self.gaps.items() if self.clock() - g.since >= self.after_s]
        total = 0
        for sender in due:
            try:
                total += await self._repair(sender, self.gaps[sender])
            except TransportError as failure:
                log.warning("gap repair from %s failed, will retry: %s", sender, failure)
                self.gaps[sender].since = self.clock()
                continue
            del self.gaps[sender]
        return total

    async def _repair(self, sender: str, gap: OpenGap) -> int:
        domain = self.domains.get(sender)
        js = self.nc.jetstream(domain=domain) if domain else self.nc.jetstream()
        first = await self._after_applied(sender)
        last = gap.below - 1 if gap.below else 2**62
        found = await replay(
            js, outbound_stream(sender), first, last, filter_subject=addressed_to(sender, self.me)
        )
        log.info(
            "gap repair: re-read %d envelopes of %s (seq %d..%d)", len(found), sender, first, last
        )
        if found:
            await self.inbox.receive_many([(m.data, None) for m in found])
        return len(found)

    async def _after_applied(self, sender: str) -> int:
        """Where in the sender's stream to read from: after the last envelope applied from it.

        Remembered while the receiver runs; after a restart, read from this node's inbound
        stream's copy of that envelope (its origin header), not from the sender's first
        envelope on: a restart must not re-read the partner's whole history."""
        known = self.applied_origin.get(sender)
        if known is not None:
            return known + 1
        last = (
            select(inbox.c.stream_seq)
            .where(inbox.c.sender == sender, inbox.c.stream_seq.is_not(None))
            .order_by(inbox.c.seq.desc())
            .limit(1)
        )
        async with self.inbox.db.snapshot() as conn:
            stream_seq = (await conn.execute(last)).scalar_one_or_none()
        if stream_seq is None:
            return 1
        try:
            copy = await self.nc.jetstream().get_msg(inbound_stream(self.me), stream_seq)
        except nats.errors.Error:  # gone from the stream (its limits), or no answer
            return 1
        origin = origin_of(copy.headers or {})
        return 1 if origin is None else origin.seq + 1
