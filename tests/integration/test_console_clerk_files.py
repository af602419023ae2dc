"""The window clerk's console at Dalang and Qianfeng (in process, SQLite): the requests list
shows the clerk's own by default, and a declared material's file is sent from the request's
page (multipart form, the same service as PUT .../materials/{code}/file) and downloaded at the
home registry; a form without the CSRF token, or a file the request did not declare, sends
nothing."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.users.model import Role
from tests.support.api import b64, filing
from tests.support.api_cases import DALANG, QIANFENG, ApiPair, api_pair
from tests.support.console import csrf, sign_in

REGISTER = b"%PDF-1.7 household register, pages 1-4"


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[ApiPair]:
    async with api_pair("sqlite", tmp_path) as pair:
        yield pair


async def _filed(pair: ApiPair, clerk: str) -> str:
    """A request filed at Dalang with `clerk` responsible, on file at both nodes."""
    body: dict[str, Any] = filing(
        responsible_clerk={"name": clerk, "home_jurisdiction": DALANG},
    )
    body["files"][1] = {"material": "household_register", "content_base64": b64(REGISTER)}
    headers = await pair[DALANG].token(Role.WINDOW_CLERK)
    filed = await pair[DALANG].client.post("/registry/requests", json=body, headers=headers)
    assert filed.status_code == 201, filed.text
    await pair.settle()
    return str(filed.json()["request_id"])


def _page(request_id: str) -> str:
    return f"/console/registry/{request_id}"


async def _send(pair: ApiPair, request_id: str, content: bytes, token: str | None = None) -> Any:
    path = f"{_page(request_id)}/materials/household_register/file"
    form = {"csrf": token or await csrf(pair[DALANG], _page(request_id))}
    files = {"file": ("户口簿.pdf", content, "application/pdf")}
    return await pair[DALANG].client.post(path, data=form, files=files)


async def test_a_clerk_sees_the_requests_they_filed_and_all_of_the_nodes_on_asking(pair):
    own = await _filed(pair, "clerk.li")
    other = await _filed(pair, "clerk.zhao")
    await sign_in(pair[DALANG], Role.WINDOW_CLERK, "clerk.li")
    mine = (await pair[DALANG].client.get("/console/registry")).text
    assert f'data-request="{own}"' in mine and f'data-request="{other}"' not in mine
    everyone = (await pair[DALANG].client.get("/console/registry?scope=all")).text
    assert f'data-request="{own}"' in everyone and f'data-request="{other}"' in everyone


async def test_a_material_file_sent_from_the_page_is_downloadable_at_the_home_registry(pair):
    request_id = await _filed(pair, "clerk.li")
    await sign_in(pair[DALANG], Role.WINDOW_CLERK, "clerk.li")
    page = (await pair[DALANG].client.get(_page(request_id))).text
    assert 'data-material="household_register"' in page and 'class="download"' not in page

    sent = await _send(pair, request_id, REGISTER)
    assert sent.status_code == 303 and sent.headers["location"] == _page(request_id)
    await pair.settle()

    await sign_in(pair[QIANFENG], Role.WINDOW_CLERK, "registrar.chen")
    desk = (await pair[QIANFENG].client.get("/console/registry")).text
    assert f'data-request="{request_id}"' in desk  # sent here by a partner: on every desk
    home_page = (await pair[QIANFENG].client.get(_page(request_id))).text
    assert 'enctype="multipart/form-data"' not in home_page  # the home registry sends none
    link = f"{_page(request_id)}/materials/household_register/file"
    assert f'href="{link}"' in home_page
    got = await pair[QIANFENG].client.get(link)
    assert got.status_code == 200 and got.content == REGISTER
    assert got.headers["content-type"] == "application/pdf"
    log = await pair[QIANFENG].client.get(
        "/audit/access-log", headers=await pair[QIANFENG].token(Role.AUDITOR)
    )
    assert [
        e["fields"] for e in log.json() if e["action"].endswith("/materials/{material}/file")
    ] == [["materials.household_register.file"]]


async def test_a_file_posted_without_the_csrf_token_or_not_declared_sends_nothing(pair):
    request_id = await _filed(pair, "clerk.li")
    await sign_in(pair[DALANG], Role.WINDOW_CLERK, "clerk.li")
    forged = await _send(pair, request_id, REGISTER, token="not-the-token")
    assert forged.status_code == 403 and "CSRF" in forged.text
    other = await _send(pair, request_id, b"another scan")
    assert other.status_code == 422 and 'role="alert"' in other.text
    assert await pair.net.deliver_all() == []  # nothing was sent


async def test_the_command_centre_gets_no_download_link_and_no_file(pair):
    request_id = await _filed(pair, "clerk.li")
    await sign_in(pair[DALANG], Role.WINDOW_CLERK, "clerk.li")
    assert (await _send(pair, request_id, REGISTER)).status_code == 303
    await pair.settle()
    await sign_in(pair[QIANFENG], Role.COMMAND_CENTRE, "centre.liu")
    assert 'class="download"' not in (await pair[QIANFENG].client.get(_page(request_id))).text
    link = f"{_page(request_id)}/materials/household_register/file"
    assert (await pair[QIANFENG].client.get(link)).status_code == 403
