"""Disputes over HTTP between Dalang and Qianfeng (in-process nodes, on SQLite and PostgreSQL):
reported at Dalang, seen at Qianfeng, taken through its life by Dalang's mediator; refusals as
problems; parties' personal data masked by role and every read of it logged."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.bus.envelope import Envelope
from services.bus.outbox import pending
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
        response = await pair[DALANG].client.post(
            "/disputes/batch", json=_batch(2), headers=headers
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


async def test_a_dispute_of_fifty_parties_is_read_and_every_personal_field_logged(pair):
    """A wage dispute of a whole workshop: the read's field names run past 500 characters."""
    workers = [LAO_HUANG.model_dump() | {"name": f"worker {i}"} for i in range(50)]
    mediator = await pair[DALANG].token(Role.MEDIATOR)
    reported = await pair[DALANG].client.post(
        "/disputes", json=dispute_report(parties=workers), headers=mediator
    )
    assert reported.status_code == 201, reported.text

    response = await pair[DALANG].client.get(f"/disputes/{ID}", headers=mediator)

    assert response.status_code == 200, response.text
    assert len(response.json()["parties"]) == 50
    auditor = await pair[DALANG].token(Role.AUDITOR)
    [entry] = (await pair[DALANG].client.get("/audit/access-log", headers=auditor)).json()
    assert len(entry["fields"]) == 150
    assert entry["fields"][-1] == "parties[49].address"


def _batch(*numbers: int) -> dict[str, list[dict[str, Any]]]:
    return {"reports": [dispute_report(dispute_id=f"DL-2022-{n:04d}") for n in numbers]}


async def _queued(pair: ApiPair) -> list[Envelope]:
    """Dalang's envelopes not yet handed over."""
    async with pair.net.db(DALANG).transaction() as conn:
        return [Envelope.from_wire(row.envelope) for row in await pending(conn, 1_000)]


async def test_a_batch_reported_in_one_request_is_signed_together_and_held_by_both_bureaus(pair):
    mediator = await pair[DALANG].token(Role.MEDIATOR)
    response = await pair[DALANG].client.post(
        "/disputes/batch", json=_batch(1, 2, 3), headers=mediator
    )
    assert response.status_code == 201, response.text
    ids = ["DL-2022-0001", "DL-2022-0002", "DL-2022-0003"]
    assert [(d["dispute_id"], d["recipients"]) for d in response.json()["disputes"]] == [
        (i, [QIANFENG]) for i in ids
    ]
    queued = await _queued(pair)
    assert [(e.subject, e.seq, e.batch_size) for e in queued] == [
        (i, seq, 3) for seq, i in enumerate(ids, start=1)
    ]
    assert len({e.signature for e in queued}) == 1
    assert all(str(LAO_HUANG.id_number) not in e.wire_bytes().decode() for e in queued)

    await pair.settle()
    officer = await pair[QIANFENG].token(Role.OFFICER)
    listed = await pair[QIANFENG].client.get("/disputes", headers=officer)
    assert sorted(d["dispute_id"] for d in listed.json()) == ids
    got = (await pair[QIANFENG].client.get("/disputes/DL-2022-0002", headers=officer)).json()
    assert got["parties"][0]["id_number"] == LAO_HUANG.id_number


async def test_a_batch_with_one_refused_report_is_refused_whole_naming_its_place(pair):
    await _reported(pair)
    mediator = await pair[DALANG].token(Role.MEDIATOR)
    only_dalang = dispute_report(
        dispute_id="DL-2022-0009", parties=[{"name": "老李", "home_jurisdiction": DALANG}]
    )
    refused = [
        (_batch(2, 1), "duplicate_dispute", "report 1: dispute DL-2022-0001 is already held"),
        (_batch(2, 3, 2), "duplicate_dispute", "report 2: dispute DL-2022-0002 is reported twice"),
        (
            {"reports": [dispute_report(dispute_id="DL-2022-0002"), only_dalang]},
            "no_partner_concerned",
            "report 1: no party of dispute DL-2022-0009 belongs to a partner",
        ),
    ]
    for body, reason, detail in refused:
        response = await pair[DALANG].client.post("/disputes/batch", json=body, headers=mediator)
        assert response.status_code == 409, response.text
        assert response.json()["type"] == f"/problems/{reason}"
        assert response.json()["detail"].startswith(detail), response.json()

    listed = await pair[DALANG].client.get("/disputes", headers=mediator)
    assert [d["dispute_id"] for d in listed.json()] == [ID]
    assert await _queued(pair) == []


async def test_an_empty_batch_or_one_of_more_than_500_is_a_422(pair):
    mediator = await pair[DALANG].token(Role.MEDIATOR)
    for body in ({"reports": []}, _batch(*range(1, 502))):
        response = await pair[DALANG].client.post("/disputes/batch", json=body, headers=mediator)
        assert response.status_code == 422, response.text
    assert await _queued(pair) == []
