"""Illegal steps of a linked mediation on real stores: each command raises its typed error and
sends nothing; a step received from outside the case is quarantined where it arrives."""

from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events.common import Person
from contracts.events.mediation import (
    MediationFindingsReportedV1,
    MediationOutcome,
    outcome_digest,
)
from services.bus.inbox import Outcome
from services.disputes.commands import ReportDispute, report_dispute
from services.disputes.handlers import HANDLERS as DISPUTES
from services.disputes.model import DisputeState
from services.disputes.queries import get_dispute_case
from services.mediation.commands import (
    AcceptMediation,
    AssignTask,
    CloseMediation,
    DeclineMediation,
    ProposeOutcome,
    ReportFindings,
    RequestMediation,
    SignOutcome,
    accept_mediation,
    assign_task,
    close_mediation,
    decline_mediation,
    propose_outcome,
    report_findings,
    request_mediation,
    sign_outcome,
)
from services.mediation.handlers import HANDLERS as MEDIATION
from services.mediation.model import (
    AlreadySigned,
    DigestMismatch,
    IllegalMediationTransition,
    MediationState,
    NotYourStep,
    SignatureMissing,
    TaskStillOpen,
    UnknownMediation,
)
from services.mediation.queries import get_mediation_case
from services.mediation.records import TASK_ORDER
from services.mediation.tables import mediation_proposals, mediation_tasks, mediations
from services.store.tables import outbox, quarantine
from tests.support.databases import BACKENDS
from tests.support.migrations import migrate
from tests.support.nodes import Network, cooperation, open_network
from tests.support.trust import Bureau

pytestmark = pytest.mark.parametrize("backend", BACKENDS)

DALANG, QIANFENG, LONGGANG = "dongguan-dalang", "guangan-qianfeng", "shenzhen-longgang"
M, T1, T2 = "LM-1", "LM-1.T1", "LM-1.T2"
ASSISTANT = Person(name="Police assistant Tang", home_jurisdiction=QIANFENG)
OUTCOME = MediationOutcome(terms=["the land goes back", "medical costs are paid"])
DIGEST = outcome_digest(OUTCOME)


def _network(backend: str, tmp_path: Path) -> AbstractAsyncContextManager[Network]:
    bureaus = [Bureau(DALANG), Bureau(QIANFENG), Bureau(LONGGANG)]
    agreement = cooperation(bureaus, [*DISPUTES, *MEDIATION], "H2")
    return open_network(backend, tmp_path, bureaus, [agreement], DISPUTES | MEDIATION)


async def _settle(net: Network) -> None:
    net.assert_applied(await net.deliver_all())
    net.clock.advance()


async def _requested(
    net: Network, requester: str = DALANG, part: str = "Establish who owns the land."
) -> None:
    """Dalang reports the fight; `requester` (Dalang, or Qianfeng, which holds it as a partner)
    asks the other to mediate jointly."""
    await report_dispute(
        net[DALANG],
        ReportDispute(
            dispute_id="DL-1",
            category="land",
            risk="high",
            source="police_assistant",
            place="Xiangtou village, Dalang",
            parties=[Person(name="老黄", home_jurisdiction=QIANFENG)],
            narrative="A land quarrel became a fight.",
            occurred_on="2022-02-10",
        ),
    )
    await _settle(net)  # the partner holds the dispute
    await request_mediation(
        net[requester],
        RequestMediation(
            mediation_id=M,
            dispute_id="DL-1",
            mediator=ASSISTANT,
            summary="Fight rooted in a land quarrel.",
            requested_part=part,
        ),
    )
    await _settle(net)


async def _proposed(net: Network) -> None:
    """Accepted, two tasks assigned, the outcome proposed; only Dalang's findings are in."""
    await _requested(net)
    await accept_mediation(net[QIANFENG], AcceptMediation(mediation_id=M, officer=ASSISTANT))
    await _settle(net)
    for task, side in ((T1, DALANG), (T2, QIANFENG)):
        await assign_task(
            net[DALANG], AssignTask(mediation_id=M, task_id=task, assignee=side, description="d")
        )
    await report_findings(net[DALANG], ReportFindings(mediation_id=M, task_id=T1, findings="f"))
    await propose_outcome(
        net[DALANG], ProposeOutcome(mediation_id=M, mediator=ASSISTANT, outcome=OUTCOME)
    )
    await _settle(net)


