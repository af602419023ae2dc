"""The seed linked mediation over HTTP between Dalang and Qianfeng (in-process nodes, on SQLite
and PostgreSQL): requested, accepted, two tasks, findings from each side, an outcome both sides
sign, closed, and the dispute resolved on both; illegal steps are 409 problems."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from contracts.events.mediation import outcome_digest
from services.users.model import Role
from tests.support.api_cases import DALANG, QIANFENG, ApiPair, api_pair, dispute_report
from tests.support.databases import BACKENDS

DISPUTE, M = "DL-2022-0001", "LM-2022-0001"
ASSISTANT = {"name": "Police assistant Tang", "home_jurisdiction": QIANFENG}
OFFICER = {"name": "Officer Li, Guangxing station", "home_jurisdiction": QIANFENG}
OUTCOME: dict[str, Any] = {
    "terms": ["老黄 gets the land back", "老程 pays the medical costs"],
    "compensation": [
        {"payer_name": "老程", "payee_name": "老黄", "amount_fen": 98_000, "purpose": "medical"}
    ],
}
DIGEST = outcome_digest(OUTCOME)


@pytest.fixture(params=BACKENDS)
async def pair(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ApiPair]:
    async with api_pair(request.param, tmp_path) as pair:
        yield pair


async def _post(pair: ApiPair, side: str, role: Role, path: str, body: dict[str, Any]) -> Any:
    headers = await pair[side].token(role)
    response = await pair[side].client.post(path, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def _requested(pair: ApiPair, mediation_id: str = M) -> None:
    await _post(pair, DALANG, Role.MEDIATOR, "/disputes", dispute_report(dispute_id=DISPUTE))
    await pair.settle()
    request = {
        "mediation_id": mediation_id,
        "dispute_id": DISPUTE,
        "mediator": ASSISTANT,
        "summary": "Fight in Dalang rooted in a land quarrel in Guangxing.",
        "requested_part": "Establish who owns the disputed land.",
        "reply_by": "2026-05-25",
    }
    step = await _post(pair, DALANG, Role.MEDIATOR, "/mediations", request)
    assert step["recipients"] == [QIANFENG]
    await pair.settle()


async def _proposed(pair: ApiPair) -> None:
    """Accepted at Qianfeng, a task for each side, both findings in, the outcome proposed."""
    await _requested(pair)
    await _post(pair, QIANFENG, Role.OFFICER, f"/mediations/{M}/accept", {"officer": OFFICER})
    await pair.settle()
    for side, what in ((DALANG, "the fight at the workshop"), (QIANFENG, "who owns the land")):
        body = {"assignee": side, "description": f"Investigate {what}."}
        await _post(pair, DALANG, Role.MEDIATOR, f"/mediations/{M}/tasks", body)
    await pair.settle()
    for side, task in ((DALANG, f"{M}.T1"), (QIANFENG, f"{M}.T2")):
        path = f"/mediations/{M}/tasks/{task}/findings"
        await _post(pair, side, Role.OFFICER, path, {"findings": f"established by {side}"})
    await pair.settle()
    proposal = {"mediator": ASSISTANT, "outcome": OUTCOME}
    await _post(pair, DALANG, Role.MEDIATOR, f"/mediations/{M}/outcome", proposal)
    await pair.settle()


def _signature(name: str, side: str) -> dict[str, Any]:
    signer = {"name": name, "home_jurisdiction": side}
    return {"signer": signer, "signer_role": "party", "terms_digest": DIGEST}


async def test_seed_case_runs_over_http_and_closes_with_the_dispute_resolved_on_both_sides(pair):
    await _proposed(pair)
    reader = await pair[QIANFENG].token(Role.MEDIATOR)
    case = (await pair[QIANFENG].client.get(f"/mediations/{M}", headers=reader)).json()
    assert (case["state"], case["terms_digest"]) == ("proposed", DIGEST)

    sig = f"/mediations/{M}/signatures"
    await _post(pair, DALANG, Role.MEDIATOR, sig, _signature("老程", QIANFENG))
    await _post(pair, QIANFENG, Role.MEDIATOR, sig, _signature("老黄", QIANFENG))
    await pair.settle()
    closing = {"closure": "agreement_signed"}
    await _post(pair, DALANG, Role.MEDIATOR, f"/mediations/{M}/close", closing)
    await pair.settle()

    seen = []
    for side in (DALANG, QIANFENG):
        headers = await pair[side].token(Role.COMMAND_CENTRE)
        case = (await pair[side].client.get(f"/mediations/{M}", headers=headers)).json()
        dispute = (await pair[side].client.get(f"/disputes/{DISPUTE}", headers=headers)).json()
        assert (case["state"], case["closure"]) == ("closed", "agreement_signed")
        assert [t["findings"] is not None for t in case["tasks"]] == [True, True]
        assert {s["party_jurisdiction"] for s in case["signatures"]} == {DALANG, QIANFENG}
        assert (dispute["state"], dispute["mediation_id"]) == ("resolved", M)
        seen.append([e["event_id"] for e in case["timeline"]])
        listed = await pair[side].client.get(
            "/mediations", params={"dispute_id": DISPUTE}, headers=headers
        )
        assert [m["mediation_id"] for m in listed.json()] == [M]
    assert seen[0] == seen[1]
    assert len(seen[0]) == 10


async def test_closing_with_a_task_open_is_a_409_problem(pair):
    await _requested(pair)
    await _post(pair, QIANFENG, Role.OFFICER, f"/mediations/{M}/accept", {"officer": OFFICER})
    await pair.settle()
    body = {"assignee": QIANFENG, "description": "Establish who owns the land."}
    await _post(pair, DALANG, Role.MEDIATOR, f"/mediations/{M}/tasks", body)
    await _post(
        pair,
        DALANG,
        Role.MEDIATOR,
        f"/mediations/{M}/outcome",
        {"mediator": ASSISTANT, "outcome": OUTCOME},
    )
    await _post(
        pair, DALANG, Role.MEDIATOR, f"/mediations/{M}/signatures", _signature("老程", QIANFENG)
    )

    mediator = await pair[DALANG].token(Role.MEDIATOR)
    response = await pair[DALANG].client.post(
        f"/mediations/{M}/close", json={"closure": "agreement_signed"}, headers=mediator
    )

    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/task_still_open"


async def test_signing_twice_for_one_side_is_a_409_problem(pair):
    await _proposed(pair)
    sig = f"/mediations/{M}/signatures"
    await _post(pair, DALANG, Role.MEDIATOR, sig, _signature("老程", QIANFENG))

    mediator = await pair[DALANG].token(Role.MEDIATOR)
    again = await pair[DALANG].client.post(sig, json=_signature("老程", QIANFENG), headers=mediator)

    assert again.status_code == 409, again.text
    assert again.json()["type"] == "/problems/already_signed"


async def test_accepting_a_mediation_this_side_requested_is_refused(pair):
    await _requested(pair)
    officer = await pair[DALANG].token(Role.OFFICER)
    response = await pair[DALANG].client.post(
        f"/mediations/{M}/accept", json={"officer": OFFICER}, headers=officer
    )
    assert response.status_code == 409, response.text


async def test_roles_that_do_not_do_the_work_are_403(pair):
    await _requested(pair)
    node = pair[QIANFENG]
    for role, path, body in (
        (Role.COMMAND_CENTRE, f"/mediations/{M}/accept", {"officer": OFFICER}),
        (Role.ADMIN, f"/mediations/{M}/decline", {"reason": "no"}),
        (Role.OFFICER, f"/mediations/{M}/outcome", {"mediator": ASSISTANT, "outcome": OUTCOME}),
        (Role.OFFICER, f"/mediations/{M}/close", {"closure": "withdrawn"}),
        (Role.AUDITOR, f"/mediations/{M}/signatures", _signature("老黄", QIANFENG)),
    ):
        headers = await node.token(role)
        response = await node.client.post(path, json=body, headers=headers)
        assert response.status_code == 403, (role, path)
    clerk = await node.token(Role.WINDOW_CLERK)
    assert (await node.client.get(f"/mediations/{M}", headers=clerk)).status_code == 403


async def test_tasks_of_a_mediation_with_the_longest_id_get_short_ids_no_named_task_has(pair):
    longest = "LM-" + "9" * 77
    await _requested(pair, longest)
    await _post(pair, QIANFENG, Role.OFFICER, f"/mediations/{longest}/accept", {"officer": OFFICER})
    await pair.settle()
    tasks = f"/mediations/{longest}/tasks"
    named = {"assignee": QIANFENG, "description": "Who owns the land.", "task_id": "T2"}
    await _post(pair, DALANG, Role.MEDIATOR, tasks, named)
    for what in ("The fight.", "The medical costs."):
        await _post(pair, DALANG, Role.MEDIATOR, tasks, {"assignee": DALANG, "description": what})
    await pair.settle()

    for side in (DALANG, QIANFENG):
        reader = await pair[side].token(Role.MEDIATOR)
        case = (await pair[side].client.get(f"/mediations/{longest}", headers=reader)).json()
        assert [t["task_id"] for t in case["tasks"]] == ["T2", "T3", "T4"]


async def test_tasks_assigned_at_once_on_both_sides_get_distinct_ids_listed_alike(pair):
    """Neither side has seen the other's task: the default ids still differ, and both sides
    list the two tasks in one order (the order they were assigned in)."""
    await _requested(pair)
    await _post(pair, QIANFENG, Role.OFFICER, f"/mediations/{M}/accept", {"officer": OFFICER})
    await pair.settle()
    for side in (DALANG, QIANFENG, DALANG):
        body = {"assignee": side, "description": f"Ask around in {side}."}
        await _post(pair, side, Role.MEDIATOR, f"/mediations/{M}/tasks", body)
    await pair.settle()

    for side in (DALANG, QIANFENG):
        reader = await pair[side].token(Role.MEDIATOR)
        case = (await pair[side].client.get(f"/mediations/{M}", headers=reader)).json()
        assert [t["task_id"] for t in case["tasks"]] == [f"{M}.T1", f"{M}.P1", f"{M}.T2"]


async def test_unknown_mediation_is_404(pair):
    reader = await pair[DALANG].token(Role.AUDITOR)
    response = await pair[DALANG].client.get("/mediations/LM-none", headers=reader)
    assert response.status_code == 404


async def test_an_amount_signed_json_cannot_carry_is_a_422_problem_and_nothing_is_proposed(pair):
    await _requested(pair)
    await _post(pair, QIANFENG, Role.OFFICER, f"/mediations/{M}/accept", {"officer": OFFICER})
    await pair.settle()
    too_much = OUTCOME | {"compensation": [OUTCOME["compensation"][0] | {"amount_fen": 2**60}]}
    mediator = await pair[DALANG].token(Role.MEDIATOR)
    response = await pair[DALANG].client.post(
        f"/mediations/{M}/outcome",
        json={"mediator": ASSISTANT, "outcome": too_much},
        headers=mediator,
    )

    assert response.status_code == 422, response.text
    assert response.json()["type"] == "/problems/not_canonicalisable"
    assert str(2**60) not in response.text
    case = (await pair[DALANG].client.get(f"/mediations/{M}", headers=mediator)).json()
    assert (case["state"], case["outcome"]) == ("accepted", None)
    assert await pair.net.deliver_all() == []  # nothing went into the outbox
