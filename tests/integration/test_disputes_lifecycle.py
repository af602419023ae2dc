"""A dispute's life between Dalang and Qianfeng on real stores: reported, regraded, escalated,
resolved and closed by the jurisdiction it was reported in, seen identically by its partner."""

from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from contracts.events.common import Person
from contracts.events.disputes import DisputeRegradedV1
from services.bus.handlers import Handler
from services.bus.inbox import Outcome
from services.bus.receipts import issue_receipts, receipt_handler
from services.disputes.commands import (
    CloseDispute,
    EscalateDispute,
    RegradeDispute,
    ReportDispute,
    ResolveDispute,
    close_dispute,
    escalate_dispute,
    regrade_dispute,
    report_dispute,
    resolve_dispute,
)
from services.disputes.handlers import HANDLERS as DISPUTES
from services.disputes.model import (
    ClosureMismatch,
    DisputeState,
    DuplicateDispute,
    LadderStepRefused,
    NoPartnerConcerned,
    NotDisputeOwner,
)
from services.disputes.queries import get_dispute_case, list_disputes
from services.node import Node
from services.store.database import Database
from services.store.tables import outbox, quarantine
from tests.support.databases import BACKENDS
from tests.support.nodes import Network, cooperation, open_network
from tests.support.trust import Bureau

pytestmark = pytest.mark.parametrize("backend", BACKENDS)

DALANG, QIANFENG = "dongguan-dalang", "guangan-qianfeng"
PERSONAL = {"dispute.reported": ["parties[].id_number", "parties[].phone", "parties[].address"]}


def _report(dispute_id: str = "DL-2026-0007", *homes: str, **changes: Any) -> ReportDispute:
    parties = [
        Person(name=f"party {n}", home_jurisdiction=home)
        for n, home in enumerate(homes or [QIANFENG])
    ]
    values: dict[str, Any] = {
        "dispute_id": dispute_id,
        "category": "wages_labour",
        "risk": "medium",
        "source": "hotline_12345",
        "place": "Dalang wool-knitting market",
        "parties": parties,
        "narrative": "A workshop owner has not paid three months of wages.",
        "occurred_on": "2026-05-01",
    }
    return ReportDispute.model_validate(values | changes)


def _network(backend: str, tmp_path: Path) -> AbstractAsyncContextManager[Network]:
    bureaus = [Bureau(DALANG), Bureau(QIANFENG)]
    agreement = cooperation(bureaus, list(DISPUTES), "H2", PERSONAL)
    return open_network(backend, tmp_path, bureaus, [agreement], DISPUTES)


async def _settle(net: Network) -> None:
    net.assert_applied(await net.deliver_all())
    net.clock.advance()


async def _outbox_size(db: Database) -> int:
    async with db.transaction() as conn:
        return int((await conn.execute(select(func.count()).select_from(outbox))).scalar_one())


async def test_a_dispute_lives_its_whole_life_identically_on_both_nodes(
    backend: str, tmp_path: Path
) -> None:
    async with _network(backend, tmp_path) as net:
        dalang = net[DALANG]
        sent = await report_dispute(dalang, _report())
        await _settle(net)
        await regrade_dispute(
            dalang, RegradeDispute(dispute_id=sent.case_id, risk="high", reason="threats made")
        )
        for _ in range(3):
            await escalate_dispute(
                dalang, EscalateDispute(dispute_id=sent.case_id, reason="not settled")
            )
            await _settle(net)
        await resolve_dispute(
            dalang,
            ResolveDispute(
                dispute_id=sent.case_id,
                outcome="mediated_agreement",
                terms=["wages paid in two instalments"],
                compensation_fen=1_260_000,
            ),
        )
        await close_dispute(dalang, CloseDispute(dispute_id=sent.case_id, closure="resolved"))
        await _settle(net)
        cases = [await get_dispute_case(net.db(j), sent.case_id) for j in (DALANG, QIANFENG)]

    assert sent.recipients == (QIANFENG,)
    assert cases[0] is not None and cases[0] == cases[1]
    case = cases[0]
    assert (case.state, case.closure, case.risk, case.level) == (
        DisputeState.CLOSED,
        "resolved",
        "high",
        4,
    )
    assert case.compensation_fen == 1_260_000
    assert [e.type for e in case.timeline] == [
        "dispute.reported",
        "dispute.regraded",
        "dispute.escalated",
        "dispute.escalated",
        "dispute.escalated",
        "dispute.resolved",
        "dispute.closed",
    ]
    assert case.timeline[0].event_id == case.correlation


async def test_the_partner_sees_the_disputes_that_concern_its_residents(
    backend: str, tmp_path: Path
) -> None:
    async with _network(backend, tmp_path) as net:
        await report_dispute(net[DALANG], _report("DL-1"))
        await report_dispute(net[QIANFENG], _report("QF-1", DALANG, QIANFENG, category="debt"))
        await _settle(net)
        at_qianfeng = await list_disputes(net.db(QIANFENG), concerning=QIANFENG)
        at_dalang = await list_disputes(net.db(DALANG), concerning=DALANG)
    assert {d.dispute_id for d in at_qianfeng} == {"DL-1", "QF-1"}
    assert [(d.dispute_id, d.originator) for d in at_dalang] == [("QF-1", QIANFENG)]


async def test_a_dispute_concerning_only_local_residents_is_refused_and_nothing_is_sent(
    backend: str, tmp_path: Path
) -> None:
    async with _network(backend, tmp_path) as net:
        with pytest.raises(NoPartnerConcerned):
            await report_dispute(net[DALANG], _report("DL-2", DALANG))
        with pytest.raises(NoPartnerConcerned, match="beijing-chaoyang"):
            await report_dispute(net[DALANG], _report("DL-3", "beijing-chaoyang"))
        assert await _outbox_size(net.db(DALANG)) == 0
        assert await list_disputes(net.db(DALANG)) == []