def _signature(digest: str = DIGEST) -> SignOutcome:
    return SignOutcome(mediation_id=M, signer=ASSISTANT, signer_role="party", terms_digest=digest)


async def _outbox_size(net: Network, jurisdiction: str) -> int:
    async with net.db(jurisdiction).transaction() as conn:
        return int((await conn.execute(select(func.count()).select_from(outbox))).scalar_one())


async def test_closing_with_a_task_open_is_refused_and_nothing_is_sent(
    backend: str, tmp_path: Path
) -> None:
    async with _network(backend, tmp_path) as net:
        await _proposed(net)
        for side in (DALANG, QIANFENG):
            await sign_outcome(net[side], _signature())
        await _settle(net)
        before = await _outbox_size(net, DALANG)
        with pytest.raises(TaskStillOpen, match=T2):
            await close_mediation(
                net[DALANG], CloseMediation(mediation_id=M, closure="agreement_signed")
            )
        assert await _outbox_size(net, DALANG) == before
        case = await get_mediation_case(net.db(DALANG), M)
    assert case is not None and case.state == MediationState.PROPOSED


async def test_signing_twice_or_a_different_digest_is_refused(backend: str, tmp_path: Path) -> None:
    async with _network(backend, tmp_path) as net:
        await _proposed(net)
        await sign_outcome(net[QIANFENG], _signature())
        with pytest.raises(AlreadySigned):
            await sign_outcome(net[QIANFENG], _signature())
        with pytest.raises(DigestMismatch):
            await sign_outcome(net[DALANG], _signature("0" * 64))
        await _settle(net)
        case = await get_mediation_case(net.db(DALANG), M)
    assert case is not None and [s.party_jurisdiction for s in case.signatures] == [QIANFENG]


async def test_a_revised_outcome_needs_both_signatures_again(backend: str, tmp_path: Path) -> None:
    revised = MediationOutcome(terms=["the land goes back by 1 March"])
    async with _network(backend, tmp_path) as net:
        await _proposed(net)
        await report_findings(
            net[QIANFENG], ReportFindings(mediation_id=M, task_id=T2, findings="f")
        )
        for side in (DALANG, QIANFENG):
            await sign_outcome(net[side], _signature())
        await _settle(net)
        await propose_outcome(
            net[QIANFENG], ProposeOutcome(mediation_id=M, mediator=ASSISTANT, outcome=revised)
        )
        await _settle(net)
        await sign_outcome(net[DALANG], _signature(outcome_digest(revised)))
        await _settle(net)
        with pytest.raises(SignatureMissing, match=QIANFENG):
            await close_mediation(
                net[DALANG], CloseMediation(mediation_id=M, closure="agreement_signed")
            )


async def test_only_the_dispute_owner_closes_with_an_agreement(
    backend: str, tmp_path: Path
) -> None:
    async with _network(backend, tmp_path) as net:
        await _proposed(net)
        with pytest.raises(NotYourStep, match="owns the dispute"):
            await close_mediation(
                net[QIANFENG], CloseMediation(mediation_id=M, closure="agreement_signed")
            )


async def test_a_declined_request_ends_the_mediation_and_leaves_the_dispute_open(
    backend: str, tmp_path: Path
) -> None:
    async with _network(backend, tmp_path) as net:
        await _requested(net)
        await decline_mediation(
            net[QIANFENG],
            DeclineMediation(
                mediation_id=M, reason="The parties live in Guixing; Guixing takes it."
            ),
        )
        await _settle(net)
        with pytest.raises(IllegalMediationTransition, match="declined mediation"):
            await assign_task(
                net[DALANG],
                AssignTask(mediation_id=M, task_id=T1, assignee=DALANG, description="d"),
            )
        cases = [await get_mediation_case(net.db(j), M) for j in (DALANG, QIANFENG)]
        dispute = await get_dispute_case(net.db(QIANFENG), "DL-1")
    assert cases[0] is not None and cases[0] == cases[1]
    assert (cases[0].state, cases[0].answer_note) == (
        MediationState.DECLINED,
        "The parties live in Guixing; Guixing takes it.",
    )
    assert dispute is not None and dispute.state == DisputeState.REPORTED


async def test_the_requester_may_withdraw_before_an_answer(backend: str, tmp_path: Path) -> None:
    async with _network(backend, tmp_path) as net:
        await _requested(net)
        await close_mediation(net[DALANG], CloseMediation(mediation_id=M, closure="withdrawn"))
        await _settle(net)
        case = await get_mediation_case(net.db(QIANFENG), M)
    assert case is not None and (case.state, case.closure) == (MediationState.CLOSED, "withdrawn")


