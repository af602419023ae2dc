"""Live nodes for integration tests: keys on disk, a signed agreement file, settings, runtimes."""

import asyncio
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import nats
import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from contracts.agreement import signing_bytes
from contracts.canonical import b64encode
from contracts.catalogue import ALL_CONTRACTS
from contracts.keys import sign, write_private_pem
from services.bus.handlers import Handler
from services.bus.transport import ensure_outbound_stream, patiently
from services.node import Node
from services.runtime import NodeRuntime
from services.settings import NodeSettings, Partner
from services.store.database import Database, async_url
from services.store.tables import inbox, outbox
from tests.support.trust import Bureau, agreement_document, flow

ALL_TYPES = sorted(model.event_type for model in ALL_CONTRACTS)


def write_keys(bureau: Bureau, directory: Path) -> Path:
    """The bureau's private keys as `fengqiao keys new` writes them."""
    write_private_pem(directory / f"{bureau.id}.sig.pem", bureau.sig)
    write_private_pem(directory / f"{bureau.id}.enc.pem", bureau.enc)
    return directory


def write_agreement(
    parties: list[Bureau],
    path: Path,
    types: list[str] | None = None,
    *,
    flows: list[dict[str, Any]] | None = None,
    personal: dict[str, list[str]] | None = None,
    batch_signing: int | None = 64,
) -> Path:
    """An agreement file between `parties`, permitting `types` every way (or exactly `flows`,
    when given), with `personal` data fields (default: disputes' ids and phones), batches of up
    to `batch_signing` envelopes under one signature (None: none), signed by all."""
    flows = flows or [flow(t, parties) for t in types or ALL_TYPES]
    personal = personal or {"dispute.reported": ["parties[].id_number", "parties[].phone"]}
    document = agreement_document(
        parties, flows, personal, agreement_id="live-test", batch_signing=batch_signing
    )
    message = signing_bytes(document)
    document["signatures"] = [
        {"party": p.id, "kid": p.sig_kid, "signature": b64encode(sign(p.sig, message))}
        for p in parties
    ]
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))
    return path


def node_settings(
    bureau: Bureau,
    root: Path,
    nats_url: str,
    domain: str,
    partners: Mapping[str, str],
    agreement: Path,
    **extra: Any,
) -> NodeSettings:
    """Settings of `bureau`'s node under `root`, its keys written there."""
    data = root / bureau.id
    data.mkdir(parents=True, exist_ok=True)
    write_keys(bureau, data)
    return NodeSettings(
        jurisdiction=bureau.id,
        data_dir=data,
        keys_dir=data,
        nats_url=nats_url,
        js_domain=domain,
        partners=[Partner(jurisdiction=j, domain=d) for j, d in partners.items()],
        agreements=[agreement],
        **({"receipt_interval_s": 0.2} | extra),  # receipts often, unless told otherwise
    )


async def declare_outbound_streams(*nodes: NodeSettings) -> None:
    """Create each node's outbound stream before any node starts. An inbound stream that sources
    a partner's stream which does not exist yet only tries again some 10 s later."""
    for settings in nodes:
        assert settings.nats_url is not None
        nc = await nats.connect(servers=settings.nats_url.split(","))
        try:
            # A cluster just started may still be electing the stream's peers: asked again, as
            # a node asks (a CI run's setup failed on one timeout of the client's 5 s).
            declare = partial(
                ensure_outbound_stream,
                nc.jetstream(),
                settings.jurisdiction,
                replicas=settings.stream_replicas,
            )
            await patiently("declaring the outbound stream", declare)
        finally:
            await nc.close()


def recording_handlers(types: list[str]) -> Callable[[Node], Mapping[str, Handler]]:
    """Handlers that apply nothing beyond the inbox row (the bus is what is under test)."""

    async def nothing(conn: Any, verified: Any) -> None:
        return None

    return lambda node: dict.fromkeys(types, nothing)


async def count(runtime: NodeRuntime, table: Any, *where: Any) -> int:
    async with runtime.node.db.transaction() as conn:
        query = select(func.count()).select_from(table)
        return int((await conn.execute(query.where(*where))).scalar_one())


async def applied(runtime: NodeRuntime) -> int:
    return await count(runtime, inbox, inbox.c.status == "applied")


async def delivered(runtime: NodeRuntime) -> int:
    return await count(runtime, outbox, outbox.c.status == "delivered")


def store_watcher(runtime: NodeRuntime) -> Database:
    """The node's store opened again, to watch it: on SQLite its reads begin no write
    transaction, so a test's polling never queues behind the node's own writers."""
    return Database(create_async_engine(async_url(runtime.settings.store_url)))


async def wait_until(check: Callable[[], Any], timeout: float, what: str) -> None:
    """Poll the async `check` until it is true, or fail naming `what`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if await check():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.1)
