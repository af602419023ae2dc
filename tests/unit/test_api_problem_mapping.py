"""Domain errors become problem documents by their type, the most specific type winning."""

import httpx
import pytest
from fastapi import FastAPI

from contracts.canonical import NotCanonicalisable
from contracts.errors import NotPermittedByAgreement
from gateway.problems import install_problem_handlers
from services.bus.handlers import NotApplicable
from services.handling import OnwardDisseminationRefused
from services.registry.model import IllegalStep, State, UnknownRequest, WrongParty
from services.reports.period import UnknownPeriod

ERRORS: dict[str, Exception] = {
    "onward": OnwardDisseminationRefused("DL-1 was received under H2: not to shenzhen-longgang"),
    "agreement": NotPermittedByAgreement("no flow of registry.accepted to shenzhen-longgang"),
    "illegal": IllegalStep("R-1", State.COMPLETED, "registry.rejected"),
    "party": WrongParty("registry.accepted must come from guangan-qianfeng"),
    "unknown": UnknownRequest("R-404", "registry.accepted"),
    "refused": NotApplicable("a step some other flow refuses"),
    "canonical": NotCanonicalisable("2**60 exceeds safe integer domain for JSON floats"),
    "period": UnknownPeriod("'0000-H1' is outside the years 0001 to 9998"),
}


def _raising(error: Exception):
    async def fail() -> None:
        raise error

    return fail


@pytest.fixture
async def client():
    app = FastAPI()
    install_problem_handlers(app)
    for name, error in ERRORS.items():
        app.add_api_route(f"/{name}", _raising(error))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.mark.parametrize(
    ("name", "status", "type_"),
    [
        ("onward", 403, "/problems/onward_dissemination_refused"),
        ("agreement", 403, "/problems/not_permitted"),
        ("illegal", 409, "/problems/registry_illegal_step"),
        ("party", 409, "/problems/registry_wrong_party"),
        ("unknown", 404, "/problems/registry_unknown_request"),
        ("refused", 409, "/problems/not_applicable"),
        ("canonical", 422, "/problems/not_canonicalisable"),
        ("period", 422, "/problems/unknown_period"),
    ],
)
async def test_domain_error_maps_to_its_status_as_a_problem(client, name, status, type_):
    response = await client.get(f"/{name}")

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert (body["status"], body["type"], body["instance"]) == (status, type_, f"/{name}")
    assert body["detail"] == getattr(ERRORS[name], "detail", str(ERRORS[name]))


async def test_onward_dissemination_detail_says_why(client):
    body = (await client.get("/onward")).json()

    assert body["title"] == "Onward dissemination refused"
    assert "H2" in body["detail"] and "shenzhen-longgang" in body["detail"]


async def test_unexpected_error_is_a_500_problem_that_leaks_nothing():
    app = FastAPI()
    install_problem_handlers(app)

    async def crash() -> None:
        raise RuntimeError("secret 511602199003071232")

    app.add_api_route("/crash", crash)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/crash")

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "511602" not in response.text
