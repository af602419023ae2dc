"""The JetStream layer under the outbox relay and the inbox: streams, publishing, consuming, replay.

A sender writes into OUT_<sender> in its own JetStream domain; each recipient's IN_<recipient>,
in the recipient's domain, sources from every partner's OUT stream what is addressed to it, across
the leaf node. A broken link only delays delivery and both ends keep a copy. Names come from
services.bus.topology. Every function takes a JetStream context; none connects by itself.
"""

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    ExternalStream,
    Header,
    RetentionPolicy,
    StorageType,
    StreamConfig,
    StreamInfo,
    StreamSource,
)

from services.bus.pubacks import Message, PubAcks
from services.bus.pull import PullFeed, PullRefused
from services.bus.topology import (
    Partner,
    addressed_to,
    api_prefix,
    deliver_prefix,
    inbound_stream,
    outbound_stream,
    outbound_subjects,
    sender_of,
)

MSG_ID = "Nats-Msg-Id"
SOURCE = "Nats-Stream-Source"
STREAM_NAME_IN_USE = 10058  # same name, different config: try an update
STREAM_STORE_FAILED = 10077  # discard=new refused the write: the stream is at its limits
NOT_PLACED_YET = (
    10005,  # no suitable peers for placement: the cluster's servers are not all up yet
    10202,  # cluster member change is in progress
)
DEFAULT_BACKOFF = (5.0, 30.0, 120.0, 600.0)
RETRY_S = (1.0, 2.0, 4.0, 8.0)
"""Pauses before asking JetStream again when it did not answer (then every 8 s)."""
PATIENCE_S = 60.0
"""How long `patiently` waits with warnings; after, each line is an error (for the alarms)."""

log = logging.getLogger(__name__)
T = TypeVar("T")


class TransportError(Exception):
    """NATS JetStream refused an operation or could not confirm it."""


def stop_if_cancelled() -> None:
    """Raise the cancel of the current task that nats-py swallowed: a publish that waits while
    it flushes catches CancelledError and returns (nats-py 2.16, `Client._flush_pending`), so a
    loop cancelled there would go on. The task still counts the request (`cancelling()`)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class JetStreamUnavailable(TransportError):
    """JetStream did not answer or is not ready (no leader yet, link down): try again later."""


async def patiently(what: str, ask: Callable[[], Awaitable[T]]) -> T:
    """What `ask` answers, asked again while JetStream is unavailable (a region's cluster still
    electing its leaders, a server restarting), with a warning each time (an error after
    PATIENCE_S). For the steps a node cannot start without: giving up would only wait for an
    operator to start it again. A refusal (StreamConflict) is not asked again."""
    pauses = itertools.chain(RETRY_S, itertools.repeat(RETRY_S[-1]))
    clock = asyncio.get_running_loop().time
    since = clock()
    while True:
        try:
            return await ask()
        except JetStreamUnavailable as failed:
            stop_if_cancelled()  # a cancel nats-py swallowed under `ask` ends the wait
            pause = next(pauses)
            level = logging.WARNING if clock() - since < PATIENCE_S else logging.ERROR
            log.log(level, "%s: %s; asking again in %g s", what, failed, pause)
            await asyncio.sleep(pause)


class PublishNotConfirmed(TransportError):
    """No PubAck: the event may or may not be stored. Publish again with the same msg id."""


class StreamFull(TransportError):
    """The outbound stream is at its limits and refuses new events (discard=new)."""


class StreamMissing(TransportError):
    """No stream holds this subject or name in the domain asked."""


class StreamConflict(TransportError):
    """A stream of this name exists with a configuration that cannot be changed to ours."""


@dataclass(frozen=True)
class Published:
    """Where an event landed; `duplicate` means an earlier publish with its msg id had stored it."""

    stream: str
    seq: int
    duplicate: bool


@dataclass(frozen=True)
class Outgoing:
    """One event to publish: subject, payload bytes and its msg id (the event id)."""

    subject: str
    payload: bytes
    msg_id: str


@dataclass(frozen=True)
class Origin:
    """Where a sourced message was in the sender's outbound stream."""

    stream: str
    seq: int


