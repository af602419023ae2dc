"""A store behind its own outbound stream catches up before the relay publishes.

A store restored from a backup, or one that lost its last commits (a machine that lost power),
may hold its stream to a partner only up to seq P while OUT_<sender> holds envelopes past P that
the partner has applied. Signing the next envelopes from P+1 would fork the chain, and the
partner would quarantine every envelope sent from then on (`replayed`), for good. So at start,
before the relay publishes, the last envelope the stream holds for each partner is looked up in
the store. Where the store does not hold it, the envelopes past P are read back from the stream
and checked as `log verify` checks them (seq by seq, each `prev` the hash of the one before from
the store's P, our own signature), then written to the outbox as published; the envelopes signed
since and not yet published are signed again after them, with the same event ids and data, and
the flows that record their envelopes' seqs are told the new ones (`Renumbered`).

What the envelopes read back did to this node's own cases is not rebuilt: their personal data is
sealed to the partner. The log names those cases for the operators, who get them again from the
partner (docs/operations.md, *Restore*).
"""

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import nats.errors
import nats.js.errors
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.bus.audit import StreamCheck
from services.bus.envelope import GENESIS, Envelope, seal
from services.bus.outbox import lock_stream, move_head, outbox_row
from services.bus.topology import addressed_to, outbound_stream
from services.bus.transport import JetStreamUnavailable, StoredMessage, patiently, replay
from services.node import Node
from services.store.tables import outbox

log = logging.getLogger(__name__)

TAIL = 2_048
"""Default of catch_up's `tail`: twice the relay's default round."""

WINDOW = 10_000
"""Stream messages read back at a time while looking for the envelopes past the store's."""

SHOWN = 50
"""Cases named in the log line of a catch-up."""


class StoreBehindStream(Exception):
    """The store is behind its outbound stream and the stream cannot bring it level."""


@dataclass(frozen=True)
class CaughtUp:
    recipient: str
    store_seq: int  # the last envelope the store held as published
    read_back: list[Envelope]  # store_seq + 1 ... from the stream, now held as published
    signed_again: int  # envelopes signed since, now after them
    not_here: list[Envelope]  # of `read_back`, those the store did not hold at all

    def cases(self) -> list[str]:
        """The cases that `not_here` changed (their subjects)."""
        return list(dict.fromkeys(e.subject for e in self.not_here))


Renumbered = Callable[[AsyncConnection, str, Mapping[str, tuple[int, int]]], Awaitable[None]]
"""Told, in the catch-up's transaction, (our jurisdiction, {event id: (old seq, new seq)}) of our
envelopes signed again at new seqs: for a flow that records its envelopes' seqs."""


async def catch_up(
    node: Node,
    nc: NatsClient,
    recipients: Iterable[str],
    renumbered: Sequence[Renumbered] = (),
    tail: int = TAIL,
) -> list[CaughtUp]:
    """Bring the store level with OUT_<us> for each of `recipients`; what had to be done.
    `tail`: the stream messages at its end in which the highest seq sent is looked for (two
    relay rounds: a round published again lands after those of it that had gone through)."""
    done = []
    for recipient in recipients:
        caught = await _catch_up(node, nc, recipient, renumbered, tail)
        if caught is not None:
            done.append(caught)
            _report(node.jurisdiction, caught)
    return done


async def _catch_up(
    node: Node, nc: NatsClient, recipient: str, renumbered: Sequence[Renumbered], tail: int
) -> CaughtUp | None:
    js = nc.jetstream()
    stream = outbound_stream(node.jurisdiction)
    subjects = addressed_to(node.jurisdiction, recipient)
    last = await _last(nc, stream, subjects, recipient)
    if last is None:
        return None
    ending = await patiently(
        f"{stream}: the last envelopes to {recipient}",
        lambda: _tail(js, stream, subjects, max(1, last - tail + 1), last),
    )
    tail_envelopes = [Envelope.from_wire(m.data) for m in ending]
    newest = max(tail_envelopes, key=lambda e: e.seq)
    o = outbox.c
    async with node.db.snapshot() as conn:
        at_newest = await conn.scalar(
            select(o.event_id).where(o.recipient == recipient, o.seq == newest.seq)
        )
        if at_newest == newest.id:
            return None
        level = (
            await conn.execute(
                select(o.seq, o.chain_hash)
                .where(o.recipient == recipient, o.status != "pending")
                .order_by(o.seq.desc())
                .limit(1)
            )
        ).one_or_none()
    store_seq, head = (int(level.seq), str(level.chain_hash)) if level else (0, GENESIS)
    if newest.seq <= store_seq:
        raise StoreBehindStream(
            f"the store's stream to {recipient} forks from {stream}: it holds another envelope "
            f"than the stream's ({newest.id}) at seq {newest.seq}"
        )
    found: dict[int, Envelope] = {}
    for envelope in tail_envelopes:  # what the tail holds already need not be read again
        if store_seq < envelope.seq:
            found.setdefault(envelope.seq, envelope)
    read_back = await patiently(
        f"{stream}: the envelopes to {recipient} past seq {store_seq}",
        lambda: _read_back(js, stream, subjects, store_seq, newest.seq, last, found),
    )
    _check(node, recipient, store_seq, head, read_back)
    taken_in = await _take_in(node, recipient, store_seq, read_back, renumbered)
    if taken_in is None:
        return None  # another process of this node caught the store up first
    signed_again, held = taken_in
    not_here = [e for e in read_back if e.id not in held]
    return CaughtUp(recipient, store_seq, read_back, signed_again, not_here)


