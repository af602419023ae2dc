"""Linked-mediation steps taken on the console's mediation page (Dalang and Qianfeng in process,
SQLite): the side asked accepts or declines, the mediator assigns tasks and proposes the outcome,
each side reports its findings; a form without the session's CSRF token and a step the flow
refuses (409) or a bad value (422) are shown as errors and change nothing on either side."""

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from contracts.events.mediation import outcome_digest
from services.users.model import Role
from tests.support.api_cases import DALANG, QIANFENG, ApiPair, api_pair, dispute_report
from tests.support.console import csrf, sign_in

DISPUTE, M = "DL-2022-0007", "LM-2022-0007"
PAGE = f"/console/mediations/{M}"
ASSISTANT = {"name": "Police assistant Tang", "home_jurisdiction": QIANFENG}


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[ApiPair]:
    async with api_pair("sqlite", tmp_path) as pair:
        yield pair


async def _api(pair: ApiPair, side: str, role: Role, path: str, body: dict[str, Any]) -> None:
    response = await pair[side].client.post(path, json=body, headers=await pair[side].token(role))
    assert response.status_code in (200, 201), response.text


async def _requested(pair: ApiPair) -> None:
    """The seed dispute reported at Dalang and a linked mediation asked of Qianfeng."""
    await _api(pair, DALANG, Role.MEDIATOR, "/disputes", dispute_report(dispute_id=DISPUTE))
    await pair.settle()
    request = {
        "mediation_id": M,
        "dispute_id": DISPUTE,
        "mediator": ASSISTANT,
        "summary": "Fight in Dalang rooted in a land quarrel in Guangxing.",
        "requested_part": "Establish who owns the disputed land.",
    }
    await _api(pair, DALANG, Role.MEDIATOR, "/mediations", request)
    await pair.settle()


async def _accepted(pair: ApiPair) -> None:
    await _requested(pair)
    officer = {"name": "Officer Li", "home_jurisdiction": QIANFENG}
    await _api(pair, QIANFENG, Role.OFFICER, f"/mediations/{M}/accept", {"officer": officer})
    await pair.settle()


async def _case(pair: ApiPair, side: str) -> Any:
    headers = await pair[side].token(Role.COMMAND_CENTRE)
    return (await pair[side].client.get(f"/mediations/{M}", headers=headers)).json()


async def _post(pair: ApiPair, side: str, path: str, form: dict[str, str]) -> Any:
    token = await csrf(pair[side], PAGE)
    return await pair[side].client.post(f"{PAGE}/{path}", data={"csrf": token} | form)


async def test_the_side_asked_accepts_on_the_page_and_both_sides_see_it(pair):
    await _requested(pair)
    await sign_in(pair[QIANFENG], Role.OFFICER, "officer.li")
    page = await pair[QIANFENG].client.get(PAGE)
    assert 'id="accept"' in page.text and 'id="decline"' in page.text

    posted = await _post(pair, QIANFENG, "accept", {"officer_name": "Officer Li, Guangxing"})
    assert posted.status_code == 303 and posted.headers["location"] == PAGE
    await pair.settle()
    for side in (DALANG, QIANFENG):
        case = await _case(pair, side)
        assert case["state"] == "accepted"
        assert case["officer"] == {"name": "Officer Li, Guangxing", "home_jurisdiction": QIANFENG}
    assert 'id="accept"' not in (await pair[QIANFENG].client.get(PAGE)).text


async def test_declining_names_the_reason_and_a_form_without_the_csrf_token_changes_nothing(pair):
    await _requested(pair)
    await sign_in(pair[QIANFENG], Role.MEDIATOR, "mediator.he")
    forged = await pair[QIANFENG].client.post(
        f"{PAGE}/decline", data={"csrf": "not-the-token", "reason": "no"}
    )
    assert forged.status_code == 403 and "CSRF" in forged.text
    assert (await _case(pair, QIANFENG))["state"] == "requested"

    reason = "The land is in Guixing, not ours to establish."
    posted = await _post(pair, QIANFENG, "decline", {"reason": reason})
    assert posted.status_code == 303, posted.text
    await pair.settle()
    assert [(await _case(pair, side))["state"] for side in (DALANG, QIANFENG)] == ["declined"] * 2
    await sign_in(pair[DALANG], Role.MEDIATOR, "mediator.tang")
    assert reason in (await pair[DALANG].client.get(PAGE)).text  # the requester's timeline


