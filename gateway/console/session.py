"""Who is signed in to the console: the user's API token in an HttpOnly, SameSite=Strict cookie.

Every POST carries a CSRF token derived from the session cookie (an HMAC keyed by the token), so
a form can only be posted by a page the signed-in browser rendered. Role sets are the API's
(gateway/deps.py): a page shows to exactly those who may call the routes behind it.
"""

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response

from gateway.deps import (
    CASE_ANSWERS,
    CASE_READERS,
    CASE_STEPS,
    REGISTRY_READERS,
    REGISTRY_STEPS,
    REPORT_STEPS,
)
from gateway.node_api import node_api
from services.users.accounts import user_holding
from services.users.model import Role, User

PREFIX = "/console"
SESSION_COOKIE = "fq_session"
LOGIN_COOKIE = "fq_login"  # double-submit token of the login form (no session yet)
CSRF_FIELD = "csrf"


class LoginRequired(Exception):
    """No session cookie, or one whose token is unknown or revoked: back to the login page."""


class ConsoleRefused(Exception):
    """The signed-in user may not open this page or post this form."""

    def __init__(self, staff: "Staff | None", message: str) -> None:
        super().__init__(message)
        self.staff = staff


@dataclass(frozen=True)
class Staff:
    """The signed-in user and the CSRF token their forms carry."""

    user: User
    csrf: str


def csrf_token(session_token: str) -> str:
    """The CSRF token tied to a session: HMAC-SHA256 keyed by the session's API token."""
    return hmac.new(session_token.encode(), b"fengqiao-console-csrf", hashlib.sha256).hexdigest()


def same_token(given: object, expected: str) -> bool:
    """Whether a posted token matches, compared in constant time; none matches an empty one
    (a login cookie another site's post does not send)."""
    return (
        isinstance(given, str)
        and bool(expected)
        and hmac.compare_digest(given.encode(), expected.encode())
    )


def start_session(response: Response, token: str, secure: bool) -> None:
    """Keep the token in the session cookie (HttpOnly: no script reads it)."""
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="strict", secure=secure, path=PREFIX
    )
    response.delete_cookie(LOGIN_COOKIE, path=PREFIX)


def end_session(response: Response) -> None:
    """Forget the session cookie."""
    response.delete_cookie(SESSION_COOKIE, path=PREFIX, httponly=True, samesite="strict")


def login_form_token(request: Request) -> str:
    """The login form's double-submit token: the cookie's if set, else a new one."""
    return request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)


async def signed_in(request: Request) -> Staff:
    """The user whose token the session cookie holds; LoginRequired otherwise."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired
    user = await user_holding(node_api(request).node.db, token)
    if user is None:
        raise LoginRequired
    return Staff(user, csrf_token(token))


def staff(*roles: Role) -> Callable[..., Awaitable[Staff]]:
    """A dependency: the signed-in user if their role is one of `roles` (any when none), and,
    on a POST, the form's CSRF token checked against the session."""

    async def allowed(request: Request) -> Staff:
        found = await signed_in(request)
        if roles and found.user.role not in roles:
            raise ConsoleRefused(found, f"the role {found.user.role} may not open this page")
        if request.method == "POST":
            form = await request.form()
            if not same_token(form.get(CSRF_FIELD), found.csrf):
                raise ConsoleRefused(found, "the form's CSRF token does not match the session")
        return found

    return allowed


AUDIT_READERS = (Role.AUDITOR,)
EXCHANGE_WATCHERS = (Role.COMMAND_CENTRE, Role.ADMIN)

AnyStaff = Annotated[Staff, Depends(staff())]
RegistryFiler = Annotated[Staff, Depends(staff(*REGISTRY_STEPS))]
RegistryViewer = Annotated[Staff, Depends(staff(*REGISTRY_READERS))]
CaseViewer = Annotated[Staff, Depends(staff(*CASE_READERS))]
CaseSigner = Annotated[Staff, Depends(staff(*CASE_STEPS))]
CaseAnswerer = Annotated[Staff, Depends(staff(*CASE_ANSWERS))]
ExchangeWatcher = Annotated[Staff, Depends(staff(*EXCHANGE_WATCHERS))]
ReportExporter = Annotated[Staff, Depends(staff(*REPORT_STEPS))]
AuditViewer = Annotated[Staff, Depends(staff(*AUDIT_READERS))]