async def _last(nc: NatsClient, stream: str, subjects: str, recipient: str) -> int | None:
    """The stream seq of the last message to `recipient`: None if there is none, or if the
    node's NATS user may not read it (permissions made before this version: said in the log).
    Any other failure is asked again until it answers: the relay must not sign on before."""

    async def ask() -> int | None:
        try:
            last = await nc.jetstream().get_last_msg(stream, subjects)
        except nats.js.errors.NotFoundError:
            return None  # nothing sent to them yet (or a stream lost: docs/operations.md)
        except nats.errors.Error as failed:
            if not _denied(nc, f"STREAM.MSG.GET.{stream}"):
                raise JetStreamUnavailable(f"{failed!r}") from failed
            log.warning(
                "%s: the NATS user may not read the last envelope to %s, so whether the "
                "store is behind it is not known; regenerate the NATS permissions "
                "(fengqiao agreement nats-permissions)",
                stream,
                recipient,
            )
            return None
        if last.seq is None:
            raise JetStreamUnavailable(f"its last message to {recipient} came without a seq")
        return last.seq

    return await patiently(f"{stream}: the last envelope to {recipient}", ask)


def _denied(nc: NatsClient, what: str) -> bool:
    """Whether the server refused this connection a publish to a subject containing `what`."""
    error = str(nc.last_error or "").lower()  # the client lower-cases the server's -ERR
    return "permissions violation" in error and what.lower() in error


async def _tail(
    js: JetStreamContext, stream: str, subjects: str, first: int, last: int
) -> list[StoredMessage]:
    """The stream's messages to one partner from `first` through `last`, which is one of them:
    a read cut short (a fetch timed out) is unavailable, to be asked again."""
    ending = await replay(js, stream, first, last, filter_subject=subjects)
    if not ending or ending[-1].seq != last:
        raise JetStreamUnavailable(f"the read of seq {first}-{last} stopped short")
    return ending


async def _read_back(
    js: JetStreamContext,
    stream: str,
    subjects: str,
    after: int,
    through: int,
    last: int,
    found: dict[int, Envelope],
) -> list[Envelope]:
    """The envelopes `after`+1 ... `through` the stream holds for one partner, up to stream seq
    `last`, beyond those `found` already: read from where a search puts the first of them, or
    from the stream's first message if that missed some (a resend placed out of order)."""
    if len(found) < through - after:
        try:
            first = (await js.stream_info(stream)).state.first_seq
            near = await _near(js, stream, subjects, after, first, last)
        except nats.errors.Error as failed:
            raise JetStreamUnavailable(f"{failed!r}") from failed
        for start in dict.fromkeys([near, first]):
            await _read(js, stream, subjects, after, through, start, last, found)
            if len(found) == through - after:
                break
    if len(found) == through - after:
        return [found[seq] for seq in range(after + 1, through + 1)]
    missing = [seq for seq in range(after + 1, through + 1) if seq not in found]
    raise StoreBehindStream(
        f"{stream} did not give back seq {missing[0]} (of {len(missing)} missing) to catch up "
        f"the store, which holds only up to seq {after}: if the stream still holds them "
        "(nats stream info), start the node again; if not, restore a newer backup of the store"
    )


async def _near(
    js: JetStreamContext, stream: str, subjects: str, after: int, first: int, last: int
) -> int:
    """A stream seq a window before the first envelope past `after`: a binary search over the
    envelopes' seqs, which the relay publishes in order."""
    low, high = first, last
    while low < high:
        middle = (low + high) // 2
        message = await js.get_msg(stream, seq=middle, next=True, subject=subjects)
        if message.data is None or message.seq is None:
            raise JetStreamUnavailable(f"{stream}: message {middle} came back empty")
        if Envelope.from_wire(message.data).seq > after:
            high = middle
        else:
            low = message.seq + 1
    return max(first, low - WINDOW)


