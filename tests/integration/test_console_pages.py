"""The console's pages over HTTP at Dalang's node (SQLite, PostgreSQL where the store matters; no
NATS): sign-in, CSRF, roles, masking and the access log as the API has them, bad forms refused
with nothing filed."""

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.console.session import SEEN_COOKIE, SESSION_COOKIE, seen_stamp
from services.users.model import Role
from tests.support.api import (
    ID_NUMBER,
    QIANFENG,
    ApiNode,
    Clock,
    dalang_without_nats,
    filing,
)
from tests.support.console import FORM_TOKEN, csrf, sign_in

MASKED_ID = "511602********1232"


@pytest.fixture
async def dalang(tmp_path: Path) -> AsyncIterator[ApiNode]:
    async with dalang_without_nats("sqlite", tmp_path) as node:
        yield node


@pytest.fixture
async def dalang_pg(tmp_path: Path) -> AsyncIterator[ApiNode]:
    async with dalang_without_nats("postgresql", tmp_path) as node:
        yield node


async def requests_on_file(node: ApiNode) -> int:
    listed = await node.client.get("/registry/requests", headers=await node.token(Role.ADMIN))
    return len(listed.json())


def form_of(body: dict[str, object], token: str) -> dict[str, str]:
    applicant = body["applicant"]
    assert isinstance(applicant, dict)
    return {
        "csrf": token,
        "service_code": "id_card_renewal",
        "applicant_name": applicant["name"],
        "home_jurisdiction": QIANFENG.id,
        "id_number": ID_NUMBER,
        "window_name": "巷头乡情警务站",
        "material_0": "id_card",
        "material_1": "household_register",
        "material_2": "photo_receipt",
    }


SCANS = {f"file_{i}": (f"scan{i}.png", b"scan", "image/png") for i in range(3)}


async def test_session_cookie_is_httponly_and_strict_and_a_bad_token_signs_nobody_in(dalang):
    signed = await sign_in(dalang, Role.WINDOW_CLERK, "clerk.li")
    assert signed.status_code == 303 and signed.headers["location"] == "/console/"
    cookie = signed.headers["set-cookie"].lower()
    assert "fq_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert (await dalang.client.get("/console/")).headers["location"] == "/console/registry"

    dalang.client.cookies.clear()
    page = await dalang.client.get("/console/login")
    token = FORM_TOKEN.search(page.text)
    assert token
    refused = await dalang.client.post(
        "/console/login", data={"csrf": token.group(1), "token": "forged"}
    )
    assert refused.status_code == 401 and "fq_session" not in refused.headers.get("set-cookie", "")
    assert (await dalang.client.get("/console/registry")).status_code == 303  # to the login


@pytest.mark.parametrize(
    "form_token",
    ["guess", ""],
    ids=["a guessed token", "an empty token, as another site's post sends"],
)
async def test_a_login_form_without_its_double_submit_token_signs_nobody_in(dalang, form_token):
    """Another site's page can post the login form but not read or send our login cookie: an
    empty token matched the missing cookie, signing the victim's browser in as the sender."""
    await dalang.token(Role.WINDOW_CLERK, "clerk.li")
    posted = await dalang.client.post(
        "/console/login", data={"csrf": form_token, "token": dalang.tokens["clerk.li"]}
    )
    assert posted.status_code == 403
    assert "fq_session" not in posted.headers.get("set-cookie", "")


async def test_a_refused_login_form_can_be_sent_again(dalang):
    """A login page left open after the login cookie went (signed in from another tab) is
    refused once; the page it answers carries a token its cookie matches."""
    await dalang.token(Role.WINDOW_CLERK, "clerk.li")
    stale = await dalang.client.post(
        "/console/login", data={"csrf": "stale", "token": dalang.tokens["clerk.li"]}
    )
    assert stale.status_code == 403
    token = FORM_TOKEN.search(stale.text)
    assert token
    again = await dalang.client.post(
        "/console/login", data={"csrf": token.group(1), "token": dalang.tokens["clerk.li"]}
    )
    assert again.status_code == 303 and again.headers["location"] == "/console/"


