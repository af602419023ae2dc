"""Driving the console over plain HTTP: sign in as a user of a role, read a form's CSRF token."""

import re

import httpx

from services.users.model import Role
from tests.support.api import ApiNode

FORM_TOKEN = re.compile(r'name="csrf" value="([^"]+)"')


async def sign_in(node: ApiNode, role: Role, name: str) -> httpx.Response:
    """Sign in to the console as `name` (added with `role`); the client keeps the cookie."""
    await node.token(role, name)
    page = await node.client.get("/console/login")
    form_token = FORM_TOKEN.search(page.text)
    assert form_token, page.text
    body = {"csrf": form_token.group(1), "token": node.tokens[name]}
    return await node.client.post("/console/login", data=body)


async def csrf(node: ApiNode, path: str) -> str:
    """The CSRF token the page at `path` puts in its forms."""
    found = FORM_TOKEN.search((await node.client.get(path)).text)
    assert found
    return found.group(1)
