"""The sending node (`fengqiao node run`) is killed (SIGKILL) while mediators report disputes
through its batch API, and started again; or, run as two processes on one store behind a load
balancer, one of them is killed and the other takes its clients. A mediator's client does what a
careful client does: a batch whose answer was lost is sent again, and is either taken now or
refused as already held. Every dispute then reaches the partner once: nothing taken is lost,
nothing is applied twice, and a batch cut off by the kill was taken whole or not at all (a part
taken would make the retry a refusal with the rest never sent)."""

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from gateway.cli.settings_option import node_settings as settings_of
from services.runtime import NodeRuntime
from services.store.database import Database
from services.store.tables import quarantine
from services.users.model import Role
from tests.support.api import DALANG, QIANFENG, metric
from tests.support.api_cases import dispute_report
from tests.support.databases import BACKENDS, drop_postgres, fresh_postgres_url
from tests.support.live import declare_outbound_streams, node_settings, wait_until, write_agreement
from tests.support.nats import free_port, running, two_regions
from tests.support.probe import applications, probe, probe_handlers, probe_report, start_with_probe
from tests.support.served import ServedNode, add_user, node_config, node_process, wait_ready

PER_BATCH, IN_FLIGHT = 50, 2


def _ids(number: int) -> list[str]:
    return [f"DL-K{number:03d}-{i:03d}" for i in range(PER_BATCH)]


def _batch(number: int) -> dict[str, list[dict[str, Any]]]:
    return {"reports": [dispute_report(dispute_id=i) for i in _ids(number)]}


class Mediators:
    """IN_FLIGHT clients sending batches 0, 1, 2, ... until told the last; a batch that gets no
    answer (the node killed under it, or not back yet) is sent again: to the next of
    `base_urls` (a load balancer's next process), or, with one, once the node is back."""

    def __init__(self, base_urls: list[str], token: str) -> None:
        self.base_urls = base_urls
        self.headers = {"Authorization": f"Bearer {token}"}
        self.back = asyncio.Event()
        self.back.set()
        self.next = 0
        self.last: int | None = None
        self.cut_off: list[int] = []  # batches sent again after a lost answer
        self.answers: dict[int, int] = {}

    def stop_after(self, more: int) -> int:
        """Send `more` batches after those begun, then stop: how many batches in all."""
        self.last = self.next + more - 1
        return self.last + 1

    async def send_all(self) -> None:
        async with httpx.AsyncClient(timeout=60) as client:
            await asyncio.gather(*(self._sender(client, at) for at in range(IN_FLIGHT)))

    async def _sender(self, client: httpx.AsyncClient, at: int) -> None:
        while self.last is None or self.next <= self.last:
            number, self.next = self.next, self.next + 1
            while True:
                await self.back.wait()
                url = self.base_urls[at % len(self.base_urls)]
                try:
                    answer = await client.post(
                        f"{url}/disputes/batch", json=_batch(number), headers=self.headers
                    )
                    break
                except httpx.TransportError:
                    self.cut_off.append(number)
                    if len(self.base_urls) == 1:
                        self.back.clear()  # the test sets it when the node is back
                    at += 1
            assert answer.status_code in (201, 409), answer.text
            if answer.status_code == 409:  # only a batch sent again, and taken the first time
                assert number in self.cut_off and "is already held here" in answer.text
            self.answers[number] = answer.status_code


def _unreceipted(node: ServedNode) -> float:
    text = httpx.get(f"{node.base_url}/metrics").text
    return metric(text, "fengqiao_outbox_pending", partner=QIANFENG.id) + metric(
        text, "fengqiao_outbox_unreceipted", partner=QIANFENG.id
    )