async def test_a_form_posted_without_the_sessions_csrf_token_files_nothing(dalang):
    await sign_in(dalang, Role.WINDOW_CLERK, "clerk.li")
    body = form_of(filing(), "not-the-token")
    posted = await dalang.client.post("/console/registry/new", data=body, files=SCANS)
    assert posted.status_code == 403 and "CSRF" in posted.text
    assert await requests_on_file(dalang) == 0

    body = form_of(filing(), await csrf(dalang, "/console/registry/new"))
    posted = await dalang.client.post("/console/registry/new", data=body, files=SCANS)
    assert posted.status_code == 303, posted.text
    assert await requests_on_file(dalang) == 1


def _wait(node: ApiNode, minutes: int) -> None:
    clock = node.api.node.clock
    assert isinstance(clock, Clock)
    clock.now += timedelta(minutes=minutes)


async def test_a_session_unused_past_the_idle_time_is_signed_out_and_its_form_files_nothing(
    dalang,
):
    """A window PC left signed in: each page opened keeps the session for 30 more minutes."""
    await sign_in(dalang, Role.WINDOW_CLERK, "clerk.li")
    for _ in range(2):  # 58 minutes signed in, never 30 without a page
        _wait(dalang, 29)
        page = await dalang.client.get("/console/registry/new")
        assert page.status_code == 200 and SEEN_COOKIE in page.headers["set-cookie"]
    body = form_of(filing(), await csrf(dalang, "/console/registry/new"))

    _wait(dalang, 31)
    posted = await dalang.client.post("/console/registry/new", data=body, files=SCANS)
    assert posted.status_code == 303 and posted.headers["location"] == "/console/login?idle"
    assert await requests_on_file(dalang) == 0
    login = await dalang.client.get(posted.headers["location"])
    assert "signed out after a while without use" in login.text or "已自动退出" in login.text

    assert (await sign_in(dalang, Role.WINDOW_CLERK, "clerk.li")).status_code == 303
    assert (await dalang.client.get("/console/registry")).status_code == 200


async def test_the_idle_sign_out_makes_the_browser_forget_the_token_and_sign_out_does_too(dalang):
    """The session cookie holds an API token: left in a browser, it still opens the API."""
    await sign_in(dalang, Role.WINDOW_CLERK, "clerk.li")
    token = await csrf(dalang, "/console/registry")
    _wait(dalang, 31)
    page = await dalang.client.get("/console/registry")
    assert page.headers["location"] == "/console/login?idle"
    assert dalang.client.cookies.get(SESSION_COOKIE) is None

    await sign_in(dalang, Role.WINDOW_CLERK, "clerk.li")
    _wait(dalang, 31)
    out = await dalang.client.post("/console/logout", data={"csrf": token})
    assert out.status_code == 303 and dalang.client.cookies.get(SESSION_COOKIE) is None


async def test_a_form_posted_late_and_the_page_it_leads_to_keep_the_session(dalang):
    await sign_in(dalang, Role.WINDOW_CLERK, "clerk.li")
    body = form_of(filing(), await csrf(dalang, "/console/registry/new"))
    _wait(dalang, 29)  # the clerk fills the form and scans the papers
    posted = await dalang.client.post("/console/registry/new", data=body, files=SCANS)
    assert posted.status_code == 303 and SEEN_COOKIE in posted.headers["set-cookie"]
    _wait(dalang, 2)
    assert (await dalang.client.get(posted.headers["location"])).status_code == 200


async def test_a_report_download_keeps_the_session(dalang):
    await sign_in(dalang, Role.COMMAND_CENTRE, "centre.zhao")
    _wait(dalang, 20)
    got = await dalang.client.get("/console/reports/export?period=2026-H1&format=csv")
    assert got.status_code == 200 and SEEN_COOKIE in got.headers["set-cookie"]


@pytest.mark.parametrize(
    ("stamp", "signed_in"),
    [
        (None, False),
        ("garbage", False),
        ("99999999999999.00", False),
        ("\u00b2.00", False),  # a digit to str.isdigit, not to int()
        ("another session's", False),
        ("this session's, 2 hours ahead", False),
        ("this session's, made by a node whose clock is 30 s ahead", True),
    ],
)
async def test_a_session_is_signed_out_without_its_own_stamp_of_the_last_page(
    dalang, stamp, signed_in
):
    await sign_in(dalang, Role.WINDOW_CLERK, "clerk.li")
    now, token = int(dalang.api.node.clock().timestamp()), dalang.tokens["clerk.li"]
    made = {
        "another session's": seen_stamp(token + "x", now),
        "this session's, 2 hours ahead": seen_stamp(token, now + 7200),
        "this session's, made by a node whose clock is 30 s ahead": seen_stamp(token, now + 30),
    }
    stamp = made.get(stamp, stamp)
    cookie = f"{SESSION_COOKIE}={token}" + (f"; {SEEN_COOKIE}={stamp}" if stamp else "")
    dalang.client.cookies.clear()
    page = await dalang.client.get(
        "/console/registry", headers={"cookie": cookie.encode("latin-1")}
    )
    if signed_in:
        assert page.status_code == 200
    else:
        assert page.status_code == 303 and page.headers["location"] == "/console/login?idle"