@dataclass(frozen=True)
class StoredMessage:
    """A message read back from a stream by sequence (gap re-requests)."""

    seq: int
    subject: str
    data: bytes
    msg_id: str | None


async def ensure_outbound_stream(
    js: JetStreamContext,
    sender: str,
    *,
    replicas: int = 1,
    max_bytes: int = -1,
    max_age: float = 0.0,
    duplicate_window: float = 120.0,
) -> StreamInfo:
    """Create or update OUT_<sender>: Limits retention, discard=new, de-duplication by msg id."""
    config = StreamConfig(
        name=outbound_stream(sender),
        subjects=[outbound_subjects(sender)],
        # Limits, not WorkQueue or Interest: those origins are not resilient across leaf nodes,
        # and the sender's copy is what a partner replays a gap from.
        retention=RetentionPolicy.LIMITS,
        # A full stream refuses the write (the relay retries) rather than dropping old events.
        discard=DiscardPolicy.NEW,
        storage=StorageType.FILE,
        num_replicas=replicas,
        max_bytes=max_bytes,
        max_age=max_age,
        duplicate_window=duplicate_window,
    )
    return await _create_or_update(js, config)


async def ensure_inbound_stream(
    js: JetStreamContext,
    recipient: str,
    partners: Sequence[Partner],
    *,
    replicas: int = 1,
    max_bytes: int = -1,
    duplicate_window: float = 120.0,
) -> StreamInfo:
    """Create or update IN_<recipient>, sourcing what each partner's OUT stream addresses to it."""
    config = StreamConfig(
        name=inbound_stream(recipient),
        sources=[_source(partner, recipient) for partner in partners],
        retention=RetentionPolicy.LIMITS,
        # Full means sourcing pauses and resumes later; nothing unapplied is dropped.
        discard=DiscardPolicy.NEW,
        storage=StorageType.FILE,
        num_replicas=replicas,
        max_bytes=max_bytes,
        duplicate_window=duplicate_window,
    )
    return await _create_or_update(js, config)


def _source(partner: Partner, recipient: str) -> StreamSource:
    sender = partner.jurisdiction
    external = None
    if partner.domain is not None:
        external = ExternalStream(
            api=api_prefix(partner.domain), deliver=deliver_prefix(sender, recipient)
        )
    return StreamSource(
        name=outbound_stream(sender),
        filter_subject=addressed_to(sender, recipient),
        external=external,
    )


async def _create_or_update(js: JetStreamContext, config: StreamConfig) -> StreamInfo:
    try:
        info: StreamInfo = await js.add_stream(config)
        return info
    except nats.js.errors.BadRequestError as refused:
        if refused.err_code != STREAM_NAME_IN_USE:
            raise _failure(js, str(config.name), refused) from refused
    except nats.errors.Error as failed:
        raise _failure(js, str(config.name), failed) from failed
    try:
        info = await js.update_stream(config)
        return info
    except nats.errors.Error as failed:
        raise _failure(js, str(config.name), failed) from failed


def _failure(js: JetStreamContext, what: str, failed: nats.errors.Error) -> TransportError:
    """What a refused or unanswered JetStream request means at a node's start. A JetStream
    not there yet (no answer, starting up, its cluster electing or short of servers to place
    the replicas) is unavailable: ask again. Any other refusal is the node's settings against
    the region's (replicas on a single server, a stream made otherwise): asking again would not
    change it."""
    if isinstance(failed, nats.js.errors.ServiceUnavailableError) and failed.err_code is None:
        # nats-py's name for "no responders": nothing serves the JetStream API asked.
        return JetStreamUnavailable(
            f"{what}: no JetStream answers at {js._prefix} (starting, or not enabled on the server)"
        )
    if isinstance(failed, nats.js.errors.APIError) and not (
        isinstance(failed, nats.js.errors.ServiceUnavailableError)
        or failed.err_code in NOT_PLACED_YET
    ):
        return StreamConflict(f"{what}: {failed.description} (error {failed.err_code})")
    detail = failed.description if isinstance(failed, nats.js.errors.APIError) else failed
    return JetStreamUnavailable(f"{what}: {detail}")