@asynccontextmanager
async def exchange(
    tmp_path: Path, database_url: str | None
) -> AsyncIterator[tuple[Path, Database]]:
    """Two regions, Qianfeng's node receiving with the probe, and the config of Dalang's node
    (its store at `database_url`, or SQLite): that config and Qianfeng's store."""
    regions = two_regions(tmp_path)
    with running(*regions.servers):
        agreement = write_agreement([DALANG, QIANFENG], tmp_path / "agreement.yaml")
        receiver = NodeRuntime(
            node_settings(
                QIANFENG, tmp_path, regions.hub.url, "qianfeng", {DALANG.id: "dalang"}, agreement
            ),
            probe_handlers(["dispute.reported"]),
        )
        config = node_config(
            tmp_path, regions.leaf, free_port(), agreement, database_url, partner_domain="qianfeng"
        )
        await declare_outbound_streams(settings_of(config))
        await start_with_probe(receiver)
        try:
            yield config, receiver.node.db
        finally:
            await receiver.stop()
            if database_url:
                await drop_postgres(database_url)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_sender_killed_under_its_api_loses_nothing_it_took_and_sends_nothing_twice(
    tmp_path: Path, backend: str
) -> None:
    database_url = await fresh_postgres_url() if backend == "postgresql" else None
    async with exchange(tmp_path, database_url) as (config, db):
        with node_process(config) as first:
            await asyncio.to_thread(wait_ready, first)
            token = await asyncio.to_thread(add_user, config, "mediator.tang", Role.MEDIATOR)
            mediators = Mediators([first.base_url], token)
            sending = asyncio.create_task(mediators.send_all())
            # Killed while mediators' requests are under way and its outbox is sending.
            await _kill_when_under_way(first, db)
        await wait_until(lambda: _more_than(_now(len(mediators.cut_off)), 0), 30, "a cut")
        with node_process(config) as second:
            await asyncio.to_thread(wait_ready, second)
            batches = mediators.stop_after(5)
            mediators.back.set()
            await sending
            await _all_through(db, second, batches)
        await _each_once(db, mediators, batches)


async def test_one_of_two_processes_of_the_sending_node_killed_the_other_takes_its_clients(
    tmp_path: Path,
) -> None:
    """Dalang's node as two `node run` processes on one PostgreSQL store (docs/operations.md,
    *Several processes of one node*), started at once, a client on each: one is killed while
    both take batches and relay; its client goes on through the other, which also publishes
    what the killed one had taken and not yet sent."""
    async with exchange(tmp_path, await fresh_postgres_url()) as (config, db):
        with node_process(config) as first, node_process(_on_another_port(config)) as second:
            await asyncio.gather(*(asyncio.to_thread(wait_ready, n) for n in (first, second)))
            token = await asyncio.to_thread(add_user, config, "mediator.tang", Role.MEDIATOR)
            mediators = Mediators([first.base_url, second.base_url], token)
            sending = asyncio.create_task(mediators.send_all())
            await _kill_when_under_way(first, db)
            await wait_until(lambda: _more_than(_now(len(mediators.cut_off)), 0), 30, "a cut")
            batches = mediators.stop_after(5)
            await sending
            await _all_through(db, second, batches)
        await _each_once(db, mediators, batches)


async def _kill_when_under_way(node: ServedNode, db: Database) -> None:
    """SIGKILL `node` once the partner has applied 200 of its disputes."""
    await wait_until(lambda: _more_than(applications(db), 200), 120, "200 applied")
    node.process.kill()
    node.process.wait()


async def _all_through(db: Database, survivor: ServedNode, batches: int) -> None:
    """Every dispute of `batches` applied at the partner, and published and receipted by
    `survivor`, which printed no traceback."""
    total = batches * PER_BATCH
    await wait_until(lambda: _more_than(applications(db), total - 1), 120, "every dispute applied")
    await wait_until(
        lambda: asyncio.to_thread(lambda: _unreceipted(survivor) == 0),
        60,
        "every envelope published and receipted",
    )
    assert "Traceback" not in survivor.output()


async def _each_once(db: Database, mediators: Mediators, batches: int) -> None:
    """Each batch answered, each dispute applied once at the partner, nothing quarantined."""
    total = batches * PER_BATCH
    assert sorted(mediators.answers) == list(range(batches))
    report = await probe_report(db)
    assert (report.applications, report.distinct_events) == (total, total)
    async with db.snapshot() as conn:
        applied = set((await conn.execute(select(probe.c.subject))).scalars())
        held_aside = (await conn.execute(select(quarantine.c.reason))).scalars().all()
    assert applied == {i for n in range(batches) for i in _ids(n)}
    assert held_aside == []


def _on_another_port(config: Path) -> Path:
    """The same node's settings with its API on another port, in a directory of its own (its
    log beside it)."""
    other = config.parent / "second" / config.name
    other.parent.mkdir()
    port = settings_of(config).http_port
    other.write_text(
        config.read_text().replace(f"http_port = {port}", f"http_port = {free_port()}")
    )
    return other


async def _now(value: int) -> int:
    return value


async def _more_than(value: Awaitable[int], floor: int) -> bool:
    return await value > floor