async def test_accepting_at_the_side_that_asked_is_a_409_page_and_nothing_is_sent(pair):
    await _requested(pair)
    await sign_in(pair[DALANG], Role.MEDIATOR, "mediator.tang")
    assert 'id="accept"' not in (await pair[DALANG].client.get(PAGE)).text
    posted = await _post(pair, DALANG, "accept", {"officer_name": "Officer Chen"})
    assert posted.status_code == 409
    assert 'role="alert"' in posted.text and f"only {QIANFENG}" in posted.text
    assert await pair.net.deliver_all() == []  # nothing was sent
    assert (await _case(pair, DALANG))["state"] == "requested"


async def test_mediator_assigns_tasks_each_side_reports_its_findings_and_an_outcome_is_proposed(
    pair,
):
    await _accepted(pair)
    await sign_in(pair[DALANG], Role.MEDIATOR, "mediator.tang")
    for side, what in ((DALANG, "the fight at the workshop"), (QIANFENG, "who owns the land")):
        form = {"assignee": side, "description": f"Investigate {what}."}
        assert (await _post(pair, DALANG, "tasks", form)).status_code == 303
    await pair.settle()
    await sign_in(pair[QIANFENG], Role.OFFICER, "officer.li")
    page = (await pair[QIANFENG].client.get(PAGE)).text
    assert f'data-task="{M}.T2"' in page and f'data-task="{M}.T1"' not in page
    assert 'id="propose"' not in page  # an officer answers; the mediator proposes

    found = {"findings": "The land is Lao Huang's by the 2015 contract."}
    assert (await _post(pair, QIANFENG, f"tasks/{M}.T2/findings", found)).status_code == 303
    again = await _post(pair, QIANFENG, f"tasks/{M}.T2/findings", found)
    assert again.status_code == 409 and "already in" in again.text
    mine = {"findings": "Lao Cheng struck first; two witnesses."}
    assert (await _post(pair, DALANG, f"tasks/{M}.T1/findings", mine)).status_code == 303
    await pair.settle()

    proposal = {
        "mediator_name": ASSISTANT["name"],
        "mediator_home": QIANFENG,
        "terms": "老黄 gets the land back\n\n老程 pays the medical costs\n",
        "payer_name": "老程",
        "payee_name": "老黄",
        "amount_yuan": "980",
        "purpose": "medical costs",
    }
    assert (await _post(pair, DALANG, "outcome", proposal)).status_code == 303
    await pair.settle()
    outcome = {
        "terms": ["老黄 gets the land back", "老程 pays the medical costs"],
        "compensation": [
            {
                "payer_name": "老程",
                "payee_name": "老黄",
                "amount_fen": 98_000,
                "purpose": "medical costs",
            }
        ],
    }
    for side in (DALANG, QIANFENG):
        case = await _case(pair, side)
        assert (case["state"], case["terms_digest"]) == ("proposed", outcome_digest(outcome))
        assert [t["findings"] is not None for t in case["tasks"]] == [True, True]


def _paying(amount_yuan: str) -> dict[str, str]:
    """The outcome form: one term, and a payment of `amount_yuan` as typed."""
    return {
        "mediator_name": ASSISTANT["name"],
        "mediator_home": QIANFENG,
        "terms": "老程 pays the medical costs",
        "payer_name": "老程",
        "payee_name": "老黄",
        "amount_yuan": amount_yuan,
        "purpose": "medical costs",
    }


async def test_an_amount_that_is_not_whole_fen_is_a_422_page_and_proposes_nothing(pair):
    await _accepted(pair)
    await sign_in(pair[DALANG], Role.MEDIATOR, "mediator.tang")
    proposal = _paying("980.005")
    posted = await _post(pair, DALANG, "outcome", proposal)
    assert posted.status_code == 422 and "amount" in posted.text
    assert await pair.net.deliver_all() == []  # nothing was sent
    assert (await _case(pair, DALANG))["state"] == "accepted"


@pytest.mark.parametrize("amount", ["1e999999", "1e999990"])
async def test_an_amount_beyond_any_payment_is_a_422_page_at_once_and_proposes_nothing(
    pair, amount
):
    """Beyond Decimal's range was a 500; just inside it, a million-digit integer held the
    node's event loop for half a minute before the envelope refused it."""
    await _accepted(pair)
    await sign_in(pair[DALANG], Role.MEDIATOR, "mediator.tang")
    proposal = _paying(amount)
    started = time.monotonic()
    posted = await _post(pair, DALANG, "outcome", proposal)
    assert time.monotonic() - started < 5
    assert posted.status_code == 422 and "amount" in posted.text
    assert await pair.net.deliver_all() == []  # nothing was sent
    assert (await _case(pair, DALANG))["state"] == "accepted"
