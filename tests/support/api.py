"""The node's HTTP API in tests: an app over a node's parts (no NATS) or a started runtime,
users with tokens, and a registry agreement and filing to drive it with."""

import base64
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from gateway.app import create_app
from gateway.node_api import NodeApi
from services.bootstrap import open_node
from services.registry.handlers import HANDLERS as REGISTRY_HANDLERS
from services.runtime import NodeRuntime
from services.settings import NodeSettings
from services.users.accounts import add_user
from services.users.model import Role
from tests.support.databases import drop_postgres, fresh_postgres_url
from tests.support.live import node_settings, write_agreement, write_keys
from tests.support.nats import TwoRegions
from tests.support.trust import NOW, Bureau

DALANG, QIANFENG = Bureau("dongguan-dalang"), Bureau("guangan-qianfeng")
# Synthetic: region 511602 (Qianfeng), born 1990-03-07, sequence 123, ISO 7064 check digit.
ID_NUMBER = "511602199003071232"
PERSONAL = {
    "registry.proxy_requested": ["applicant.id_number", "applicant.phone", "applicant.address"],
    "registry.material_uploaded": ["chunk"],
}


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def registry_agreement(parties: list[Bureau], path: Path) -> Path:
    """An agreement file permitting every registry event (and receipts) between `parties`,
    the applicant's identity number, phone and address sealed as personal data."""
    types = [*sorted(REGISTRY_HANDLERS), "bus.receipt"]
    return write_agreement(parties, path, types, personal=PERSONAL)


async def store_url(backend: str, directory: Path) -> str:
    """A fresh store of `backend`: a SQLite file, or a new PostgreSQL database."""
    if backend == "sqlite":
        return f"sqlite:///{directory / 'node.db'}"
    return await fresh_postgres_url()


async def drop_store(url: str) -> None:
    if url.startswith("postgresql"):
        await drop_postgres(url)


def settings_for(bureau: Bureau, root: Path, agreement: Path, database_url: str) -> NodeSettings:
    """Settings of `bureau`'s node under `root` (no NATS URL: the app is built without NATS)."""
    data = root / bureau.id
    data.mkdir(parents=True, exist_ok=True)
    write_keys(bureau, data)
    return NodeSettings(
        jurisdiction=bureau.id,
        data_dir=data,
        keys_dir=data,
        database_url=database_url,
        agreements=[agreement],
    )


@dataclass
class ApiNode:
    """One node's API as a test drives it: the app, a client, and tokens by role."""

    api: NodeApi
    app: FastAPI
    client: httpx.AsyncClient
    tokens: dict[str, str] = field(default_factory=dict)

    async def token(self, role: Role, name: str | None = None) -> dict[str, str]:
        """Headers bearing the token of user `name` (default: named after the role), who is
        added with `role` when first asked for."""
        name = name or f"{role.value}-1"
        if name not in self.tokens:
            async with self.api.node.db.transaction() as conn:
                self.tokens[name] = await add_user(conn, name, role, self.api.node.clock())
        return {"Authorization": f"Bearer {self.tokens[name]}"}


@asynccontextmanager
async def client_for(api: NodeApi) -> AsyncIterator[ApiNode]:
    """The app over `api` and an httpx client calling it in process."""
    app = create_app(api)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
        yield ApiNode(api, app, client)


@asynccontextmanager
async def api_without_nats(
    settings: NodeSettings, clock: Callable[[], datetime]
) -> AsyncIterator[ApiNode]:
    """A node opened with `open_node` (store, keys, inbox; no NATS) and its API."""
    parts = await open_node(settings, clock)
    try:
        async with client_for(NodeApi.from_parts(parts, settings.data_dir)) as node:
            yield node
    finally:
        await parts.node.db.close()


@asynccontextmanager
async def dalang_without_nats(backend: str, root: Path) -> AsyncIterator[ApiNode]:
    """Dalang's API on a fresh `backend` store under `root`, under a registry agreement with
    Qianfeng (no NATS: what it sends waits in the outbox); the store dropped after."""
    agreement = registry_agreement([DALANG, QIANFENG], root / "agreement.yaml")
    url = await store_url(backend, root)
    try:
        async with api_without_nats(settings_for(DALANG, root, agreement, url), Clock()) as node:
            yield node
    finally:
        await drop_store(url)


@asynccontextmanager
async def api_of_runtime(runtime: NodeRuntime) -> AsyncIterator[ApiNode]:
    """The API of a started runtime."""
    async with client_for(NodeApi.from_runtime(runtime)) as node:
        yield node


@asynccontextmanager
async def live_pair(
    backend: str, regions: TwoRegions, root: Path, agreement: Path
) -> AsyncIterator[tuple[ApiNode, ApiNode]]:
    """Dalang's node in the leaf region and Qianfeng's in the hub region, started on fresh
    `backend` stores under `agreement`, and their APIs; stopped and dropped after."""
    urls = [await store_url(backend, root / b.id) for b in (DALANG, QIANFENG)]
    sides = (
        (DALANG, regions.leaf.url, "dalang", {QIANFENG.id: "qianfeng"}),
        (QIANFENG, regions.hub.url, "qianfeng", {DALANG.id: "dalang"}),
    )
    runtimes = [
        NodeRuntime(
            node_settings(bureau, root, nats, domain, partners, agreement, database_url=url)
        )
        for (bureau, nats, domain, partners), url in zip(sides, urls, strict=True)
    ]
    try:
        for runtime in runtimes:
            await runtime.start()
        async with api_of_runtime(runtimes[0]) as dalang, api_of_runtime(runtimes[1]) as qianfeng:
            yield dalang, qianfeng
    finally:
        for runtime in runtimes:
            await runtime.stop()
        for url in urls:
            await drop_store(url)


def metric(text: str, name: str, **labels: str) -> float:
    """The sample `name` with `labels` in a Prometheus exposition; fails if absent."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    raise AssertionError(f"no sample {name}{labels} in:\n{text}")


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


def filing(**changes: Any) -> dict[str, Any]:
    """An ID card renewal for Lao Huang of Qianfeng, filed at Dalang's Xiangtou window."""
    body: dict[str, Any] = {
        "service_code": "id_card_renewal",
        "applicant": {
            "name": "Lao Huang",
            "home_jurisdiction": QIANFENG.id,
            "id_number": ID_NUMBER,
            "phone": "13800138000",
            "address": "广兴镇 Guangxing town, Qianfeng district",
        },
        "window_name": "Xiangtou hometown policing station",
        "responsible_clerk": {"name": "Window clerk Li", "home_jurisdiction": DALANG.id},
        "files": [
            {"material": "id_card", "content_base64": b64(b"scan: current identity card")},
            {"material": "household_register", "content_base64": b64(b"scan: register")},
            {"material": "photo_receipt", "content_base64": b64(b"scan: photo receipt")},
        ],
    }
    return body | changes
