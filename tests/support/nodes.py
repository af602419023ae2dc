"""N in-process nodes, each with its own store, exchanging envelopes without NATS.

`open_network` builds one `Node` and one verifying `Inbox` per bureau, on the backend asked for;
`Network.deliver_all()` hands every pending outbox envelope of every node to its recipient's
inbox, in stream order, until nothing is pending. The handler tables to register are passed in,
so every flow's tests can use it (`pytestmark = pytest.mark.parametrize("backend", BACKENDS)`
runs a module on SQLite and PostgreSQL):

    async with open_network("sqlite", tmp_path, [dalang, qianfeng], [agreement],
                            DISPUTES | MEDIATION) as net:
        await report_dispute(net["dongguan-dalang"], ...)
        net.assert_applied(await net.deliver_all())
"""

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from contracts.agreement import AgreementBook, LoadedAgreement
from contracts.catalogue import default_registry
from services.bus.handlers import Handler, dispatcher
from services.bus.inbox import Inbox, Outcome, Receipt
from services.bus.outbox import mark_published, pending
from services.bus.verification import Verifier
from services.node import Node
from services.store.database import Database
from tests.support.databases import drop_postgres, open_store
from tests.support.trust import NOW, Bureau, agreement_document, flow, sign_document


@dataclass
class NetworkClock:
    """One clock for every node of a network; tests move it on explicitly."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta = timedelta(minutes=1)) -> datetime:
        self.now += by
        return self.now


@dataclass(frozen=True)
class Delivery:
    """One envelope handed from a sender's outbox to its recipient's inbox, and what came of it."""

    sender: str
    recipient: str
    seq: int
    type: str
    event_id: str
    receipt: Receipt


@dataclass
class Peer:
    bureau: Bureau
    node: Node
    inbox: Inbox


@dataclass
class Network:
    """Nodes by jurisdiction id, and the deliveries made so far."""

    peers: dict[str, Peer]
    clock: NetworkClock
    deliveries: list[Delivery] = field(default_factory=list)

    def __getitem__(self, jurisdiction: str) -> Node:
        return self.peers[jurisdiction].node

    def db(self, jurisdiction: str) -> Database:
        return self.peers[jurisdiction].node.db

    async def deliver_all(self, batch: int = 500) -> list[Delivery]:
        """Move every pending envelope of every node to its recipient's inbox, in stream order."""
        delivered: list[Delivery] = []
        while moved := await self._deliver_round(batch):
            delivered += moved
        self.deliveries += delivered
        return delivered

    async def _deliver_round(self, batch: int) -> list[Delivery]:
        moved: list[Delivery] = []
        for sender, peer in self.peers.items():
            async with peer.node.db.transaction() as conn:
                rows = await pending(conn, batch)
            for row in rows:
                if row.recipient not in self.peers:
                    raise LookupError(f"{sender} sent {row.type} to {row.recipient}: not a node")
                receipt = await self.peers[row.recipient].inbox.receive(row.envelope)
                moved.append(
                    Delivery(sender, row.recipient, row.seq, row.type, row.event_id, receipt)
                )
            if rows:
                async with peer.node.db.transaction() as conn:
                    await mark_published(conn, rows, self.clock())
        return moved

    @staticmethod
    def assert_applied(deliveries: Sequence[Delivery]) -> None:
        """Every delivery was applied: none quarantined, held or taken for a duplicate."""
        refused = [d for d in deliveries if d.receipt.outcome != Outcome.APPLIED]
        assert not refused, f"not applied: {refused}"


@asynccontextmanager
async def open_network(
    backend: str,
    directory: Path,
    bureaus: Sequence[Bureau],
    agreements: Sequence[LoadedAgreement],
    handlers: Mapping[str, Handler] | Callable[[Node], Mapping[str, Handler]],
    clock: NetworkClock | None = None,
) -> AsyncIterator[Network]:
    """A migrated store, a Node and an Inbox per bureau on `backend`; closed (and dropped) after.

    `handlers` is one table for every node, or a function giving each node its own (a receipt
    handler, for one, needs to know whose receipts it applies).
    """
    clock = clock or NetworkClock()
    book = AgreementBook(list(agreements))
    peers: dict[str, Peer] = {}
    urls: list[str] = []
    try:
        for bureau in bureaus:
            (directory / bureau.id).mkdir(parents=True, exist_ok=True)
            db, url = await open_store(backend, directory / bureau.id)
            urls.append(url)
            node = Node(bureau.id, book, bureau.signer, db, clock)
            verifier = Verifier(bureau.id, book, default_registry(), {bureau.enc_kid: bureau.enc})
            table = handlers(node) if callable(handlers) else handlers
            peers[bureau.id] = Peer(bureau, node, Inbox(db, verifier, dispatcher(table), clock))
        yield Network(peers, clock)
    finally:
        for peer in peers.values():
            await peer.node.db.close()
        if backend == "postgresql":
            for url in urls:
                await drop_postgres(url)


def cooperation(
    bureaus: Sequence[Bureau],
    event_types: Sequence[str],
    handling: str = "H2",
    personal_data: Mapping[str, list[str]] | None = None,
    agreement_id: str = "test-agreement",
    batch_signing: int | None = None,
) -> LoadedAgreement:
    """An agreement signed by every bureau: each event type flows between any two of them;
    batches of up to `batch_signing` envelopes under one signature (None: each signed alone)."""
    flows = [flow(t, list(bureaus), handling=handling) for t in event_types]
    document: dict[str, Any] = agreement_document(
        list(bureaus),
        flows,
        dict(personal_data or {}),
        agreement_id=agreement_id,
        batch_signing=batch_signing,
    )
    return sign_document(document, list(bureaus))
