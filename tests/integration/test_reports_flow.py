"""The semiannual report between Dalang and Qianfeng on real stores: both count the same figures
from their own records, a diverged store shows exactly where, and the exchange ends cosigned."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Executable, delete, update

from contracts.events.common import Person
from contracts.events.reports import ReportFigures
from services.disputes import commands as d
from services.disputes.handlers import HANDLERS as DISPUTES
from services.mediation import commands as m
from services.mediation.handlers import HANDLERS as MEDIATION
from services.node import Node
from services.registry import commands as r
from services.registry.handlers import HANDLERS as REGISTRY
from services.registry.materials import MaterialStore
from services.registry.tables import registry_requests
from services.reports.commands import (
    CosignReport,
    ProposeReport,
    cosign_report,
    propose_report,
    reconcile_report,
)
from services.reports.counting import count_figures
from services.reports.handlers import HANDLERS as REPORTS
from services.reports.model import ReportState, SigningOutOfTurn, UnexplainedDifferences
from services.reports.period import Period
from services.reports.queries import ReportView, get_report_view
from services.reports.reconcile import Difference, differences
from tests.support.databases import BACKENDS
from tests.support.nodes import Network, cooperation, open_network
from tests.support.trust import Bureau

pytestmark = pytest.mark.parametrize("backend", BACKENDS)

DALANG, QIANFENG = "dongguan-dalang", "guangan-qianfeng"
H1 = Period.parse("2026-H1")
AGREEMENT = "dalang-qianfeng-test"
HANDLERS = DISPUTES | MEDIATION | REGISTRY
VILLAGER = Person(name="Lao Huang", home_jurisdiction=QIANFENG)
ASSISTANT = Person(name="Police assistant Wu", home_jurisdiction=DALANG)
CLERK = Person(name="Window clerk Li", home_jurisdiction=DALANG)
SCANS = {"id_card": b"id", "household_register": b"register", "photo_receipt": b"photo"}


@asynccontextmanager
async def network(backend: str, tmp_path: Path, extra: Any = None) -> AsyncIterator[Network]:
    """Dalang and Qianfeng under one agreement carrying every flow (and `extra` handlers)."""
    bureaus = [Bureau(DALANG), Bureau(QIANFENG)]
    handlers = HANDLERS | (extra or {})
    types = {*handlers, "report.proposed", "report.cosigned"}
    agreement = cooperation(bureaus, sorted(types), "H2", agreement_id=AGREEMENT)
    async with open_network(backend, tmp_path, bureaus, [agreement], handlers) as net:
        yield net


async def settle(net: Network) -> None:
    net.assert_applied(await net.deliver_all())
    net.clock.advance()


def _dispute(dispute_id: str, category: str, risk: str) -> d.ReportDispute:
    return d.ReportDispute(
        dispute_id=dispute_id,
        category=category,
        risk=risk,
        source="police_assistant",
        place="Dalang wool-knitting market",
        parties=[VILLAGER],
        narrative="A quarrel between fellow villagers at work.",
        occurred_on="2026-05-01",
    )


async def seed_disputes(net: Network) -> None:
    """Three disputes: two resolved (after 4 and 1 days), one open with a mediation running."""
    dalang = net[DALANG]
    for dispute_id, category, risk in (
        ("DL-1", "wages_labour", "medium"),
        ("DL-2", "neighbour", "low"),
        ("DL-3", "land", "high"),
    ):
        await d.report_dispute(dalang, _dispute(dispute_id, category, risk))
    await settle(net)
    for mediation_id, dispute_id in (("MD-1", "DL-1"), ("MD-3", "DL-3")):
        await m.request_mediation(
            dalang,
            m.RequestMediation(
                mediation_id=mediation_id,
                dispute_id=dispute_id,
                mediator=ASSISTANT,
                summary="Fellow villagers fell out.",
                requested_part="Talk to the family at home.",
            ),
        )
    await settle(net)
    await m.close_mediation(dalang, m.CloseMediation(mediation_id="MD-1", closure="withdrawn"))
    for dispute_id, outcome, fen, day in (
        ("DL-1", "mediated_agreement", 1_200_000, "2026-05-24"),
        ("DL-2", "settled_by_parties", 0, "2026-05-21"),
    ):
        resolve = d.ResolveDispute(
            dispute_id=dispute_id, outcome=outcome, compensation_fen=fen, resolved_on=day
        )
        await d.resolve_dispute(dalang, resolve)
    await settle(net)


async def seed_proxy_requests(net: Network, tmp_path: Path, completed: int, open_: int) -> None:
    """Proxy requests filed at Dalang's window for Qianfeng residents, `completed` of them done."""
    dalang, qianfeng = net[DALANG], net[QIANFENG]
    materials = MaterialStore.in_data_dir(tmp_path / DALANG)
    files = [r.MaterialFile(material=k, content=v) for k, v in SCANS.items()]
    for n in range(completed + open_):
        filing = r.FileProxyRequest(
            service_code="id_card_renewal",
            applicant=VILLAGER,
            window_name="Xiangtou hometown policing station",
            responsible_clerk=CLERK,
            files=files,
            request_id=f"PX-{n:02d}",
        )
        await r.file_request(dalang, filing, materials)
    await settle(net)
    clerk = Person(name="Registrar Chen", home_jurisdiction=QIANFENG)
    for n in range(completed):
        await r.accept_request(
            qianfeng, r.AcceptRequest(request_id=f"PX-{n:02d}", handling_clerk=clerk)
        )
        done = r.CompleteRequest(
            request_id=f"PX-{n:02d}", result_reference=f"R{n}", delivery="post"
        )
        await r.complete_request(qianfeng, done)
    await settle(net)