async def publish(
    js: JetStreamContext, subject: str, payload: bytes, msg_id: str, *, timeout: float = 5.0
) -> Published:
    """Publish one event with Nats-Msg-Id = `msg_id`; a duplicate PubAck counts as success."""
    stream = outbound_stream(sender_of(subject))
    try:
        ack = await js.publish(
            subject, payload, timeout=timeout, stream=stream, headers={MSG_ID: msg_id}
        )
    except nats.errors.Error as failed:
        raise _publish_error(subject, failed) from failed
    return Published(stream=ack.stream, seq=ack.seq, duplicate=bool(ack.duplicate))


async def publish_batch(
    js: JetStreamContext,
    outgoing: Sequence[Outgoing],
    *,
    timeout: float = 10.0,
    acks: PubAcks | None = None,
) -> list[Published]:
    """Publish many events pipelined, in order; on any failure, publish the whole batch again.

    Resending is safe because each event carries its msg id: what had landed comes back as a
    duplicate. Raises the first failure once every PubAck has been answered or timed out.
    `acks` is the publisher's PubAcks, kept open between batches; without, one is opened for
    the call.
    """
    streams: dict[str, str] = {}  # by subject: a batch has a few, each checked once
    messages = []
    for event in outgoing:
        stream = streams.get(event.subject)
        if stream is None:
            stream = streams[event.subject] = outbound_stream(sender_of(event.subject))
        headers = {MSG_ID: event.msg_id, Header.EXPECTED_STREAM: stream}
        messages.append((event.subject, event.payload, headers))
    try:
        if acks is not None:
            answers = await acks.publish(messages, timeout)
        else:
            answers = await _publish_once(js, messages, timeout)
        for answer in answers:
            if isinstance(answer, nats.errors.Error):
                raise answer
    except nats.errors.Error as failed:
        raise _publish_error(f"batch of {len(outgoing)}", failed) from failed
    return [
        Published(stream=a["stream"], seq=a["seq"], duplicate=bool(a.get("duplicate")))
        for a in answers
        if isinstance(a, dict)
    ]


async def _publish_once(
    js: JetStreamContext, messages: list[Message], timeout: float
) -> list[dict[str, Any] | nats.errors.Error]:
    acks = await open_pubacks(js)
    try:
        return await acks.publish(messages, timeout)
    finally:
        await acks.close()


async def open_pubacks(js: JetStreamContext) -> PubAcks:
    """A PubAcks on `js`'s connection, subscribed: keep it for every batch a publisher sends."""
    # nats-py 2.16 has no public accessor for a context's connection.
    acks = PubAcks(js._nc)
    await acks.open()
    return acks


def _publish_error(what: str, failed: nats.errors.Error) -> TransportError:
    if isinstance(failed, nats.js.errors.NoStreamResponseError):
        return StreamMissing(f"no stream holds {what}")
    if isinstance(failed, nats.js.errors.APIError) and failed.err_code == STREAM_STORE_FAILED:
        return StreamFull(f"{what}: {failed.description}")
    return PublishNotConfirmed(f"{what}: {type(failed).__name__} {failed}")


