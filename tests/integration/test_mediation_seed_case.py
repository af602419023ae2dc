"""The seed case of DOMAIN.md end to end: the Guangxing land quarrel that became a fight in Dalang.

Two real stores (SQLite, then PostgreSQL), envelopes handed from outbox to inbox: a police
assistant reports the fight in Dalang, Dalang requests linked mediation, Qianfeng accepts, each
side establishes its part, the outcome is signed on both sides, and the case closes, with the
same states and the same timelines on both nodes.
"""

from pathlib import Path

import pytest
from sqlalchemy import select

from contracts.agreement import LoadedAgreement
from contracts.events.common import Person
from contracts.events.mediation import Compensation, MediationOutcome, outcome_digest
from services.disputes.commands import CloseDispute, ReportDispute, close_dispute, report_dispute
from services.disputes.handlers import HANDLERS as DISPUTES
from services.disputes.model import DisputeState
from services.disputes.queries import get_dispute_case
from services.mediation.commands import (
    AcceptMediation,
    AssignTask,
    CloseMediation,
    ProposeOutcome,
    ReportFindings,
    RequestMediation,
    SignOutcome,
    accept_mediation,
    assign_task,
    close_mediation,
    propose_outcome,
    report_findings,
    request_mediation,
    sign_outcome,
)
from services.mediation.handlers import HANDLERS as MEDIATION
from services.mediation.model import MediationState
from services.mediation.queries import get_mediation_case
from services.store.tables import outbox
from tests.support.databases import BACKENDS
from tests.support.nodes import Network, cooperation, open_network
from tests.support.trust import Bureau

pytestmark = pytest.mark.parametrize("backend", BACKENDS)

DALANG, QIANFENG = "dongguan-dalang", "guangan-qianfeng"
DISPUTE, MEDIATION_ID = "DL-2022-0001", "LM-2022-0001"
PERSONAL = {"dispute.reported": ["parties[].id_number", "parties[].phone", "parties[].address"]}
LAO_HUANG = Person(
    name="老黄",
    home_jurisdiction=QIANFENG,
    id_number="511603196803120015",  # synthetic, ISO 7064 check digit
    address="广兴镇 Guangxing town",
)
LAO_CHENG = Person(
    name="老程",
    home_jurisdiction=QIANFENG,
    id_number="511603197006050020",
    phone="13800000002",
)
ASSISTANT = Person(name="Police assistant Tang", home_jurisdiction=QIANFENG, phone="13800000003")
OFFICER = Person(name="Officer Li, Guangxing station", home_jurisdiction=QIANFENG)
OUTCOME = MediationOutcome(
    terms=["老黄 returns the land he promised to return", "老程 pays the medical costs"],
    compensation=[
        Compensation(
            payer_name="老程", payee_name="老黄", amount_fen=98_000, purpose="medical costs"
        )
    ],
)


def _bureaus() -> list[Bureau]:
    return [Bureau(DALANG, "大朗"), Bureau(QIANFENG, "前锋")]


def _agreement(bureaus: list[Bureau]) -> LoadedAgreement:
    return cooperation(bureaus, [*DISPUTES, *MEDIATION], "H2", PERSONAL)


async def _step(net: Network) -> None:
    """Let a minute pass and hand every envelope over: each step is seen by both sides."""
    net.assert_applied(await net.deliver_all())
    net.clock.advance()


async def _run_seed_case(net: Network) -> None:
    dalang, qianfeng = net[DALANG], net[QIANFENG]
    await report_dispute(
        dalang,
        ReportDispute(
            dispute_id=DISPUTE,
            category="land",
            risk="high",
            source="police_assistant",
            place="Xiangtou village, Dalang (巷头村)",
            parties=[LAO_HUANG, LAO_CHENG],
            narrative="A land quarrel at home at Spring Festival became a fight at work.",
            occurred_on="2022-02-10",
        ),
    )
    await _step(net)
    await request_mediation(
        dalang,
        RequestMediation(
            mediation_id=MEDIATION_ID,
            dispute_id=DISPUTE,
            mediator=ASSISTANT,
            summary="Fight in Dalang rooted in a land quarrel in Guangxing.",
            requested_part="Establish who owns the disputed land.",
            reply_by="2022-02-14",
        ),
    )
    await _step(net)
    await accept_mediation(qianfeng, AcceptMediation(mediation_id=MEDIATION_ID, officer=OFFICER))
    await _step(net)
    for task_id, assignee, description in [
        (f"{MEDIATION_ID}.T1", DALANG, "Investigate the fight at the knitting workshop."),
        (f"{MEDIATION_ID}.T2", QIANFENG, "With the village cadres, establish who owns the land."),
    ]:
        await assign_task(
            dalang,
            AssignTask(
                mediation_id=MEDIATION_ID,
                task_id=task_id,
                assignee=assignee,
                description=description,
            ),
        )
    await _step(net)
    await report_findings(
        dalang,
        ReportFindings(
            mediation_id=MEDIATION_ID,
            task_id=f"{MEDIATION_ID}.T1",
            findings="Both men fought; 老黄 was injured, medical costs 980 yuan.",
        ),
    )
    await report_findings(
        qianfeng,
        ReportFindings(
            mediation_id=MEDIATION_ID,
            task_id=f"{MEDIATION_ID}.T2",
            findings="The land belongs to 老黄; 老程 had promised to return it in 2021.",
        ),
    )
    await _step(net)
    await propose_outcome(
        dalang, ProposeOutcome(mediation_id=MEDIATION_ID, mediator=ASSISTANT, outcome=OUTCOME)
    )
    await _step(net)
    digest = outcome_digest(OUTCOME)
    await sign_outcome(
        dalang,
        SignOutcome(
            mediation_id=MEDIATION_ID, signer=LAO_CHENG, signer_role="party", terms_digest=digest
        ),
    )
    await sign_outcome(
        qianfeng,
        SignOutcome(
            mediation_id=MEDIATION_ID, signer=LAO_HUANG, signer_role="party", terms_digest=digest
        ),
    )
    await _step(net)
    await close_mediation(
        dalang, CloseMediation(mediation_id=MEDIATION_ID, closure="agreement_signed")
    )
    await _step(net)


