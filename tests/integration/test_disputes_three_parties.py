"""Three bureaus under one agreement (Qianfeng with Dalang and Longgang): who is sent what.

A dispute reaches every partner whose residents it concerns; a case received under H2 is not
passed on to a third bureau, neither itself nor a mediation request about it.
"""

from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select

from contracts.events.common import DisputeOutcome, Person
from contracts.events.mediation import MediationOutcome, outcome_digest
from contracts.events.reports import DisputeFigures
from services.disputes.commands import (
    RegradeDispute,
    ReportDispute,
    ResolveDispute,
    regrade_dispute,
    report_dispute,
    report_disputes,
    resolve_dispute,
)
from services.disputes.handlers import HANDLERS as DISPUTES
from services.disputes.model import DisputeState, NotDisputeOwner
from services.disputes.queries import get_dispute_case, list_disputes
from services.disputes.sharing import ShareDispute, share_dispute
from services.disputes.tables import dispute_shares
from services.handling import OnwardDisseminationRefused
from services.mediation.commands import (
    AcceptMediation,
    CloseMediation,
    ProposeOutcome,
    RequestMediation,
    SignOutcome,
    accept_mediation,
    close_mediation,
    propose_outcome,
    request_mediation,
    sign_outcome,
)
from services.mediation.handlers import HANDLERS as MEDIATION
from services.reports.counting import count_figures
from services.reports.period import Period
from services.store.tables import outbox
from tests.support.databases import BACKENDS
from tests.support.migrations import migrate
from tests.support.nodes import Network, cooperation, open_network
from tests.support.trust import Bureau

pytestmark = pytest.mark.parametrize("backend", BACKENDS)

DALANG, QIANFENG, LONGGANG = "dongguan-dalang", "guangan-qianfeng", "shenzhen-longgang"
ASSISTANT = Person(name="Police assistant Tang", home_jurisdiction=QIANFENG)


def _network(
    backend: str, tmp_path: Path, handling: str = "H2"
) -> AbstractAsyncContextManager[Network]:
    bureaus = [Bureau(QIANFENG), Bureau(DALANG), Bureau(LONGGANG)]
    agreement = cooperation(bureaus, [*DISPUTES, *MEDIATION], handling, agreement_id="qianfeng-prd")
    return open_network(backend, tmp_path, bureaus, [agreement], DISPUTES | MEDIATION)


def _report(dispute_id: str, *homes: str) -> ReportDispute:
    values: dict[str, Any] = {
        "dispute_id": dispute_id,
        "category": "land",
        "risk": "high",
        "source": "police_assistant",
        "place": "Xiangtou village, Dalang",
        "parties": [Person(name=f"party {n}", home_jurisdiction=h) for n, h in enumerate(homes)],
        "narrative": "A land quarrel at home became a fight at work.",
        "occurred_on": "2022-02-10",
    }
    return ReportDispute.model_validate(values)


async def _settle(net: Network) -> None:
    net.assert_applied(await net.deliver_all())
    net.clock.advance()


async def _sent_to(net: Network, sender: str, recipient: str) -> list[str]:
    async with net.db(sender).transaction() as conn:
        rows = await conn.execute(
            select(outbox.c.type).where(outbox.c.recipient == recipient).order_by(outbox.c.seq)
        )
        return list(rows.scalars())


async def test_a_dispute_reaches_only_the_partners_whose_residents_it_concerns(
    backend: str, tmp_path: Path
) -> None:
    async with _network(backend, tmp_path) as net:
        only_qianfeng = await report_dispute(net[DALANG], _report("DL-1", QIANFENG))
        both = await report_dispute(net[DALANG], _report("DL-2", QIANFENG, LONGGANG, DALANG))
        await _settle(net)
        await regrade_dispute(
            net[DALANG], RegradeDispute(dispute_id="DL-2", risk="medium", reason="apologies")
        )
        await _settle(net)
        held = {j: {d.dispute_id for d in await list_disputes(net.db(j))} for j in net.peers}
        at_longgang = await get_dispute_case(net.db(LONGGANG), "DL-2")
    assert (only_qianfeng.recipients, both.recipients) == ((QIANFENG,), (QIANFENG, LONGGANG))
    assert held == {DALANG: {"DL-1", "DL-2"}, QIANFENG: {"DL-1", "DL-2"}, LONGGANG: {"DL-2"}}
    assert at_longgang is not None and at_longgang.risk == "medium"
    assert at_longgang.holders == [DALANG, LONGGANG]