@dataclass(frozen=True)
class Delivery:
    """One message handed to a consumer: ack only after its effects are committed."""

    subject: str
    data: bytes
    msg_id: str | None
    stream_seq: int
    origin: Origin | None
    attempt: int
    last_attempt: bool
    msg: Msg

    async def ack(self, timeout: float = 2.0) -> None:
        """Acknowledge and wait until the server has it, so it will not be redelivered."""
        try:
            await self.msg.ack_sync(timeout=timeout)
        except nats.errors.Error as failed:
            raise TransportError(f"ack of {self.stream_seq} not confirmed: {failed}") from failed

    async def ack_nowait(self) -> None:
        """Acknowledge without waiting; a lost ack only means a redelivery the inbox ignores."""
        await self.msg.ack()

    async def in_progress(self) -> None:
        """Tell the server the delivery is still being worked on: it is not redelivered (nor
        counted as one more attempt) before another AckWait."""
        try:
            await self.msg.in_progress()
        except nats.errors.Error as failed:
            raise TransportError(f"progress of {self.stream_seq} not sent: {failed}") from failed

    async def nak(self, delay: float | None = None) -> None:
        """Ask for redelivery (after `delay` seconds), counting as one more attempt."""
        await self.msg.nak(delay=delay)

    async def term(self) -> None:
        """Never redeliver: the caller has quarantined it."""
        await self.msg.term()


class DurableConsumer:
    """A durable pull consumer with explicit acks and bounded, backed-off redelivery.

    After `max_deliver` attempts the server stops redelivering and publishes
    max_deliveries_advisory(stream, name); `Delivery.last_attempt` lets the caller quarantine
    before that happens, so nothing is left unaccounted for.
    """

    def __init__(self, feed: PullFeed, stream: str, name: str, max_deliver: int) -> None:
        self._feed = feed
        self.stream = stream
        self.name = name
        self.max_deliver = max_deliver

    @classmethod
    async def bind(
        cls,
        js: JetStreamContext,
        stream: str,
        name: str,
        *,
        filter_subject: str | None = None,
        max_deliver: int = 5,
        backoff: Sequence[float] = DEFAULT_BACKOFF,
        max_ack_pending: int = 1000,
    ) -> "DurableConsumer":
        """Create or update the durable consumer `name` on `stream` and subscribe to it."""
        config = ConsumerConfig(
            durable_name=name,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            max_deliver=max_deliver,
            # The server waits backoff[n] before the n+1-th delivery; it needs max_deliver > len.
            backoff=list(backoff),
            max_ack_pending=max_ack_pending,
            filter_subject=filter_subject,
        )
        # nats-py 2.16 has no public accessor for a context's connection or API prefix.
        feed = PullFeed(js._nc, f"{js._prefix}.CONSUMER.MSG.NEXT.{stream}.{name}")
        try:
            await js.add_consumer(stream, config)
            await feed.open()
        except nats.js.errors.NotFoundError as missing:
            raise StreamMissing(f"{stream}: {missing.description}") from missing
        except nats.errors.Error as failed:
            raise _failure(js, f"consumer {name} on {stream}", failed) from failed
        return cls(feed, stream, name, max_deliver)

    async def fetch(
        self, batch: int = 100, timeout: float = 1.0, *, wait: bool = True
    ) -> list[Delivery]:
        """Up to `batch` deliveries, as soon as one is there; [] if none came within `timeout`
        (at once, without `wait`).

        A pull for `batch` that finds the stream empty waits until `batch` messages came or
        `timeout` ran out, however long the first one waits. So the wait is for one message;
        the rest are asked for only as far as the server says they are already pending, which
        it answers at once.
        """
        if not wait:
            return [self._delivery(msg) for msg in await self._pull(batch, timeout, wait=False)]
        msgs = await self._pull(1, timeout, wait=True)
        pending = msgs[-1].metadata.num_pending if msgs else 0
        if batch > 1 and pending:
            msgs += await self._pull(min(batch - 1, pending), timeout, wait=False)
        return [self._delivery(msg) for msg in msgs]

    async def _pull(self, batch: int, timeout: float, *, wait: bool) -> list[Msg]:
        try:
            return await self._feed.pull(batch, timeout, wait=wait)
        except (nats.errors.Error, PullRefused) as failed:
            raise JetStreamUnavailable(
                f"fetch from {self.stream}/{self.name}: {failed}"
            ) from failed

    async def deliveries(self, batch: int = 100, idle: float = 1.0) -> AsyncIterator[Delivery]:
        """Deliveries one by one, for ever; waits `idle` seconds per empty poll."""
        while True:
            for delivery in await self.fetch(batch, idle):
                yield delivery

    async def close(self) -> None:
        """Stop pulling; the durable consumer and its position stay on the server."""
        await self._feed.close()

    def _delivery(self, msg: Msg) -> Delivery:
        meta = msg.metadata
        headers = msg.headers or {}
        return Delivery(
            subject=msg.subject,
            data=msg.data,
            msg_id=headers.get(MSG_ID),
            stream_seq=meta.sequence.stream,
            origin=origin_of(headers),
            attempt=meta.num_delivered,
            last_attempt=meta.num_delivered >= self.max_deliver,
            msg=msg,
        )


