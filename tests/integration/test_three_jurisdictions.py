"""Three bureaus in three regions under one three-party agreement whose flows are not symmetric.

Qianfeng, the hometown bureau, runs the hub region; Dalang and Longgang, two cities where its
people work, each run a leaf region linked to it. Disputes go every way; registry proxy requests
only towards Qianfeng, whose registry answers with `registry.accepted`.

A forbidden flow forced onto the wire is composed by Qianfeng's own outbox under a copy of the
agreement that permits it, and its relay publishes the bytes as they are. Bytes published from
outside the node would take a seq that Qianfeng's outbox hands out again (to its next receipt):
that would test the collision (`replayed`), not the agreement's refusal.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from itertools import permutations
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from contracts.agreement import Agreement, load_agreement
from contracts.errors import NotPermittedByAgreement
from contracts.events.base import EventData
from contracts.events.examples import EXAMPLES
from contracts.events.registry import RegistryAcceptedV1, RegistryProxyRequestedV1
from services.bus.envelope import Envelope
from services.bus.outbox import Outgoing, enqueue
from services.runtime import NodeRuntime
from services.store.tables import outbox, quarantine
from tests.support.envelopes import PERSONAL_FIELDS, seed_dispute
from tests.support.live import (
    declare_outbound_streams,
    node_settings,
    wait_until,
    write_agreement,
)
from tests.support.nats import NatsServer, leaf_region, running, two_regions
from tests.support.probe import probe, probe_handlers, start_with_probe
from tests.support.trust import Bureau, flow

DALANG = Bureau("dongguan-dalang", "大朗")
QIANFENG = Bureau("guangan-qianfeng", "前锋")
LONGGANG = Bureau("shenzhen-longgang", "龙岗")
BUREAUS = [DALANG, QIANFENG, LONGGANG]
DISPUTE, PROXY, ACCEPTED = "dispute.reported", "registry.proxy_requested", "registry.accepted"
TYPES = [DISPUTE, PROXY, ACCEPTED]
PER_DIRECTION = 10
APPLICANT_FIELDS = ["applicant.id_number", "applicant.phone", "applicant.address"]


def agreement_flows() -> list[dict[str, Any]]:
    cities, hometown = [DALANG, LONGGANG], [QIANFENG]
    return [
        flow(DISPUTE, BUREAUS),
        flow(PROXY, cities) | {"recipients": [QIANFENG.id]},
        flow(ACCEPTED, hometown) | {"recipients": [b.id for b in cities]},
        flow("bus.receipt", BUREAUS),
    ]


def event(event_type: str, sender: str, n: int) -> EventData:
    """The `n`-th event of `event_type` from `sender`, with case ids of its own."""
    case = f"{sender[:2].upper()}-2026-{n:04d}"
    if event_type == DISPUTE:
        return seed_dispute(dispute_id=case, reported_in=sender)
    model = RegistryProxyRequestedV1 if event_type == PROXY else RegistryAcceptedV1
    return model.model_validate(EXAMPLES[model] | {"request_id": case})


Direction = tuple[str, str, str]
"""(sender, recipient, event type)"""


def directions(agreement: Agreement, permitted: bool) -> list[Direction]:
    """Every sender -> recipient -> type of TYPES that `agreement` permits (or refuses)."""
    return [
        (sender, recipient, event_type)
        for sender, recipient in permutations([b.id for b in BUREAUS], 2)
        for event_type in TYPES
        if _permits(agreement, sender, recipient, event_type) == permitted
    ]


def _permits(agreement: Agreement, sender: str, recipient: str, event_type: str) -> bool:
    flow_ = agreement.flow(event_type)
    return flow_ is not None and flow_.permits(sender, recipient, 1)


@dataclass
class Jurisdictions:
    agreement: Agreement
    runtimes: dict[str, NodeRuntime]

    async def send(self, direction: Direction, n: int) -> Envelope:
        """The sender's node sends the `n`-th event of this direction, in its own transaction."""
        sender, recipient, event_type = direction
        node = self.runtimes[sender].node
        async with node.unit_of_work() as conn:
            verified = await node.send(conn, event(event_type, sender, n), recipient, f"case-{n}")
        return verified.envelope

    async def applied_ids(self, at: str) -> list[str]:
        """Every application the probe saw at `at`, duplicates included."""
        async with self.runtimes[at].node.db.transaction() as conn:
            return list((await conn.execute(select(probe.c.event_id))).scalars())

    async def outbox_status(self, at: str, event_ids: list[str]) -> set[str]:
        async with self.runtimes[at].node.db.transaction() as conn:
            query = select(outbox.c.status).where(outbox.c.event_id.in_(event_ids))
            return set((await conn.execute(query)).scalars())

    async def quarantined(self, at: str) -> list[tuple[str, bytes]]:
        async with self.runtimes[at].node.db.transaction() as conn:
            rows = await conn.execute(select(quarantine.c.reason, quarantine.c.raw))
            return [(r.reason, bytes(r.raw)) for r in rows]


@pytest.fixture(scope="module")
async def bureaus(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Jurisdictions]:
    root = tmp_path_factory.mktemp("three-jurisdictions")
    regions = two_regions(root, hub="qianfeng", leaf="dalang")
    with running(*regions.servers):
        # Longgang dials the same hub as Dalang: a second leaf link into Qianfeng's region.
        longgang = leaf_region(root, "longgang", regions.leaf.values["hub_leaf_urls"])
        with running(longgang):
            longgang.wait_linked()
            servers = {DALANG.id: regions.leaf, QIANFENG.id: regions.hub, LONGGANG.id: longgang}
            async with _nodes(root, servers) as jurisdictions:
                yield jurisdictions


