"""Two live nodes in one region, and an intruder who can publish raw bytes into the bus.

Dalang's node sends legitimate disputes to Qianfeng's node. The intruder publishes straight onto
event subjects (`fq.<sender>.<recipient>.<type>`): those land in the sender's OUT stream, which
Qianfeng's IN stream sources, so they reach Qianfeng's consumer exactly as a partner's events do.
IN streams have no subjects of their own: sourcing is the only way in, so this is the door an
operator of a partner's region, or anyone with publish rights there, would use.
Longgang is a third party to the agreement whose node the test plays: its valid key signs what
must pass authentication and still be refused, on a stream no live node also writes to.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.aio.client import Client as NatsClient
from sqlalchemy import select

from contracts.agreement import Agreement, load_agreement
from services.bus.compose import Addressing, compose
from services.bus.envelope import Envelope, new_event_id
from services.bus.topology import event_subject
from services.bus.transport import ensure_outbound_stream, publish
from services.bus.verification import StreamPosition
from services.runtime import NodeRuntime
from services.store.tables import inbound_streams, inbox, quarantine
from tests.support.envelopes import PERSONAL_FIELDS, seed_dispute
from tests.support.live import node_settings, wait_until, write_agreement
from tests.support.nats import NatsServer, connect
from tests.support.probe import probe_handlers, start_with_probe
from tests.support.trust import Bureau, FormerKey

DOMAIN = "region"
MAX_ENVELOPE_BYTES = 16 * 1024
REVOKED = FormerKey(Ed25519PrivateKey.generate(), {"revoked_at": "2024-06-01T00:00:00Z"})
EXPIRED = FormerKey(Ed25519PrivateKey.generate(), {"valid_until": "2025-01-01T00:00:00Z"})
DALANG = Bureau("dongguan-dalang", "大朗", former=[REVOKED, EXPIRED])
QIANFENG = Bureau("guangan-qianfeng", "前锋")
LONGGANG = Bureau("shenzhen-longgang", "龙岗")
STRANGER = Bureau("shenzhen-nanshan", "南山")  # no party to the agreement
TYPE = "dispute.reported"


@dataclass(frozen=True)
class Quarantined:
    reason: str
    event_id: str | None
    raw: bytes


@dataclass
class Scene:
    """The two running nodes, the agreement they share, and the intruder's own connection."""

    agreement: Agreement
    sender: NodeRuntime
    receiver: NodeRuntime
    intruder: NatsClient
    sent: list[Envelope] = field(default_factory=list)

    async def send_legitimate(self) -> Envelope:
        """Dalang's node sends one dispute; returns once Qianfeng has applied it."""
        node = self.sender.node
        event = seed_dispute(dispute_id=f"DL-2026-{len(self.sent) + 1:04d}")
        async with node.unit_of_work() as conn:
            verified = await node.send(conn, event, QIANFENG.id, event.dispute_id)
        envelope = verified.envelope
        self.sent.append(envelope)
        await wait_until(lambda: self.applied(envelope.id), 30, f"{envelope.id} applied")
        return envelope

    async def inject(self, sender: str, raw: bytes) -> None:
        """Publish `raw` on `sender`'s subject to Qianfeng, under a msg id never used before."""
        subject = event_subject(sender, QIANFENG.id, TYPE)
        await publish(self.intruder.jetstream(), subject, raw, new_event_id())

    def envelope_from(self, bureau: Bureau, at: StreamPosition, **dispute: Any) -> Envelope:
        """A well-formed dispute from `bureau`, signed with its current key, next after `at`."""
        event = seed_dispute(**dispute)
        to = Addressing(QIANFENG.id, event.dispute_id, seq=at.seq + 1, prev=at.head)
        return compose(self.agreement, bureau.signer, event, to, datetime.now(UTC))

    async def position(self, sender: str) -> StreamPosition:
        """Where Qianfeng's stream from `sender` stands."""
        async with self.receiver.node.db.transaction() as conn:
            row = (
                await conn.execute(
                    select(inbound_streams.c.applied_seq, inbound_streams.c.head).where(
                        inbound_streams.c.sender == sender
                    )
                )
            ).one_or_none()
        return StreamPosition(row.applied_seq, row.head) if row else StreamPosition()

    async def applied(self, event_id: str) -> bool:
        async with self.receiver.node.db.transaction() as conn:
            status = (
                await conn.execute(select(inbox.c.status).where(inbox.c.event_id == event_id))
            ).scalar_one_or_none()
        return status == "applied"

    async def quarantined(self) -> list[Quarantined]:
        """Qianfeng's quarantine, oldest first."""
        async with self.receiver.node.db.transaction() as conn:
            rows = await conn.execute(
                select(quarantine.c.reason, quarantine.c.event_id, quarantine.c.raw).order_by(
                    quarantine.c.id
                )
            )
            return [Quarantined(r.reason, r.event_id, bytes(r.raw)) for r in rows]


@asynccontextmanager
async def running_scene(root: Path, server: NatsServer) -> AsyncIterator[Scene]:
    """Both nodes started on `server`, two legitimate disputes applied; stopped on exit."""
    path = write_agreement(
        [DALANG, QIANFENG, LONGGANG],
        root / "agreement.yaml",
        [TYPE, "bus.receipt"],
        personal={TYPE: PERSONAL_FIELDS},
    )
    intruder = await connect(server)
    # Longgang has no node here: its outbound stream must exist before Qianfeng sources it.
    await ensure_outbound_stream(intruder.jetstream(), LONGGANG.id)
    handlers = probe_handlers([TYPE])
    partners = {DALANG.id: DOMAIN, LONGGANG.id: DOMAIN}
    receiver = NodeRuntime(
        node_settings(
            QIANFENG,
            root,
            server.url,
            DOMAIN,
            partners,
            path,
            max_envelope_bytes=MAX_ENVELOPE_BYTES,
        ),
        handlers,
    )
    sender = NodeRuntime(
        node_settings(DALANG, root, server.url, DOMAIN, {QIANFENG.id: DOMAIN}, path), handlers
    )
    scene = Scene(load_agreement(path).agreement, sender, receiver, intruder)
    await start_with_probe(receiver)
    try:
        await sender.start()
        for _ in range(2):
            await scene.send_legitimate()
        yield scene
    finally:
        await sender.stop()
        await receiver.stop()
        await intruder.close()