async def consumed_through(js: JetStreamContext, consumer: DurableConsumer) -> int:
    """The stream seq through which `consumer` has had every delivery acked (its ack floor)."""
    try:
        info = await js.consumer_info(consumer.stream, consumer.name)
    except nats.errors.Error as failed:
        raise _failure(js, f"consumer {consumer.name} on {consumer.stream}", failed) from failed
    return info.ack_floor.stream_seq if info.ack_floor else 0


def origin_of(headers: dict[str, str]) -> Origin | None:
    """The sender's stream and sequence of a sourced message (its Nats-Stream-Source header)."""
    source = headers.get(SOURCE)
    if not source:
        return None
    # "<stream>[:<domain hash>] <seq> <filter> <transform> <subject> ..." since nats-server 2.10
    parts = source.split()
    if len(parts) < 2 or not parts[1].isdigit():
        return None
    return Origin(stream=parts[0].split(":", 1)[0], seq=int(parts[1]))


def max_deliveries_advisory(stream: str, consumer: str) -> str:
    """The subject the server announces a message on once it gave up redelivering it."""
    return f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{stream}.{consumer}"


async def replay(
    js: JetStreamContext,
    stream: str,
    first_seq: int,
    last_seq: int,
    *,
    filter_subject: str | None = None,
    batch: int = 256,
    timeout: float = 2.0,
) -> list[StoredMessage]:
    """Read `stream` again from `first_seq` to `last_seq` (inclusive), optionally filtered.

    For a gap re-request pass a context on the sender's domain (nc.jetstream(domain=...)) and
    the sender's OUT stream: it is read across the leaf node, without acks, and left as it was.
    """
    config = ConsumerConfig(
        ack_policy=AckPolicy.NONE,
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
        opt_start_seq=first_seq,
        filter_subject=filter_subject,
        inactive_threshold=30.0,
        mem_storage=True,
    )
    try:
        info = await js.add_consumer(stream, config)
        subscription = await js.pull_subscribe_bind(name=info.name, stream=stream)
    except nats.js.errors.NotFoundError as missing:
        raise StreamMissing(f"{stream}: {missing.description}") from missing
    except nats.errors.Error as failed:
        raise JetStreamUnavailable(f"replay of {stream}: {failed}") from failed
    try:
        return await _read_until(subscription, last_seq, batch, timeout)
    finally:
        await subscription.unsubscribe()
        await _forget_consumer(js, stream, info.name)


async def _read_until(
    subscription: Any, last_seq: int, batch: int, timeout: float
) -> list[StoredMessage]:
    found: list[StoredMessage] = []
    while True:
        try:
            msgs = await subscription.fetch(batch, timeout=timeout)
        except TimeoutError:  # nats-py raises both its own and asyncio's on an empty fetch
            return found
        except nats.errors.Error as failed:
            raise JetStreamUnavailable(f"replay read: {failed}") from failed
        for msg in msgs:
            seq = msg.metadata.sequence.stream
            if seq > last_seq:
                return found
            headers = msg.headers or {}
            found.append(StoredMessage(seq, msg.subject, msg.data, headers.get(MSG_ID)))
            if seq == last_seq or msg.metadata.num_pending == 0:
                return found


async def _forget_consumer(js: JetStreamContext, stream: str, name: str) -> None:
    # The server drops it after inactive_threshold anyway; deleting now is only tidiness.
    try:
        await js.delete_consumer(stream, name)
    except nats.errors.Error:
        return