async def _read(
    js: JetStreamContext,
    stream: str,
    subjects: str,
    after: int,
    through: int,
    start: int,
    last: int,
    found: dict[int, Envelope],
) -> None:
    """Add to `found` the envelopes `after`+1 ... `through` (the first copy of each) from stream
    seq `start` to `last`, WINDOW messages at a time."""
    while start <= last and len(found) < through - after:
        end = min(start + WINDOW - 1, last)
        for message in await replay(js, stream, start, end, filter_subject=subjects):
            envelope = Envelope.from_wire(message.data)
            if after < envelope.seq <= through:
                found.setdefault(envelope.seq, envelope)
        start = end + 1


def _check(node: Node, recipient: str, after: int, head: str, envelopes: list[Envelope]) -> None:
    """Our own envelopes, chained from the store's seq `after` (hash `head`), signed by us."""
    check = StreamCheck("sent", recipient, node.book)
    check.audit.envelopes, check.audit.head = after, head
    check.add(e.wire_bytes() for e in envelopes)
    problems = check.audit.problems + [
        f"seq {e.seq} ({e.id}): from {e.source} to {e.recipient}"
        for e in envelopes
        if (e.source, e.recipient) != (node.jurisdiction, recipient)
    ]
    if problems:
        raise StoreBehindStream(
            f"the envelopes to {recipient} past the store's seq {after} in its outbound stream do "
            f"not continue its chain: {'; '.join(problems[:3])}"
        )


async def _take_in(
    node: Node,
    recipient: str,
    after: int,
    read_back: list[Envelope],
    renumbered: Sequence[Renumbered],
) -> tuple[int, set[str]] | None:
    """Hold `read_back` as published and sign again, after them, what is pending past `after`:
    how many were signed again, and the ids of `read_back` the store held (pending). None if
    the store holds them as published already (another process of the node on this store)."""
    o = outbox.c
    now = node.clock()
    taken = {e.id for e in read_back}
    async with node.unit_of_work() as conn:
        await lock_stream(conn, recipient)
        later = (
            await conn.execute(
                select(o.envelope, o.status)
                .where(o.recipient == recipient, o.seq > after)
                .order_by(o.seq)
            )
        ).all()
        if any(row.status != "pending" for row in later):
            if [row.envelope for row in later[: len(read_back)]] == [
                e.wire_bytes() for e in read_back
            ]:
                return None
            raise StoreBehindStream(f"the store's stream to {recipient} moved while catching up")
        await conn.execute(delete(outbox).where(o.recipient == recipient, o.seq > after))
        rows = [outbox_row(e, now, "published") | {"published_at": now} for e in read_back]
        seq, head = read_back[-1].seq, read_back[-1].chain_hash()
        pending = [Envelope.from_wire(row.envelope) for row in later]
        again = [e for e in pending if e.id not in taken]
        moves: dict[str, tuple[int, int]] = {}
        for envelope in again:
            seq += 1
            signed = seal(
                _resequenced(envelope.document(), node.signer.kid, seq, head), node.signer.key
            )
            rows.append(outbox_row(signed, now))
            head = signed.chain_hash()
            moves[envelope.id] = (envelope.seq, seq)
        await conn.execute(outbox.insert(), rows)
        await move_head(conn, recipient, seq, head)
        for flow in renumbered:
            await flow(conn, node.jurisdiction, moves)
    return len(again), {e.id for e in pending} & taken


def _resequenced(document: dict[str, Any], kid: str, seq: int, prev: str) -> dict[str, Any]:
    """An envelope's object, unsigned, at another place in its stream (signed alone)."""
    unsigned = {k: v for k, v in document.items() if k not in ("signature", "proof")}
    return unsigned | {"seq": seq, "prev": prev, "kid": kid}


def _report(sender: str, caught: CaughtUp) -> None:
    cases = caught.cases()
    log.warning(
        "%s -> %s: the store held the stream only up to seq %d; seq %d-%d read back from "
        "OUT_%s and held as published, %d envelopes signed since renumbered after them. "
        "What they did to the cases here is not in the store: get these %d cases again from "
        "%s: %s",
        sender,
        caught.recipient,
        caught.store_seq,
        caught.read_back[0].seq,
        caught.read_back[-1].seq,
        sender,
        caught.signed_again,
        len(cases),
        caught.recipient,
        ", ".join(cases[:SHOWN])
        + (f" and {len(cases) - SHOWN} more" if len(cases) > SHOWN else ""),
    )