@asynccontextmanager
async def _nodes(root: Path, servers: dict[str, NatsServer]) -> AsyncIterator[Jurisdictions]:
    path = write_agreement(
        BUREAUS,
        root / "agreement.yaml",
        flows=agreement_flows(),
        personal={DISPUTE: PERSONAL_FIELDS, PROXY: APPLICANT_FIELDS},
    )
    domains = {j: server.domain for j, server in servers.items()}
    runtimes = {
        b.id: NodeRuntime(
            node_settings(
                b,
                root,
                servers[b.id].url,
                domains[b.id],
                {j: d for j, d in domains.items() if j != b.id},
                path,
            ),
            probe_handlers(TYPES),
        )
        for b in BUREAUS
    }
    await declare_outbound_streams(*(runtime.settings for runtime in runtimes.values()))
    started: list[NodeRuntime] = []
    try:
        for runtime in runtimes.values():
            await start_with_probe(runtime)
            started.append(runtime)
        yield Jurisdictions(load_agreement(path).agreement, runtimes)
    finally:
        for runtime in started:
            await runtime.stop()


async def test_every_permitted_direction_delivers_once_and_is_receipted_back(
    bureaus: Jurisdictions,
) -> None:
    permitted = directions(bureaus.agreement, permitted=True)
    assert len(permitted) == 10  # disputes 6 ways, proxy requests 2, acceptances 2
    sent: dict[Direction, list[str]] = {}
    for direction in permitted:
        sent[direction] = [(await bureaus.send(direction, n)).id for n in range(PER_DIRECTION)]

    for recipient in bureaus.runtimes:
        expected = sorted(i for (_, to, _), ids in sent.items() if to == recipient for i in ids)
        await wait_until(
            partial(_applied_exactly, bureaus, recipient, expected),
            30,
            f"every event for {recipient} applied once",
        )
    for (sender, _, _), ids in sent.items():
        await wait_until(
            partial(_all_delivered, bureaus, sender, ids), 30, f"{sender}'s events receipted"
        )
    for jurisdiction in bureaus.runtimes:
        assert await bureaus.quarantined(jurisdiction) == []


async def test_a_flow_the_agreement_does_not_permit_is_refused_at_the_sender(
    bureaus: Jurisdictions,
) -> None:
    refused = directions(bureaus.agreement, permitted=False)
    assert (QIANFENG.id, DALANG.id, PROXY) in refused
    for direction in refused:
        with pytest.raises(NotPermittedByAgreement):
            await bureaus.send(direction, 9000)
    for jurisdiction in bureaus.runtimes:
        async with bureaus.runtimes[jurisdiction].node.db.transaction() as conn:
            cases = (await conn.execute(select(outbox.c.subject))).scalars()
            assert "case-9000" not in set(cases)


async def test_a_forbidden_flow_forced_onto_the_wire_is_quarantined_and_the_stream_goes_on(
    bureaus: Jurisdictions,
) -> None:
    qianfeng = bureaus.runtimes[QIANFENG.id].node
    forced_direction = (QIANFENG.id, DALANG.id, PROXY)
    # It takes its seq and chain place like any event Qianfeng sends (module docstring).
    permissive = permitting(bureaus.agreement, QIANFENG.id, DALANG.id, PROXY)
    async with qianfeng.unit_of_work() as conn:
        forced = await enqueue(
            conn,
            permissive,
            qianfeng.signer,
            Outgoing(event(PROXY, QIANFENG.id, 7000), DALANG.id, "case-7000"),
            datetime.now(UTC),
        )
    after = [await bureaus.send((QIANFENG.id, DALANG.id, t), 7001) for t in (DISPUTE, ACCEPTED)]

    await wait_until(
        partial(_applied_all, bureaus, DALANG.id, [e.id for e in after]),
        30,
        "Qianfeng's events after the forced one applied at Dalang",
    )
    ids = [forced.id, *(e.id for e in after)]
    await wait_until(
        partial(_all_delivered, bureaus, QIANFENG.id, ids),
        30,
        "the stream receipted past the forced envelope",
    )
    assert forced_direction not in directions(bureaus.agreement, permitted=True)
    assert await bureaus.quarantined(DALANG.id) == [("not_permitted", forced.wire_bytes())]
    assert forced.id not in await bureaus.applied_ids(DALANG.id)


def permitting(agreement: Agreement, sender: str, recipient: str, event_type: str) -> Agreement:
    """A copy of `agreement` whose flow of `event_type` also runs from `sender` to `recipient`."""
    flows = [
        f.model_copy(
            update={"senders": [*f.senders, sender], "recipients": [*f.recipients, recipient]}
        )
        if f.type == event_type
        else f
        for f in agreement.flows
    ]
    return agreement.model_copy(update={"flows": flows})


async def _applied_exactly(bureaus: Jurisdictions, at: str, expected: list[str]) -> bool:
    return sorted(await bureaus.applied_ids(at)) == expected


async def _applied_all(bureaus: Jurisdictions, at: str, wanted: list[str]) -> bool:
    return set(wanted) <= set(await bureaus.applied_ids(at))


async def _all_delivered(bureaus: Jurisdictions, at: str, event_ids: list[str]) -> bool:
    return await bureaus.outbox_status(at, event_ids) == {"delivered"}