async def test_seed_case_closes_on_both_nodes_with_identical_states_and_timelines(
    backend: str, tmp_path: Path
) -> None:
    bureaus = _bureaus()
    async with open_network(
        backend, tmp_path, bureaus, [_agreement(bureaus)], DISPUTES | MEDIATION
    ) as net:
        await _run_seed_case(net)
        at_dalang = await get_mediation_case(net.db(DALANG), MEDIATION_ID)
        at_qianfeng = await get_mediation_case(net.db(QIANFENG), MEDIATION_ID)
        dispute_dalang = await get_dispute_case(net.db(DALANG), DISPUTE)
        dispute_qianfeng = await get_dispute_case(net.db(QIANFENG), DISPUTE)

    assert at_dalang is not None and at_qianfeng is not None
    assert at_dalang == at_qianfeng
    assert (at_dalang.state, at_dalang.closure) == (MediationState.CLOSED, "agreement_signed")
    assert [t.assignee for t in at_dalang.tasks] == [DALANG, QIANFENG]
    assert all(t.findings for t in at_dalang.tasks)
    assert {s.party_jurisdiction for s in at_dalang.signatures} == {DALANG, QIANFENG}
    assert {s.terms_digest for s in at_dalang.signatures} == {outcome_digest(OUTCOME)}
    assert [e.type for e in at_dalang.timeline] == [
        "mediation.requested",
        "mediation.accepted",
        "mediation.task_assigned",
        "mediation.task_assigned",
        "mediation.findings_reported",
        "mediation.findings_reported",
        "mediation.outcome_proposed",
        "mediation.outcome_signed",
        "mediation.outcome_signed",
        "mediation.closed",
    ]

    assert dispute_dalang is not None and dispute_dalang == dispute_qianfeng
    assert dispute_dalang.state == DisputeState.RESOLVED
    assert (dispute_dalang.outcome, dispute_dalang.compensation_fen) == (
        "mediated_agreement",
        98_000,
    )
    assert dispute_dalang.mediation_id == MEDIATION_ID
    assert [e.type for e in dispute_dalang.timeline] == ["dispute.reported", "mediation.closed"]


async def test_identity_numbers_reach_the_partner_sealed_and_never_travel_in_mediation_events(
    backend: str, tmp_path: Path
) -> None:
    bureaus = _bureaus()
    async with open_network(
        backend, tmp_path, bureaus, [_agreement(bureaus)], DISPUTES | MEDIATION
    ) as net:
        await _run_seed_case(net)
        dispute = await get_dispute_case(net.db(QIANFENG), DISPUTE)
        mediation = await get_mediation_case(net.db(QIANFENG), MEDIATION_ID)
        async with net.db(DALANG).transaction() as conn:
            sent = (await conn.execute(select(outbox.c.type, outbox.c.envelope))).all()
    assert dispute is not None and mediation is not None
    assert [p.id_number for p in dispute.parties] == [LAO_HUANG.id_number, LAO_CHENG.id_number]
    assert all(p.id_number is None and p.phone is None for p in mediation.parties)
    assert mediation.mediator == Person(name=ASSISTANT.name, home_jurisdiction=QIANFENG)
    personal = [LAO_HUANG.id_number, LAO_CHENG.id_number, LAO_CHENG.phone, ASSISTANT.phone]
    assert len(sent) == 8  # what Dalang sent: the report and seven mediation steps
    assert not [t for t, wire in sent for value in personal if value and value.encode() in wire]


async def test_closed_dispute_after_mediation_is_closed_on_both_nodes(
    backend: str, tmp_path: Path
) -> None:
    bureaus = _bureaus()
    async with open_network(
        backend, tmp_path, bureaus, [_agreement(bureaus)], DISPUTES | MEDIATION
    ) as net:
        await _run_seed_case(net)
        await close_dispute(net[DALANG], CloseDispute(dispute_id=DISPUTE, closure="resolved"))
        await _step(net)
        cases = [await get_dispute_case(net.db(j), DISPUTE) for j in (DALANG, QIANFENG)]
    assert cases[0] is not None and cases[0] == cases[1]
    assert (cases[0].state, cases[0].closure) == (DisputeState.CLOSED, "resolved")
