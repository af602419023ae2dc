"""The semiannual report over HTTP between Dalang and Qianfeng (in-process nodes, on SQLite and
PostgreSQL): proposed, reconciled and cosigned by both command centres; exported as a file in
each format; signing out of turn is a 409 problem."""

import csv
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.users.model import Role
from tests.support.api_cases import AGREEMENT, DALANG, QIANFENG, ApiPair, api_pair, dispute_report
from tests.support.databases import BACKENDS

R = "RPT-2026-H1-test"


@pytest.fixture(params=BACKENDS)
async def pair(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ApiPair]:
    async with api_pair(request.param, tmp_path) as pair:
        mediator = await pair[DALANG].token(Role.MEDIATOR)
        for n in (1, 2):
            body = dispute_report(dispute_id=f"DL-{n}", occurred_on="2026-05-01")
            response = await pair[DALANG].client.post("/disputes", json=body, headers=mediator)
            assert response.status_code == 201, response.text
        await pair.settle()
        yield pair


async def _post(pair: ApiPair, side: str, path: str, body: dict[str, Any]) -> Any:
    headers = await pair[side].token(Role.COMMAND_CENTRE)
    return await pair[side].client.post(path, json=body, headers=headers)


async def _proposed(pair: ApiPair) -> str:
    proposal = {"agreement_id": AGREEMENT, "period": "2026-H1", "report_id": R}
    response = await _post(pair, DALANG, "/reports", proposal)
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"/reports/{R}"
    await pair.settle()
    digest: str = response.json()["figures_digest"]
    return digest


async def test_report_proposed_reconciled_and_cosigned_is_final_on_both_sides(pair):
    digest = await _proposed(pair)

    differences = await _post(pair, QIANFENG, f"/reports/{R}/reconcile", {})
    assert (differences.status_code, differences.json()) == (200, [])
    partner = await _post(pair, QIANFENG, f"/reports/{R}/cosign", {})
    assert partner.status_code == 200, partner.text
    await pair.settle()
    proposer = await _post(pair, DALANG, f"/reports/{R}/cosign", {})
    assert proposer.status_code == 200, proposer.text
    await pair.settle()

    for side in (DALANG, QIANFENG):
        auditor = await pair[side].token(Role.AUDITOR)
        got = (await pair[side].client.get(f"/reports/{R}", headers=auditor)).json()
        assert (got["state"], got["final"], got["figures_digest"]) == ("final", True, digest)
        assert [s["signed_by"] for s in got["signatures"]] == [QIANFENG, DALANG]
        assert got["figures"][DALANG]["disputes"]["reported"] == 2


async def test_the_proposer_signing_before_the_partner_is_a_409_problem(pair):
    await _proposed(pair)
    response = await _post(pair, DALANG, f"/reports/{R}/cosign", {})
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/report_out_of_turn"


async def test_unknown_report_is_404_and_only_the_command_centre_proposes(pair):
    auditor = await pair[DALANG].token(Role.AUDITOR)
    assert (await pair[DALANG].client.get("/reports/RPT-none", headers=auditor)).status_code == 404
    missing = await _post(pair, QIANFENG, "/reports/RPT-none/cosign", {})
    assert missing.json()["type"] == "/problems/unknown_report"
    proposal = {"agreement_id": AGREEMENT, "period": "2026-H1"}
    for role in (Role.MEDIATOR, Role.AUDITOR, Role.ADMIN):
        headers = await pair[DALANG].token(role)
        response = await pair[DALANG].client.post("/reports", json=proposal, headers=headers)
        assert response.status_code == 403, role
    headers = await pair[DALANG].token(Role.AUDITOR)
    export = await pair[DALANG].client.get("/reports/export?period=2026-H1", headers=headers)
    assert export.status_code == 403


async def _export(pair: ApiPair, fmt: str) -> Any:
    headers = await pair[DALANG].token(Role.COMMAND_CENTRE)
    params = {"period": "2026-H1", "format": fmt}
    response = await pair[DALANG].client.get("/reports/export", params=params, headers=headers)
    assert response.status_code == 200, response.text
    name = f"fengqiao-{DALANG}-2026-H1.{fmt}"
    assert response.headers["content-disposition"] == f'attachment; filename="{name}"'
    return response


async def test_export_as_json_and_csv_carries_this_sides_figures_and_their_digest(pair):
    as_json = await _export(pair, "json")
    assert as_json.headers["content-type"] == "application/json"
    document = json.loads(as_json.content)
    assert (document["period"], document["counted_by"], document["status"]) == (
        "2026-H1",
        DALANG,
        "draft",
    )
    assert document["partners"] == [QIANFENG]
    assert document["figures"]["disputes"]["reported"] == 2

    as_csv = await _export(pair, "csv")
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    rows = dict(csv.reader(io.StringIO(as_csv.text)))
    assert rows["figures_digest"] == document["figures_digest"]
    assert rows["disputes.reported"] == "2"


async def test_export_as_xlsx_and_pdf_is_the_binary_file(pair):
    xlsx = await _export(pair, "xlsx")
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert xlsx.content[:2] == b"PK"  # a zip package
    pdf = await _export(pair, "pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content[:5] == b"%PDF-"


async def test_export_of_a_period_that_is_no_half_year_is_422(pair):
    headers = await pair[DALANG].token(Role.COMMAND_CENTRE)
    response = await pair[DALANG].client.get(
        "/reports/export", params={"period": "2026-Q1"}, headers=headers
    )
    assert response.status_code == 422


async def test_reports_held_are_listed_with_period_partner_state_and_signers(pair):
    await _proposed(pair)
    await _post(pair, QIANFENG, f"/reports/{R}/reconcile", {})
    assert (await _post(pair, QIANFENG, f"/reports/{R}/cosign", {})).status_code == 200
    await pair.settle()
    for side in (DALANG, QIANFENG):
        headers = await pair[side].token(Role.AUDITOR)
        listed = (await pair[side].client.get("/reports", headers=headers)).json()
        assert [
            (r["report_id"], r["period"], r["proposed_by"], r["partner"], r["state"])
            for r in listed
        ] == [(R, "2026-H1", DALANG, QIANFENG, "partner_signed")]
        assert (listed[0]["signed_by"], listed[0]["final"]) == ([QIANFENG], False)
        other = await pair[side].client.get("/reports?period=2026-H2", headers=headers)
        assert other.json() == []
    mediator = await pair[DALANG].token(Role.MEDIATOR)
    assert (await pair[DALANG].client.get("/reports", headers=mediator)).status_code == 403