async def test_parties_from_jurisdictions_without_an_agreement_are_not_sent_the_dispute(
    backend: str, tmp_path: Path
) -> None:
    async with _network(backend, tmp_path) as net:
        sent = await report_dispute(net[DALANG], _report("DL-4", QIANFENG, "beijing-chaoyang"))
        await _settle(net)
        case = await get_dispute_case(net.db(QIANFENG), "DL-4")
    assert sent.recipients == (QIANFENG,)
    assert case is not None and case.party_jurisdictions == ["beijing-chaoyang", QIANFENG]


async def test_the_partner_cannot_act_on_a_dispute_it_was_told_of(
    backend: str, tmp_path: Path
) -> None:
    async with _network(backend, tmp_path) as net:
        await report_dispute(net[DALANG], _report("DL-5"))
        await _settle(net)
        with pytest.raises(NotDisputeOwner, match="reported in dongguan-dalang"):
            await regrade_dispute(
                net[QIANFENG], RegradeDispute(dispute_id="DL-5", risk="low", reason="calmer")
            )
        assert await _outbox_size(net.db(QIANFENG)) == 0


async def test_a_step_the_owner_did_not_take_is_quarantined_where_it_arrives(
    backend: str, tmp_path: Path
) -> None:
    async with _network(backend, tmp_path) as net:
        await report_dispute(net[DALANG], _report("DL-6"))
        await _settle(net)
        forged = DisputeRegradedV1(
            dispute_id="DL-6",
            previous_risk="medium",
            risk="low",
            reason="x",
            regraded_on="2026-05-20",
        )
        async with net[QIANFENG].unit_of_work() as conn:  # a partner bypassing its own commands
            await net[QIANFENG].send(conn, forged, DALANG, "DL-6")
        [delivery] = await net.deliver_all()
        async with net.db(DALANG).transaction() as conn:
            reason = (await conn.execute(select(quarantine.c.reason))).scalar_one()
        case = await get_dispute_case(net.db(DALANG), "DL-6")
    assert delivery.receipt.outcome == Outcome.QUARANTINED
    assert reason == "not_case_owner"
    assert case is not None and case.risk == "medium" and len(case.timeline) == 1


async def test_the_ladder_ends_at_level_five(backend: str, tmp_path: Path) -> None:
    async with _network(backend, tmp_path) as net:
        await report_dispute(net[DALANG], _report("DL-7", level=4))
        await escalate_dispute(
            net[DALANG],
            EscalateDispute(dispute_id="DL-7", reason="joint session", departments=["labour"]),
        )
        with pytest.raises(LadderStepRefused, match="top"):
            await escalate_dispute(net[DALANG], EscalateDispute(dispute_id="DL-7", reason="more"))
        await _settle(net)
        case = await get_dispute_case(net.db(QIANFENG), "DL-7")
    assert case is not None and case.level == 5


async def test_reporting_the_same_dispute_twice_or_closing_it_as_resolved_early_is_refused(
    backend: str, tmp_path: Path
) -> None:
    async with _network(backend, tmp_path) as net:
        await report_dispute(net[DALANG], _report("DL-8"))
        with pytest.raises(DuplicateDispute):
            await report_dispute(net[DALANG], _report("DL-8"))
        with pytest.raises(ClosureMismatch):
            await close_dispute(net[DALANG], CloseDispute(dispute_id="DL-8", closure="resolved"))
        assert await _outbox_size(net.db(DALANG)) == 1


async def test_the_partner_receipts_the_report_and_the_owner_marks_it_delivered(
    backend: str, tmp_path: Path
) -> None:
    bureaus = [Bureau(DALANG), Bureau(QIANFENG)]
    agreement = cooperation(bureaus, [*DISPUTES, "bus.receipt"], "H2", PERSONAL)

    def handlers(node: Node) -> dict[str, Handler]:
        return DISPUTES | {"bus.receipt": receipt_handler(node.jurisdiction, node.clock)}

    async with open_network(backend, tmp_path, bureaus, [agreement], handlers) as net:
        await report_dispute(net[DALANG], _report("DL-9"))
        await _settle(net)
        qianfeng = net[QIANFENG]
        async with qianfeng.unit_of_work() as conn:
            await issue_receipts(conn, qianfeng.book, qianfeng.signer, net.clock())
        await _settle(net)
        async with net.db(DALANG).transaction() as conn:
            statuses = list((await conn.execute(select(outbox.c.status))).scalars())
    assert statuses == ["delivered"]


async def test_days_are_days_of_china_standard_time_whatever_the_hour_in_utc(
    backend: str, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from tests.support.nodes import NetworkClock

    clock = NetworkClock(datetime(2026, 5, 20, 17, 30, tzinfo=UTC))  # 01:30 on 21 May in Dalang
    bureaus = [Bureau(DALANG), Bureau(QIANFENG)]
    agreement = cooperation(bureaus, list(DISPUTES), "H2", PERSONAL)
    async with open_network(backend, tmp_path, bureaus, [agreement], DISPUTES, clock) as net:
        dalang = net[DALANG]
        sent = await report_dispute(dalang, _report())
        await resolve_dispute(
            dalang, ResolveDispute(dispute_id=sent.case_id, outcome="mediated_agreement")
        )
        await _settle(net)
        case = await get_dispute_case(net.db(QIANFENG), sent.case_id)
    assert dalang.today() == "2026-05-21"
    assert case is not None and case.resolved_on == "2026-05-21"
