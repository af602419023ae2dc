"""Every error the API gives is an RFC 9457 problem document; domain errors map by type."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.users.model import Role
from tests.support.api import (
    DALANG,
    ID_NUMBER,
    QIANFENG,
    ApiNode,
    Clock,
    api_without_nats,
    dalang_without_nats,
    drop_store,
    filing,
    metric,
    registry_agreement,
    settings_for,
    store_url,
)
from tests.support.console import sign_in

PROBLEM = "application/problem+json"


@pytest.fixture
async def dalang(tmp_path: Path) -> AsyncIterator[ApiNode]:
    async with dalang_without_nats("sqlite", tmp_path) as node:
        yield node


def assert_problem(response, status: int, type_: str = "about:blank") -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert (body["status"], body["type"]) == (status, type_)
    assert body["title"] and body["detail"] and body["instance"] == response.request.url.path
    return body


async def test_unknown_route_is_a_404_problem(dalang):
    assert_problem(await dalang.client.get("/no/such/route"), 404)


async def test_wrong_method_is_a_405_problem(dalang):
    assert_problem(await dalang.client.delete("/healthz"), 405)


async def test_invalid_body_is_a_422_problem_listing_where_without_echoing_the_input(dalang):
    clerk = await dalang.token(Role.WINDOW_CLERK)
    body = filing()
    body["applicant"] = body["applicant"] | {"id_number": ID_NUMBER + "99"}

    response = await dalang.client.post("/registry/requests", json=body, headers=clerk)

    problem = assert_problem(response, 422, "/problems/invalid_request")
    assert ["body", "applicant", "id_number"] in [e["loc"] for e in problem["errors"]]
    assert ID_NUMBER not in response.text


async def test_a_nul_character_in_any_text_is_a_422_problem_and_nothing_is_filed(dalang):
    """PostgreSQL cannot store a NUL: refused as input on every backend, never a 500 there nor
    an event a partner's store refuses."""
    clerk = await dalang.token(Role.WINDOW_CLERK)
    mediator = await dalang.token(Role.MEDIATOR)
    auditor = await dalang.token(Role.AUDITOR)
    body = filing()
    body["applicant"] = body["applicant"] | {"address": "广兴镇\x00"}

    filed = await dalang.client.post("/registry/requests", json=body, headers=clerk)
    reads = [
        await dalang.client.get(path, params=params, headers=headers)
        for path, params, headers in (
            ("/registry/requests", {"responsible_clerk": "Li\x00"}, clerk),
            ("/mediations", {"dispute_id": "DL\x00"}, mediator),
            ("/disputes", {"concerning": "guangan\x00"}, mediator),
            ("/audit/access-log", {"case_id": "DL\x00"}, auditor),
        )
    ]

    problem = assert_problem(filed, 422, "/problems/invalid_request")
    assert "applicant.address holds a NUL character" in problem["errors"][0]["msg"]
    for read in reads:
        assert_problem(read, 422, "/problems/invalid_request")
    listed = await dalang.client.get("/registry/requests", headers=clerk)
    assert listed.json() == []


async def test_an_identity_number_with_a_wrong_check_digit_is_a_422_and_nothing_is_filed(dalang):
    """A digit mistyped at the window is caught there, not at the home registry."""
    clerk = await dalang.token(Role.WINDOW_CLERK)
    mistyped = ID_NUMBER[:8] + str((int(ID_NUMBER[8]) + 1) % 10) + ID_NUMBER[9:]
    body = filing()
    body["applicant"] = body["applicant"] | {"id_number": mistyped}

    filed = await dalang.client.post("/registry/requests", json=body, headers=clerk)

    problem = assert_problem(filed, 422, "/problems/invalid_request")
    assert problem["errors"][0]["msg"] == (
        "Value error, applicant.id_number: "
        "its last character is not the check digit of the 17 before it"
    )
    assert mistyped not in filed.text
    assert (await dalang.client.get("/registry/requests", headers=clerk)).json() == []


async def test_illegal_step_is_a_409_problem_naming_the_state(dalang):
    clerk = await dalang.token(Role.WINDOW_CLERK)
    filed = await dalang.client.post("/registry/requests", json=filing(), headers=clerk)
    request_id = filed.json()["request_id"]

    response = await dalang.client.post(
        f"/registry/requests/{request_id}/materials-request",
        json={"materials": ["photo_receipt"], "reason": "blurred"},
        headers=clerk,
    )

    problem = assert_problem(response, 409, "/problems/registry_illegal_step")
    assert problem["detail"] == (
        f"request {request_id} is requested: registry.materials_requested is not allowed"
    )


async def test_a_filing_sent_again_after_its_answer_was_lost_is_refused_and_sends_nothing(dalang):
    """docs/api.md, "When an answer is lost": the same request id again says it is on file."""
    clerk = await dalang.token(Role.WINDOW_CLERK)
    body = filing(request_id="DL-R-2026-0001")
    assert (await dalang.client.post("/registry/requests", json=body, headers=clerk)).is_success

    again = await dalang.client.post("/registry/requests", json=body, headers=clerk)

    problem = assert_problem(again, 409, "/problems/registry_illegal_step")
    assert problem["detail"] == (
        "request DL-R-2026-0001 is requested: registry.proxy_requested is not allowed"
    )
    metrics = (await dalang.client.get("/metrics")).text
    assert metric(metrics, "fengqiao_outbox_pending", partner=QIANFENG.id) == 1