async def _threads(net: Network, sender: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(subject, recipient) -> (event id, correlation) of each envelope `sender` queued."""
    async with net.db(sender).transaction() as conn:
        rows = await conn.execute(
            select(outbox.c.subject, outbox.c.recipient, outbox.c.event_id, outbox.c.correlation)
        )
        return {(r.subject, r.recipient): (r.event_id, r.correlation) for r in rows}


async def test_a_batch_reaches_each_partner_concerned_under_the_agreement_it_has_with_it(
    backend: str, tmp_path: Path
) -> None:
    bureaus = [Bureau(QIANFENG), Bureau(DALANG), Bureau(LONGGANG)]
    agreements = [
        cooperation([bureaus[1], other], list(DISPUTES), "H2", agreement_id=f"dalang-{name}")
        for other, name in ((bureaus[0], "qianfeng"), (bureaus[2], "longgang"))
    ]
    batch = [
        _report("DL-4", QIANFENG),
        _report("DL-5", LONGGANG, QIANFENG),
        _report("DL-6", LONGGANG),
    ]
    async with open_network(backend, tmp_path, bureaus, agreements, DISPUTES) as net:
        sent = await report_disputes(net[DALANG], batch)
        threads = await _threads(net, DALANG)
        await _settle(net)
        held = {j: {d.dispute_id for d in await list_disputes(net.db(j))} for j in net.peers}
        at_qianfeng = await get_dispute_case(net.db(QIANFENG), "DL-5")
    assert [s.recipients for s in sent] == [(QIANFENG,), (QIANFENG, LONGGANG), (LONGGANG,)]
    assert held == {
        DALANG: {"DL-4", "DL-5", "DL-6"},
        QIANFENG: {"DL-4", "DL-5"},
        LONGGANG: {"DL-5", "DL-6"},
    }
    # DL-5's thread starts at its envelope to Qianfeng; the one to Longgang correlates to it.
    opened, _ = threads[("DL-5", QIANFENG)]
    assert sent[1].event_id == opened
    assert threads[("DL-5", LONGGANG)][1] == opened
    assert at_qianfeng is not None and at_qianfeng.correlation == opened


async def test_an_empty_batch_reports_nothing(backend: str, tmp_path: Path) -> None:
    async with _network(backend, tmp_path) as net:
        assert await report_disputes(net[DALANG], []) == []
        assert await _threads(net, DALANG) == {}


async def test_a_dispute_received_under_h2_is_not_sent_on_to_a_third_bureau(
    backend: str, tmp_path: Path
) -> None:
    async with _network(backend, tmp_path) as net:
        await report_dispute(net[DALANG], _report("DL-3", QIANFENG))
        await _settle(net)
        with pytest.raises(OnwardDisseminationRefused) as shared:
            await share_dispute(net[QIANFENG], ShareDispute(dispute_id="DL-3", partner=LONGGANG))
        with pytest.raises(OnwardDisseminationRefused) as requested:
            await request_mediation(
                net[QIANFENG],
                RequestMediation(
                    mediation_id="LM-3",
                    dispute_id="DL-3",
                    partner=LONGGANG,
                    mediator=ASSISTANT,
                    summary="Ask Longgang to help.",
                    requested_part="Find the witness who moved to Longgang.",
                ),
            )
        assert await _sent_to(net, QIANFENG, LONGGANG) == []
    for refusal in (shared.value, requested.value):
        assert "received from dongguan-dalang under H2 (no onward dissemination)" in str(refusal)
        assert "to shenzhen-longgang" in str(refusal)


async def test_the_originator_may_share_its_dispute_with_another_partner(
    backend: str, tmp_path: Path
) -> None:
    async with _network(backend, tmp_path) as net:
        await report_dispute(net[DALANG], _report("DL-4", QIANFENG))
        await share_dispute(net[DALANG], ShareDispute(dispute_id="DL-4", partner=LONGGANG))
        await _settle(net)
        at_dalang = await get_dispute_case(net.db(DALANG), "DL-4")
        at_longgang = await get_dispute_case(net.db(LONGGANG), "DL-4")
    assert at_dalang is not None and at_dalang.holders == [DALANG, QIANFENG, LONGGANG]
    assert at_longgang is not None and at_longgang.originator == DALANG
    assert at_longgang.correlation == at_dalang.correlation  # one case thread
    assert at_dalang.timeline[-1].summary == f"reported to {LONGGANG} as it stands"


async def test_a_dispute_shared_later_counts_for_both_sides_from_when_it_was_shared(
    backend: str, tmp_path: Path
) -> None:
    """Reported to Qianfeng in May, shared with Longgang in July, resolved three days later:
    Dalang and Longgang both count it in H2, as Longgang received it then; Dalang and Qianfeng
    both in H1, open at its end."""
    counted: dict[tuple[str, str, str], tuple[DisputeFigures, list[str]]] = {}
    async with _network(backend, tmp_path) as net:
        await report_dispute(net[DALANG], _report("DL-4", QIANFENG))
        await _settle(net)
        net.clock.advance(timedelta(days=60))  # 2026-07-19
        await share_dispute(net[DALANG], ShareDispute(dispute_id="DL-4", partner=LONGGANG))
        await _settle(net)
        net.clock.advance(timedelta(days=3))
        resolved = ResolveDispute(dispute_id="DL-4", outcome=DisputeOutcome.SETTLED_BY_PARTIES)
        await resolve_dispute(net[DALANG], resolved)
        await _settle(net)
        for me, partner in ((DALANG, LONGGANG), (LONGGANG, DALANG), (DALANG, QIANFENG)):
            async with net.db(me).transaction() as conn:
                for half in ("2026-H1", "2026-H2"):
                    f = await count_figures(conn, me, [partner], Period.parse(half))
                    counted[me, partner, half] = (f.disputes, [i.case_id for i in f.open_items])
        async with net.db(QIANFENG).transaction() as conn:
            f = await count_figures(conn, QIANFENG, [DALANG], Period.parse("2026-H1"))
            counted[QIANFENG, DALANG, "2026-H1"] = (f.disputes, [i.case_id for i in f.open_items])

    for half in ("2026-H1", "2026-H2"):
        assert counted[DALANG, LONGGANG, half] == counted[LONGGANG, DALANG, half]
    assert counted[DALANG, QIANFENG, "2026-H1"] == counted[QIANFENG, DALANG, "2026-H1"]
    with_longgang, open_with_longgang = counted[DALANG, LONGGANG, "2026-H2"]
    assert (with_longgang.reported, with_longgang.resolved, open_with_longgang) == (1, 1, [])
    assert with_longgang.median_days_to_resolution == 3
    assert counted[DALANG, LONGGANG, "2026-H1"][0].reported == 0
    with_qianfeng, open_with_qianfeng = counted[DALANG, QIANFENG, "2026-H1"]
    assert (with_qianfeng.reported, open_with_qianfeng) == (1, ["DL-4"])
    assert counted[DALANG, QIANFENG, "2026-H2"][0].reported == 0


async def test_the_migration_fills_in_the_shares_made_before_it(backend: str, tmp_path: Path):
    async with _network(backend, tmp_path) as net:
        await report_disputes(net[DALANG], [_report("DL-6", QIANFENG, LONGGANG)])
        await report_dispute(net[DALANG], _report("DL-7", QIANFENG))
        await share_dispute(net[DALANG], ShareDispute(dispute_id="DL-7", partner=LONGGANG))
        async with net.db(DALANG).transaction() as conn:
            recorded = (await conn.execute(select(dispute_shares))).all()
            await conn.run_sync(migrate, "downgrade", "0011@-1")
            assert not await conn.run_sync(lambda c: inspect(c).has_table("dispute_shares"))
            await conn.run_sync(migrate, "upgrade", "heads")
            filled = (await conn.execute(select(dispute_shares))).all()
    assert [(r.dispute_id, r.partner) for r in recorded] == [("DL-7", LONGGANG)]
    assert filled == recorded


async def test_without_h2_the_partner_still_cannot_share_a_dispute_it_does_not_own(
    backend: str, tmp_path: Path
) -> None:
    async with _network(backend, tmp_path, handling="H0") as net:
        await report_dispute(net[DALANG], _report("DL-5", QIANFENG))
        await _settle(net)
        with pytest.raises(NotDisputeOwner, match="may not share"):
            await share_dispute(net[QIANFENG], ShareDispute(dispute_id="DL-5", partner=LONGGANG))


async def test_a_mediation_between_two_holders_resolves_the_dispute_for_the_third_too(
    backend: str, tmp_path: Path
) -> None:
    outcome = MediationOutcome(terms=["the land goes back to its owner"])
    async with _network(backend, tmp_path) as net:
        await report_dispute(net[DALANG], _report("DL-6", QIANFENG, LONGGANG))
        await _settle(net)
        await request_mediation(
            net[DALANG],
            RequestMediation(
                mediation_id="LM-6",
                dispute_id="DL-6",
                partner=QIANFENG,
                mediator=ASSISTANT,
                summary="Land quarrel.",
                requested_part="Establish who owns the land.",
            ),
        )
        await _settle(net)
        await accept_mediation(
            net[QIANFENG], AcceptMediation(mediation_id="LM-6", officer=ASSISTANT)
        )
        await _settle(net)
        await propose_outcome(
            net[DALANG], ProposeOutcome(mediation_id="LM-6", mediator=ASSISTANT, outcome=outcome)
        )
        await _settle(net)
        for side in (DALANG, QIANFENG):
            await sign_outcome(
                net[side],
                SignOutcome(
                    mediation_id="LM-6",
                    signer=ASSISTANT,
                    signer_role="mediator",
                    terms_digest=outcome_digest(outcome),
                ),
            )
        await _settle(net)
        await close_mediation(
            net[DALANG], CloseMediation(mediation_id="LM-6", closure="agreement_signed")
        )
        await _settle(net)
        cases = {j: await get_dispute_case(net.db(j), "DL-6") for j in net.peers}
        longgang_sent = await _sent_to(net, DALANG, LONGGANG)
    assert {j: c.state for j, c in cases.items() if c} == dict.fromkeys(
        cases, DisputeState.RESOLVED
    )
    assert {c.mediation_id for c in cases.values() if c} == {"LM-6"}
    assert longgang_sent == ["dispute.reported", "dispute.resolved"]