async def test_an_invalid_filing_is_a_422_page_naming_the_field_not_its_value(dalang):
    await sign_in(dalang, Role.WINDOW_CLERK, "clerk.li")
    body = form_of(filing(), await csrf(dalang, "/console/registry/new"))
    body["id_number"] = "5116021990"  # 10 characters, not 18
    posted = await dalang.client.post("/console/registry/new", data=body, files=SCANS)
    assert posted.status_code == 422
    assert "applicant.id_number" in posted.text and "5116021990" not in posted.text
    assert await requests_on_file(dalang) == 0


async def test_each_role_opens_only_its_pages(dalang):
    await sign_in(dalang, Role.WINDOW_CLERK, "clerk.li")
    assert (await dalang.client.get("/console/registry/new")).status_code == 200
    for path in ("/console/exchange", "/console/audit", "/console/disputes"):
        assert (await dalang.client.get(path)).status_code == 403, path
    dalang.client.cookies.clear()
    await sign_in(dalang, Role.AUDITOR, "auditor.xu")
    assert (await dalang.client.get("/console/audit/verify")).status_code == 200
    assert (await dalang.client.get("/console/registry/new")).status_code == 403
    page = await dalang.client.get("/console/audit")
    assert "/console/audit/verify" in page.text and "/console/registry/new" not in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


async def test_command_centre_sees_the_applicant_masked_and_the_read_is_logged(dalang):
    clerk = await dalang.token(Role.WINDOW_CLERK)
    filed = await dalang.client.post("/registry/requests", json=filing(), headers=clerk)
    request_id = filed.json()["request_id"]
    await sign_in(dalang, Role.COMMAND_CENTRE, "centre.liu")
    page = await dalang.client.get(f"/console/registry/{request_id}")
    assert page.status_code == 200
    assert MASKED_ID in page.text and ID_NUMBER not in page.text
    log = await dalang.client.get("/audit/access-log", headers=await dalang.token(Role.AUDITOR))
    [entry] = log.json()
    assert entry["user_name"] == "centre.liu" and entry["disclosure"] == "masked"
    assert entry["action"] == "GET /console/registry/{request_id}"


async def test_english_is_chosen_with_lang_and_remembered(dalang):
    assert "<h1>登录</h1>" in (await dalang.client.get("/console/login")).text
    english = await dalang.client.get("/console/login?lang=en")
    assert "<h1>Sign in</h1>" in english.text and "fq_lang=en" in english.headers["set-cookie"]
    assert "<h1>Sign in</h1>" in (await dalang.client.get("/console/login")).text


async def test_a_case_id_or_filter_with_a_nul_is_refused_as_the_api_does_not_a_500(dalang_pg):
    """PostgreSQL cannot hold a NUL: the console's addresses and filters are checked as the
    API's are (422), never passed to the store to fail there."""
    await sign_in(dalang_pg, Role.MEDIATOR, "mediator.tang")
    for path in ("/console/disputes/DL%00", "/console/mediations/LM%00"):
        assert (await dalang_pg.client.get(path)).status_code == 422, path
    token = await csrf(dalang_pg, "/console/mediations")
    declined = await dalang_pg.client.post(
        "/console/mediations/LM%00/decline", data={"csrf": token, "reason": "not ours"}
    )
    assert declined.status_code == 422
    dalang_pg.client.cookies.clear()
    await sign_in(dalang_pg, Role.WINDOW_CLERK, "clerk.li")
    for path in ("/console/registry/R%00", "/console/registry/R/materials/id%00card/file"):
        assert (await dalang_pg.client.get(path)).status_code == 422, path
    dalang_pg.client.cookies.clear()
    await sign_in(dalang_pg, Role.AUDITOR, "auditor.xu")
    for query in ("user=li%00", "case_id=DL%00"):
        assert (await dalang_pg.client.get(f"/console/audit?{query}")).status_code == 422, query
