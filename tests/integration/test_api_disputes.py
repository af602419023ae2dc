"""Disputes over HTTP between Dalang and Qianfeng (in-process nodes, on SQLite and PostgreSQL):
reported at Dalang, seen at Qianfeng, taken through its life by Dalang's mediator; refusals as
problems; parties' personal data masked by role and every read of it logged."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.users.model import Role
from tests.support.api_cases import (
    DALANG,
    LAO_HUANG,
    QIANFENG,
    ApiPair,
    api_pair,
    dispute_report,
)
from tests.support.databases import BACKENDS

ID = "DL-2022-0001"
MASKED_ID = "511603********0015"


@pytest.fixture(params=BACKENDS)
async def pair(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ApiPair]:
    async with api_pair(request.param, tmp_path) as pair:
        yield pair


async def _reported(pair: ApiPair) -> None:
    mediator = await pair[DALANG].token(Role.MEDIATOR, "assistant.tang")
    response = await pair[DALANG].client.post("/disputes", json=dispute_report(), headers=mediator)
    assert response.status_code == 201, response.text
    assert response.json()["recipients"] == [QIANFENG]
    assert response.headers["location"] == f"/disputes/{ID}"
    await pair.settle()


async def test_dispute_reported_over_http_is_held_by_both_bureaus(pair):
    await _reported(pair)
    for side in (DALANG, QIANFENG):
        officer = await pair[side].token(Role.OFFICER)
        listed = await pair[side].client.get("/disputes", headers=officer)
        assert [(d["dispute_id"], d["state"], d["originator"]) for d in listed.json()] == [
            (ID, "reported", DALANG)
        ]
        got = (await pair[side].client.get(f"/disputes/{ID}", headers=officer)).json()
        assert got["party_jurisdictions"] == [QIANFENG]
        assert [e["type"] for e in got["timeline"]] == ["dispute.reported"]


async def test_owner_regrades_escalates_resolves_and_closes_and_the_partner_sees_each_step(pair):
    await _reported(pair)
    mediator = await pair[DALANG].token(Role.MEDIATOR)
    steps = [
        ("regrade", {"risk": "medium", "reason": "the parties calmed down"}),
        ("escalate", {"reason": "village cadres needed", "departments": ["village committee"]}),
        ("resolve", {"outcome": "settled_by_parties", "compensation_fen": 98_000}),
        ("close", {"closure": "resolved"}),
    ]
    for verb, body in steps:
        response = await pair[DALANG].client.post(
            f"/disputes/{ID}/{verb}", json=body, headers=mediator
        )
        assert response.status_code == 200, response.text
        assert response.json()["recipients"] == [QIANFENG]
    await pair.settle()

    officer = await pair[QIANFENG].token(Role.OFFICER)
    got = (await pair[QIANFENG].client.get(f"/disputes/{ID}", headers=officer)).json()
    assert (got["state"], got["risk"], got["level"]) == ("closed", "medium", 2)
    assert (got["outcome"], got["compensation_fen"], got["closure"]) == (
        "settled_by_parties",
        98_000,
        "resolved",
    )


async def test_a_step_the_dispute_does_not_allow_is_a_409_problem_naming_its_reason(pair):
    await _reported(pair)
    mediator = await pair[DALANG].token(Role.MEDIATOR)

    unresolved = await pair[DALANG].client.post(
        f"/disputes/{ID}/close", json={"closure": "resolved"}, headers=mediator
    )
    not_owner = await pair[QIANFENG].client.post(
        f"/disputes/{ID}/regrade",
        json={"risk": "low", "reason": "x"},
        headers=await pair[QIANFENG].token(Role.MEDIATOR),
    )
    twice = await pair[DALANG].client.post("/disputes", json=dispute_report(), headers=mediator)

    for response, reason in (
        (unresolved, "closure_mismatch"),
        (not_owner, "not_case_owner"),
        (twice, "duplicate_dispute"),
    ):
        assert response.status_code == 409, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == f"/problems/{reason}"


async def test_unknown_dispute_is_404(pair):
    officer = await pair[DALANG].token(Role.OFFICER)
    got = await pair[DALANG].client.get("/disputes/DL-none", headers=officer)
    regrade = await pair[DALANG].client.post(
        "/disputes/DL-none/regrade",
        json={"risk": "low", "reason": "x"},
        headers=await pair[DALANG].token(Role.MEDIATOR),
    )
    assert (got.status_code, regrade.status_code) == (404, 404)
    assert regrade.json()["type"] == "/problems/unknown_dispute"


async def test_only_mediators_report_and_take_steps(pair):
    for role in (Role.OFFICER, Role.COMMAND_CENTRE, Role.AUDITOR, Role.ADMIN):
        headers = await pair[DALANG].token(role)
        response = await pair[DALANG].client.post(
            "/disputes", json=dispute_report(), headers=headers
        )
        assert response.status_code == 403, role
    clerk = await pair[DALANG].token(Role.WINDOW_CLERK)
    assert (await pair[DALANG].client.get("/disputes", headers=clerk)).status_code == 403


async def test_parties_in_full_for_mediators_officers_and_admins_masked_for_others(pair):
    await _reported(pair)
    for side in (DALANG, QIANFENG):
        for role, shown in (
            (Role.MEDIATOR, "full"),
            (Role.OFFICER, "full"),
            (Role.ADMIN, "full"),
            (Role.COMMAND_CENTRE, "masked"),
            (Role.AUDITOR, "masked"),
        ):
            headers = await pair[side].token(role)
            response = await pair[side].client.get(f"/disputes/{ID}", headers=headers)
            got = response.json()
            assert got["disclosure"] == shown, (side, role)
            huang = got["parties"][0]
            if shown == "full":
                assert (huang["id_number"], huang["phone"]) == (
                    LAO_HUANG.id_number,
                    LAO_HUANG.phone,
                )
            else:
                assert (huang["id_number"], huang["phone"]) == (MASKED_ID, "138****0001")
                assert huang["address"] == "广兴镇****"
                assert str(LAO_HUANG.id_number) not in response.text


async def test_every_read_of_the_parties_is_in_the_access_log(pair):
    await _reported(pair)
    node = pair[QIANFENG]
    officer = await node.token(Role.OFFICER, "officer.li")
    centre = await node.token(Role.COMMAND_CENTRE, "centre.zhao")
    await node.client.get(f"/disputes/{ID}", headers=officer)
    await node.client.get(f"/disputes/{ID}", headers=centre)
    await node.client.get("/disputes", headers=officer)  # summaries: nothing personal

    auditor = await node.token(Role.AUDITOR, "auditor.sun")
    log = (await node.client.get("/audit/access-log", headers=auditor)).json()

    assert [(e["user_name"], e["disclosure"]) for e in log] == [
        ("centre.zhao", "masked"),
        ("officer.li", "full"),
    ]
    for entry in log:
        assert (entry["flow"], entry["case_id"]) == ("disputes", ID)
        assert entry["action"] == "GET /disputes/{dispute_id}"
        assert entry["fields"] == [
            "parties[0].id_number",
            "parties[0].phone",
            "parties[0].address",
            "parties[1].id_number",
        ]