async def figures_of(node: Node, partner: str) -> ReportFigures:
    async with node.db.transaction() as conn:
        return await count_figures(conn, node.jurisdiction, [partner], H1)


async def test_both_bureaus_count_the_same_figures_from_their_own_stores(
    backend: str, tmp_path: Path
) -> None:
    async with network(backend, tmp_path) as net:
        await seed_disputes(net)
        await seed_proxy_requests(net, tmp_path, completed=2, open_=1)
        ours = await figures_of(net[DALANG], QIANFENG)
        theirs = await figures_of(net[QIANFENG], DALANG)

    assert differences(ours, theirs) == []
    disputes = ours.disputes
    assert (disputes.reported, disputes.resolved, disputes.resolution_rate_bp) == (3, 2, 6667)
    assert disputes.by_category == {"wages_labour": 1, "neighbour": 1, "land": 1}
    assert disputes.by_outcome == {"mediated_agreement": 1, "settled_by_parties": 1}
    assert disputes.median_days_to_resolution == 2.5
    assert disputes.compensation_total_fen == 1_200_000
    assert (ours.mediations.opened, ours.mediations.closed) == (2, 1)
    assert ours.proxy_requests.by_service == {"id_card_renewal": {"completed": 2, "requested": 1}}
    assert ours.proxy_requests.on_time_rate_bp == 10_000
    assert [(i.kind, i.case_id) for i in ours.open_items] == [
        ("dispute", "DL-3"),
        ("mediation", "MD-3"),
        ("proxy_request", "PX-02"),
    ]
    assert {(h.sender, h.recipient) for h in ours.chain_heads} == {
        (DALANG, QIANFENG),
        (QIANFENG, DALANG),
    }
    assert all(h.up_to_seq > 0 for h in ours.chain_heads)


async def test_ten_completed_proxy_requests_avoid_760_000_fen_of_travel(
    backend: str, tmp_path: Path
) -> None:
    async with network(backend, tmp_path) as net:
        await seed_proxy_requests(net, tmp_path, completed=10, open_=0)
        figures = await figures_of(net[QIANFENG], DALANG)
    assert figures.proxy_requests.travel_cost_avoided_fen == 760_000


async def test_a_proxy_request_missing_on_one_side_is_exactly_the_difference_listed(
    backend: str, tmp_path: Path
) -> None:
    async with network(backend, tmp_path) as net:
        await seed_proxy_requests(net, tmp_path, completed=3, open_=0)
        async with net.db(QIANFENG).transaction() as conn:
            await conn.execute(
                delete(registry_requests).where(registry_requests.c.request_id == "PX-01")
            )
        ours = await figures_of(net[DALANG], QIANFENG)
        theirs = await figures_of(net[QIANFENG], DALANG)
    assert differences(ours, theirs) == [
        Difference("proxy_requests.by_service.id_card_renewal.completed", 3, 2),
        Difference("proxy_requests.travel_cost_avoided_fen", 228_000, 152_000),
    ]