async def test_a_bureau_not_party_to_the_mediation_cannot_act_on_it(
    backend: str, tmp_path: Path
) -> None:
    async with _network(backend, tmp_path) as net:
        await _proposed(net)
        with pytest.raises(UnknownMediation):
            await report_findings(
                net[LONGGANG], ReportFindings(mediation_id=M, task_id=T2, findings="f")
            )
        forged = MediationFindingsReportedV1(
            mediation_id=M, task_id=T2, reported_by=LONGGANG, findings="f", reported_on="2026-05-20"
        )
        async with net[LONGGANG].unit_of_work() as conn:  # bypassing its own commands
            await net[LONGGANG].send(conn, forged, DALANG, M)
        [delivery] = await net.deliver_all()
        async with net.db(DALANG).transaction() as conn:
            reason = (await conn.execute(select(quarantine.c.reason))).scalar_one()
        case = await get_mediation_case(net.db(DALANG), M)
    assert (delivery.receipt.outcome, reason) == (Outcome.QUARANTINED, "not_party_to_case")
    assert case is not None and [t.findings for t in case.tasks] == ["f", None]


async def test_a_withdrawal_crossing_the_owners_close_with_an_agreement_gives_way_to_it(
    backend: str, tmp_path: Path
) -> None:
    async with _network(backend, tmp_path) as net:
        await _requested(net, QIANFENG, "Establish who started the fight.")
        await accept_mediation(net[DALANG], AcceptMediation(mediation_id=M, officer=ASSISTANT))
        await _settle(net)
        await propose_outcome(
            net[DALANG], ProposeOutcome(mediation_id=M, mediator=ASSISTANT, outcome=OUTCOME)
        )
        await _settle(net)
        for side in (DALANG, QIANFENG):
            await sign_outcome(net[side], _signature())
        await _settle(net)
        # Qianfeng withdraws at the moment Dalang, which owns the dispute, closes it agreed.
        await close_mediation(net[QIANFENG], CloseMediation(mediation_id=M, closure="withdrawn"))
        await close_mediation(
            net[DALANG], CloseMediation(mediation_id=M, closure="agreement_signed")
        )
        deliveries = {d.recipient: d.receipt for d in await net.deliver_all()}
        cases = [await get_mediation_case(net.db(j), M) for j in (DALANG, QIANFENG)]
        disputes = [await get_dispute_case(net.db(j), "DL-1") for j in (DALANG, QIANFENG)]
    assert deliveries[QIANFENG].outcome == Outcome.APPLIED
    assert (deliveries[DALANG].outcome, deliveries[DALANG].reason) == (
        Outcome.QUARANTINED,
        "illegal_transition",
    )
    assert [(c.state, c.closure) for c in cases if c] == [
        (MediationState.CLOSED, "agreement_signed")
    ] * 2
    assert [(d.state, d.mediation_id) for d in disputes if d] == [(DisputeState.RESOLVED, M)] * 2


async def test_a_withdrawal_crossing_a_decline_gives_way_to_it(
    backend: str, tmp_path: Path
) -> None:
    async with _network(backend, tmp_path) as net:
        await _requested(net)
        await close_mediation(net[DALANG], CloseMediation(mediation_id=M, closure="withdrawn"))
        await decline_mediation(
            net[QIANFENG], DeclineMediation(mediation_id=M, reason="Guixing takes it.")
        )
        await net.deliver_all()
        cases = [await get_mediation_case(net.db(j), M) for j in (DALANG, QIANFENG)]
    assert [(c.state, c.closure, c.answer_note) for c in cases if c] == [
        (MediationState.DECLINED, None, "Guixing takes it.")
    ] * 2


async def test_steps_crossing_a_withdrawal_are_kept_but_none_is_sent_after_it_arrives(
    backend: str, tmp_path: Path
) -> None:
    async with _network(backend, tmp_path) as net:
        await _requested(net)
        await close_mediation(net[DALANG], CloseMediation(mediation_id=M, closure="withdrawn"))
        await accept_mediation(net[QIANFENG], AcceptMediation(mediation_id=M, officer=ASSISTANT))
        net.assert_applied(await net.deliver_all())
        with pytest.raises(IllegalMediationTransition, match="closed mediation"):
            await assign_task(
                net[QIANFENG],
                AssignTask(mediation_id=M, task_id=T1, assignee=QIANFENG, description="d"),
            )
        cases = [await get_mediation_case(net.db(j), M) for j in (DALANG, QIANFENG)]
    assert [(c.state, c.closure, c.officer) for c in cases if c] == [
        (MediationState.CLOSED, "withdrawn", ASSISTANT)
    ] * 2