async def test_home_registry_step_taken_at_the_window_is_a_409_problem(dalang):
    clerk = await dalang.token(Role.WINDOW_CLERK)
    filed = await dalang.client.post("/registry/requests", json=filing(), headers=clerk)
    request_id = filed.json()["request_id"]
    registrar = {"name": "Registrar Chen", "home_jurisdiction": QIANFENG.id}

    response = await dalang.client.post(
        f"/registry/requests/{request_id}/accept", json={"handling_clerk": registrar}, headers=clerk
    )

    problem = assert_problem(response, 409, "/problems/registry_wrong_party")
    assert QIANFENG.id in problem["detail"]


async def test_request_for_the_windows_own_jurisdiction_is_a_409_problem(dalang):
    clerk = await dalang.token(Role.WINDOW_CLERK)
    body = filing()
    body["applicant"] = body["applicant"] | {"home_jurisdiction": DALANG.id}

    response = await dalang.client.post("/registry/requests", json=body, headers=clerk)

    assert_problem(response, 409, "/problems/registry_not_home")


async def test_request_to_a_bureau_outside_every_agreement_is_a_403_problem(dalang):
    clerk = await dalang.token(Role.WINDOW_CLERK)
    body = filing()
    body["applicant"] = body["applicant"] | {"home_jurisdiction": "shenzhen-longgang"}

    response = await dalang.client.post("/registry/requests", json=body, headers=clerk)

    assert_problem(response, 403, "/problems/not_permitted")


async def test_unknown_case_is_a_404_problem_for_reads_and_steps(dalang):
    clerk = await dalang.token(Role.WINDOW_CLERK)
    missing = "dongguan-dalang:20260520-00000000"

    read = await dalang.client.get(f"/registry/requests/{missing}", headers=clerk)
    step = await dalang.client.post(
        f"/registry/requests/{missing}/reject", json={"reason": "no such person"}, headers=clerk
    )

    assert_problem(read, 404, "/problems/unknown_case")
    assert_problem(step, 404, "/problems/registry_unknown_request")


async def test_unknown_quarantine_entry_is_a_404_problem(dalang):
    admin = await dalang.token(Role.ADMIN)

    response = await dalang.client.post("/quarantine/4242/redrive", headers=admin)

    assert_problem(response, 404, "/problems/unknown_quarantine_entry")


async def test_openapi_describes_routes_roles_security_and_problems(dalang):
    document = (await dalang.client.get("/openapi.json")).json()

    assert document["info"]["title"] == f"Fengqiao node {DALANG.id}"
    assert {"/registry/requests", "/registry/requests/{request_id}/accept", "/readyz"} <= set(
        document["paths"]
    )
    assert document["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    accept = document["paths"]["/registry/requests/{request_id}/accept"]["post"]
    assert accept["security"] == [{"token": []}]
    assert {"401", "403", "404", "409", "422"} <= set(accept["responses"])
    problem = accept["responses"]["409"]["content"]["application/problem+json"]["schema"]
    assert problem == {"$ref": "#/components/schemas/Problem"}
    schema = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "instance"} <= set(schema["properties"])


async def test_a_store_that_stops_answering_is_a_503_to_try_again(tmp_path: Path, caplog) -> None:
    """Its database gone (dropped, its connections cut): every request, the token check
    included, answers 503 with Retry-After; the log names the store, the client is not told."""
    agreement = registry_agreement([DALANG, QIANFENG], tmp_path / "agreement.yaml")
    url = await store_url("postgresql", tmp_path)
    async with api_without_nats(settings_for(DALANG, tmp_path, agreement, url), Clock()) as node:
        clerk = await node.token(Role.WINDOW_CLERK, "clerk.li")
        await drop_store(url)

        response = await node.client.get("/registry/requests", headers=clerk)
        ready = await node.client.get("/readyz")

    body = assert_problem(response, 503, "/problems/store_unavailable")
    assert response.headers["retry-after"] == "5"
    assert body["detail"] == "the node's store is not answering; try again shortly"
    assert ready.status_code == 503 and "store: unreachable" in ready.json()["detail"]
    [logged] = [r for r in caplog.records if r.name == "gateway.problems"]
    assert "cannot open the store postgresql+asyncpg://" in logged.getMessage()
    assert not logged.exc_info


async def test_a_console_page_whose_store_stops_answering_is_a_503_page(tmp_path: Path) -> None:
    """A clerk signed in when the store goes: a page saying to try again, in their language,
    with the API's Retry-After, not the API's JSON."""
    agreement = registry_agreement([DALANG, QIANFENG], tmp_path / "agreement.yaml")
    url = await store_url("postgresql", tmp_path)
    async with api_without_nats(settings_for(DALANG, tmp_path, agreement, url), Clock()) as node:
        clerk = await node.token(Role.WINDOW_CLERK, "clerk.li")
        await sign_in(node, Role.WINDOW_CLERK, "clerk.li")
        await drop_store(url)

        page = await node.client.get("/console/registry?lang=en")
        api = await node.client.get("/registry/requests", headers=clerk)

    assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
    assert page.headers["retry-after"] == "5"
    assert "This node&#39;s store is not answering; try again in a few seconds." in page.text
    assert "postgresql" not in page.text
    assert_problem(api, 503, "/problems/store_unavailable")
