"""Build a node's parts from its settings: the store, the keys, the handler table, the inbox.

Nothing is built at import time. The runtime (with NATS) and the command line (without) share
these functions, so an operator's `fengqiao quarantine redrive` applies exactly what the node would.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from contracts.agreement import AgreementBook
from contracts.catalogue import default_registry
from services.bus.catch_up import Renumbered
from services.bus.handlers import Handler, dispatcher
from services.bus.inbox import Inbox
from services.bus.receipts import receipt_handler
from services.bus.verification import Verifier
from services.bus.verification_pool import VerificationPool, default_workers
from services.disputes.handlers import HANDLERS as DISPUTE_HANDLERS
from services.keyring import Keyring, load_keyring
from services.mediation.handlers import HANDLERS as MEDIATION_HANDLERS
from services.node import Node
from services.registry.handlers import HANDLERS as REGISTRY_HANDLERS
from services.registry.records import renumber as renumber_registry
from services.reports.handlers import HANDLERS as REPORT_HANDLERS
from services.settings import NodeSettings
from services.store.database import Database

HandlerTables = Callable[[Node], Mapping[str, Handler]]
FLOW_HANDLER_TABLES: tuple[Mapping[str, Handler], ...] = (
    DISPUTE_HANDLERS,
    MEDIATION_HANDLERS,
    REGISTRY_HANDLERS,
    REPORT_HANDLERS,
)
"""Every cooperation flow's table of handlers, one handler per event type."""
RENUMBERED: tuple[Renumbered, ...] = (renumber_registry,)
"""What each flow that records its own envelopes' seqs does when they are signed again at new
seqs (a store caught up with its stream: services/bus/catch_up.py)."""


def flow_handlers(node: Node) -> dict[str, Handler]:
    """The flows' handlers, merged; an event type claimed twice is a bug."""
    merged: dict[str, Handler] = {}
    for table in FLOW_HANDLER_TABLES:
        twice = merged.keys() & table.keys()
        if twice:
            raise ValueError(f"event types with two handlers: {sorted(twice)}")
        merged |= table
    return merged


@dataclass
class NodeParts:
    node: Node
    keys: Keyring
    inbox: Inbox


async def open_node(
    settings: NodeSettings,
    clock: Callable[[], datetime],
    handler_tables: HandlerTables = flow_handlers,
) -> NodeParts:
    """Open and migrate the store, load agreements and keys, and assemble the inbox."""
    s = settings
    s.data_dir.mkdir(parents=True, exist_ok=True)
    book = AgreementBook.from_paths(s.agreements)
    keys = load_keyring(s.key_directory, s.jurisdiction)
    db = Database.open(s.store_url)
    await db.migrate()
    node = Node(s.jurisdiction, book, keys.signer, db, clock)
    handlers = {"bus.receipt": receipt_handler(s.jurisdiction, clock)} | dict(handler_tables(node))
    verifier = Verifier(
        s.jurisdiction, book, default_registry(), keys.encryption, s.max_envelope_bytes
    )
    workers = default_workers() if s.verify_workers is None else s.verify_workers
    pool = VerificationPool(verifier, workers)
    return NodeParts(node, keys, Inbox(db, verifier, dispatcher(handlers), clock, pool))