async def _view(net: Network, jurisdiction: str, report_id: str) -> ReportView:
    async with net.db(jurisdiction).transaction() as conn:
        view = await get_report_view(conn, report_id)
    assert view is not None
    return view


async def test_the_exchange_ends_with_both_cosignatures_on_both_nodes(
    backend: str, tmp_path: Path
) -> None:
    async with network(backend, tmp_path, REPORTS) as net:
        await seed_disputes(net)
        await seed_proxy_requests(net, tmp_path, completed=2, open_=1)
        propose = ProposeReport(agreement_id=AGREEMENT, period="2026-H1", report_id="RPT-1")
        proposed = await propose_report(net[DALANG], propose)
        await settle(net)
        assert await reconcile_report(net[QIANFENG], "RPT-1") == []
        with pytest.raises(SigningOutOfTurn):
            await cosign_report(net[DALANG], CosignReport(report_id="RPT-1"))
        await cosign_report(net[QIANFENG], CosignReport(report_id="RPT-1"))
        await settle(net)
        await cosign_report(net[DALANG], CosignReport(report_id="RPT-1"))
        await settle(net)
        views = [await _view(net, j, "RPT-1") for j in (DALANG, QIANFENG)]

    for view in views:
        assert view.state is ReportState.FINAL and view.final
        assert view.figures_digest == proposed.figures_digest
        assert [s.signed_by for s in view.signatures] == [QIANFENG, DALANG]
    assert views[0].signatures == views[1].signatures
    assert views[1].figures[QIANFENG] == views[1].figures[DALANG]


async def _recounted_after(net: Network, report_id: str, change: Executable) -> list[Difference]:
    """Dalang proposes `report_id`; Qianfeng's store then takes `change` and Qianfeng recounts:
    the differences found, which it may not sign unexplained."""
    propose = ProposeReport(agreement_id=AGREEMENT, period="2026-H1", report_id=report_id)
    await propose_report(net[DALANG], propose)
    await settle(net)
    async with net.db(QIANFENG).transaction() as conn:
        await conn.execute(change)
    found = await reconcile_report(net[QIANFENG], report_id)
    with pytest.raises(UnexplainedDifferences):
        await cosign_report(net[QIANFENG], CosignReport(report_id=report_id))
    return found


async def test_a_partner_signs_a_diverged_count_only_with_every_difference_explained(
    backend: str, tmp_path: Path
) -> None:
    async with network(backend, tmp_path, REPORTS) as net:
        await seed_proxy_requests(net, tmp_path, completed=3, open_=0)
        gone = delete(registry_requests).where(registry_requests.c.request_id == "PX-01")
        found = await _recounted_after(net, "RPT-2", gone)
        why = "PX-01 was lost in a restore of the Qianfeng store; Dalang's count stands."
        explained = CosignReport(report_id="RPT-2", explanations={d.figure: why for d in found})
        await cosign_report(net[QIANFENG], explained)
        await settle(net)
        await cosign_report(net[DALANG], CosignReport(report_id="RPT-2"))
        await settle(net)
        view = await _view(net, DALANG, "RPT-2")

    assert [d.figure for d in found] == [
        "proxy_requests.by_service.id_card_renewal.completed",
        "proxy_requests.travel_cost_avoided_fen",
    ]
    assert view.final
    assert [d["counted"] for d in view.signatures[0].differences_acknowledged] == [2, 152_000]


async def test_an_open_item_dated_differently_on_the_partner_is_a_difference_to_explain(
    backend: str, tmp_path: Path
) -> None:
    async with network(backend, tmp_path, REPORTS) as net:
        await seed_proxy_requests(net, tmp_path, completed=1, open_=1)
        open_one = registry_requests.c.request_id == "PX-01"
        redated = update(registry_requests).where(open_one).values(filed_on=date(2026, 4, 1))
        found = await _recounted_after(net, "RPT-3", redated)

    assert [(d.figure, d.proposed, d.counted) for d in found] == [
        ("open_items.proxy_request:PX-01@2026-04-01", 0, 1),
        ("open_items.proxy_request:PX-01@2026-05-20", 1, 0),
    ]
