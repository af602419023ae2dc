"""Prometheus metrics, counted from the store at scrape time (nothing kept between scrapes).

A fresh CollectorRegistry per scrape holds one collector over a snapshot of the store: no
process-wide registry, no counters that a restart or a second worker would get wrong.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.store.database import Database
from services.store.tables import inbound_streams, inbox, outbound_streams, outbox, quarantine

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class StoreSnapshot:
    """The counts the metrics show, by partner or reason."""

    outbox_pending: dict[str, int] = field(default_factory=dict)
    outbox_unreceipted: dict[str, int] = field(default_factory=dict)
    oldest_unreceipted_age_s: dict[str, float] = field(default_factory=dict)
    quarantine_held: dict[str, int] = field(default_factory=dict)
    inbox_applied: dict[str, int] = field(default_factory=dict)


async def _counts(
    conn: AsyncConnection,
    key: ColumnElement[str],
    where: ColumnElement[bool],
    every: list[str],
) -> dict[str, int]:
    """Rows per `key` where `where` holds, 0 for each of `every` with none (series stay)."""
    query = select(key, func.count()).where(where).group_by(key)
    return dict.fromkeys(every, 0) | {str(k): int(n) for k, n in await conn.execute(query)}


async def snapshot(db: Database, now: datetime) -> StoreSnapshot:
    """Count what the metrics show, in one transaction."""
    o, q, i = outbox.c, quarantine.c, inbox.c
    async with db.snapshot() as conn:
        recipients = list((await conn.execute(select(outbound_streams.c.recipient))).scalars())
        senders = list((await conn.execute(select(inbound_streams.c.sender))).scalars())
        oldest = await conn.execute(
            select(o.recipient, func.min(o.created_at))
            .where(o.status != "delivered")
            .group_by(o.recipient)
        )
        return StoreSnapshot(
            outbox_pending=await _counts(conn, o.recipient, o.status == "pending", recipients),
            outbox_unreceipted=await _counts(
                conn, o.recipient, o.status == "published", recipients
            ),
            oldest_unreceipted_age_s=dict.fromkeys(recipients, 0.0)
            | {str(r): max(0.0, (now - _aware(t)).total_seconds()) for r, t in oldest},
            quarantine_held=await _counts(conn, q.reason, q.status == "held", []),
            inbox_applied=await _counts(conn, i.sender, i.status == "applied", senders),
        )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class SnapshotCollector(Collector):
    """Metric families over one snapshot."""

    def __init__(self, shot: StoreSnapshot) -> None:
        self.shot = shot

    def collect(self) -> Iterator[Metric]:
        s = self.shot
        yield _gauge(
            "fengqiao_outbox_pending",
            "Events in the outbox not yet published to NATS, by recipient.",
            "partner",
            s.outbox_pending,
        )
        yield _gauge(
            "fengqiao_outbox_unreceipted",
            "Events published but not yet receipted by the recipient, by partner.",
            "partner",
            s.outbox_unreceipted,
        )
        yield _gauge(
            "fengqiao_outbox_oldest_unreceipted_age_seconds",
            "Age of the oldest event a partner has not receipted yet (delivery lag).",
            "partner",
            s.oldest_unreceipted_age_s,
        )
        held = GaugeMetricFamily(
            "fengqiao_quarantine_held",
            "Received envelopes held in quarantine (not applied).",
            value=sum(s.quarantine_held.values()),
        )
        yield held
        yield _gauge(
            "fengqiao_quarantine_held_by_reason",
            "Received envelopes held in quarantine, by the reason they were refused.",
            "reason",
            s.quarantine_held,
        )
        applied = CounterMetricFamily(
            "fengqiao_inbox_applied",
            "Received events applied to this node's store, by sender.",
            labels=["sender"],
        )
        for sender, n in sorted(s.inbox_applied.items()):
            applied.add_metric([sender], n)
        yield applied


def _gauge(name: str, text: str, label: str, values: dict[str, int] | dict[str, float]) -> Metric:
    family = GaugeMetricFamily(name, text, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


def exposition(shot: StoreSnapshot) -> bytes:
    """The snapshot in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(shot))
    return generate_latest(registry)