REVISED = MediationOutcome(terms=["the land goes back by 1 March"])


async def _all_found(net: Network) -> None:
    """As `_proposed`, and Qianfeng's findings in too: the outcome may be signed and closed."""
    await _proposed(net)
    await report_findings(net[QIANFENG], ReportFindings(mediation_id=M, task_id=T2, findings="f"))
    await _settle(net)


async def _propose(net: Network, side: str, outcome: MediationOutcome) -> None:
    await propose_outcome(
        net[side], ProposeOutcome(mediation_id=M, mediator=ASSISTANT, outcome=outcome)
    )


async def _both_sign_and_dalang_closes(net: Network, digest: str) -> None:
    for side in (DALANG, QIANFENG):
        await sign_outcome(net[side], _signature(digest))
    await _settle(net)
    await close_mediation(net[DALANG], CloseMediation(mediation_id=M, closure="agreement_signed"))


async def _on_both_sides(net: Network) -> tuple[list[Any], list[Any]]:
    """The mediation and its dispute at Dalang and at Qianfeng."""
    sides = (DALANG, QIANFENG)
    cases = [await get_mediation_case(net.db(j), M) for j in sides]
    return cases, [await get_dispute_case(net.db(j), "DL-1") for j in sides]


async def test_two_proposals_made_at_once_settle_on_the_later_on_both_sides(
    backend: str, tmp_path: Path
) -> None:
    shared = MediationOutcome(terms=["the land is shared"])
    async with _network(backend, tmp_path) as net:
        await _all_found(net)
        await _propose(net, QIANFENG, REVISED)  # neither side has seen the other's
        await _propose(net, DALANG, shared)
        await _settle(net)
        cases, _ = await _on_both_sides(net)
        await _both_sign_and_dalang_closes(net, outcome_digest(shared))
        await _settle(net)
        _, disputes = await _on_both_sides(net)
    assert [(c.terms_digest, c.outcome) for c in cases if c] == [
        (outcome_digest(shared), shared)
    ] * 2
    [crossed] = [
        e.summary
        for e in cases[0].timeline
        if (e.type, e.source) == ("mediation.outcome_proposed", QIANFENG)
    ]
    assert crossed.endswith("(crossed a proposal made later, which stands)")
    assert [(d.state, d.terms) for d in disputes if d] == [
        (DisputeState.RESOLVED, shared.terms)
    ] * 2


async def test_a_signature_crossing_a_revision_is_kept_on_both_sides_and_counts_for_neither(
    backend: str, tmp_path: Path
) -> None:
    async with _network(backend, tmp_path) as net:
        await _all_found(net)
        await sign_outcome(net[QIANFENG], _signature())  # before Dalang's revision arrives
        await _propose(net, DALANG, REVISED)
        await _settle(net)  # nothing quarantined
        cases, _ = await _on_both_sides(net)
        with pytest.raises(SignatureMissing, match=QIANFENG):
            await sign_outcome(net[DALANG], _signature(outcome_digest(REVISED)))
            await close_mediation(
                net[DALANG], CloseMediation(mediation_id=M, closure="agreement_signed")
            )
    assert [[(s.party_jurisdiction, s.terms_digest) for s in c.signatures] for c in cases if c] == [
        [(QIANFENG, DIGEST)]
    ] * 2
    assert [c.terms_digest for c in cases if c] == [outcome_digest(REVISED)] * 2


async def test_the_owners_close_crossing_a_proposal_closes_both_sides_on_the_terms_it_names(
    backend: str, tmp_path: Path
) -> None:
    async with _network(backend, tmp_path) as net:
        await _all_found(net)
        await _both_sign_and_dalang_closes(net, DIGEST)
        await _propose(net, QIANFENG, REVISED)  # before the close arrives
        net.assert_applied(await net.deliver_all())
        cases, disputes = await _on_both_sides(net)
    assert [(c.state, c.terms_digest, c.outcome) for c in cases if c] == [
        (MediationState.CLOSED, DIGEST, OUTCOME)
    ] * 2
    assert [(d.state, d.terms) for d in disputes if d] == [
        (DisputeState.RESOLVED, OUTCOME.terms)
    ] * 2
    [crossed] = [e for e in cases[0].timeline if e.type == "mediation.outcome_proposed"][-1:]
    assert crossed.summary.endswith("(crossed the close on the terms agreed)")


async def test_a_task_the_other_side_assigns_as_the_owner_closes_is_kept_and_the_case_closes(
    backend: str, tmp_path: Path
) -> None:
    """Qianfeng's node has a task open when Dalang's close arrives: one Dalang never saw (it
    would not have closed with it open), so the close does not wait for it."""
    async with _network(backend, tmp_path) as net:
        await _all_found(net)
        await _both_sign_and_dalang_closes(net, DIGEST)
        await assign_task(
            net[QIANFENG],
            AssignTask(mediation_id=M, task_id="LM-1.P1", assignee=QIANFENG, description="d"),
        )
        net.assert_applied(await net.deliver_all())
        cases, disputes = await _on_both_sides(net)
    assert [(c.state, [t.task_id for t in c.tasks]) for c in cases if c] == [
        (MediationState.CLOSED, [T1, T2, "LM-1.P1"])
    ] * 2
    assert [d.state for d in disputes if d] == [DisputeState.RESOLVED] * 2


async def test_the_agreed_terms_proposed_again_as_the_owner_closes_resolve_alike_on_both_sides(
    backend: str, tmp_path: Path
) -> None:
    """Qianfeng proposes the agreed terms again, naming another mediator, as Dalang closes on
    them: the terms are named by their first proposal on both sides, the dispute too."""
    other = Person(name="Police assistant Li", home_jurisdiction=QIANFENG)
    async with _network(backend, tmp_path) as net:
        await _all_found(net)
        await _both_sign_and_dalang_closes(net, DIGEST)
        await propose_outcome(
            net[QIANFENG], ProposeOutcome(mediation_id=M, mediator=other, outcome=OUTCOME)
        )
        net.assert_applied(await net.deliver_all())
        cases, disputes = await _on_both_sides(net)
    assert [(c.terms_digest, c.mediator, c.proposed_by) for c in cases if c] == [
        (DIGEST, ASSISTANT, DALANG)
    ] * 2
    assert [(d.state, d.mediator) for d in disputes if d] == [
        (DisputeState.RESOLVED, ASSISTANT)
    ] * 2


async def test_the_same_terms_proposed_at_once_by_both_sides_are_named_alike(
    backend: str, tmp_path: Path
) -> None:
    other = Person(name="Police assistant Li", home_jurisdiction=QIANFENG)
    async with _network(backend, tmp_path) as net:
        await _all_found(net)
        await _propose(net, DALANG, REVISED)
        await propose_outcome(
            net[QIANFENG], ProposeOutcome(mediation_id=M, mediator=other, outcome=REVISED)
        )
        await _settle(net)
        cases, _ = await _on_both_sides(net)
    assert [(c.terms_digest, c.mediator, c.proposed_by) for c in cases if c] == [
        (outcome_digest(REVISED), ASSISTANT, DALANG)  # the first proposal of those terms
    ] * 2


async def test_the_migration_fills_in_the_proposal_in_force_and_the_order_of_the_tasks(
    backend: str, tmp_path: Path
) -> None:
    async with _network(backend, tmp_path) as net:
        await _all_found(net)
        await _propose(net, QIANFENG, REVISED)
        await _settle(net)
        async with net.db(DALANG).transaction() as conn:
            before = await _proposal_columns(conn)
            await conn.run_sync(migrate, "downgrade", "0012@-1")
            await conn.run_sync(migrate, "upgrade", "heads")
            after = await _proposal_columns(conn)
            [kept] = (await conn.execute(select(mediation_proposals))).all()
    assert after == before
    assert (kept.event_id, kept.terms_digest, kept.outcome) == (
        before[0],
        outcome_digest(REVISED),
        REVISED.model_dump(mode="json", exclude_none=True),
    )


async def _proposal_columns(conn: AsyncConnection) -> tuple[Any, ...]:
    """The proposal in force, and each task's assigning event, in the tasks' order."""
    proposal = select(mediations.c.proposal_id).where(mediations.c.mediation_id == M)
    tasks = select(mediation_tasks.c.task_id, mediation_tasks.c.assigned_event).order_by(
        *TASK_ORDER
    )
    return (await conn.execute(proposal)).scalar_one(), (await conn.execute(tasks)).all()
