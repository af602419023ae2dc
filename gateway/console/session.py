"""Who is signed in to the console: the user's API token in an HttpOnly, SameSite=Strict cookie.

A second cookie holds when the user last opened a page, MACed with the token: a session left
without a page opened for the node's `console_idle_minutes` is signed out (a window PC left
signed in by a clerk who went home). Every POST carries a CSRF token derived from the session
cookie (an HMAC keyed by the token), so a form can only be posted by a page the signed-in
browser rendered. Role sets are the API's
(gateway/deps.py): a page shows to exactly those who may call the routes behind it.
"""

import hashlib
import hmac
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
SEEN_COOKIE = "fq_seen"  # when a page was last opened: "<unix seconds>.<MAC>"
CSRF_FIELD = "csrf"
IDLE = timedelta(minutes=30)
"""The default of the node's `console_idle_minutes`."""
CLOCK_SKEW_S = 60
_SECONDS = re.compile(r"[0-9]{1,12}")
_SEEN_STATE = "console_seen"  # the stamp of a signed-in request's page, in the request's state
_SEEN_SET = f"{SEEN_COOKIE}=".encode()


class LoginRequired(Exception):
    """No session cookie, or one whose token is unknown or revoked: back to the login page."""


class SessionIdle(LoginRequired):
    """The session went unused for longer than the node allows: signed out."""


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


def seen_stamp(session_token: str, at: int) -> str:
    """The stamp of a page opened at `at` (unix seconds), MACed with the session's token."""
    mac = hmac.new(session_token.encode(), f"fengqiao-console-seen:{at}".encode(), hashlib.sha256)
    return f"{at}.{mac.hexdigest()}"


def seen_within(stamp: str | None, session_token: str, now: int, idle: timedelta) -> bool:
    """Whether `stamp` is this session's and no older than `idle` (nor ahead of `now` by more
    than the clocks of the nodes behind one load balancer may differ)."""
    at = (stamp or "").partition(".")[0]
    if not _SECONDS.fullmatch(at):
        return False
    return same_token(stamp, seen_stamp(session_token, int(at))) and (
        -CLOCK_SKEW_S <= now - int(at) <= idle.total_seconds()
    )


def same_token(given: object, expected: str) -> bool:
    """Whether a posted token matches, compared in constant time; none matches an empty one
    (a login cookie another site's post does not send)."""
    return (
        isinstance(given, str)
        and bool(expected)
        and hmac.compare_digest(given.encode(), expected.encode())
    )


def start_session(response: Response, token: str, seen: str, secure: bool) -> None:
    """Keep the token in the session cookie (HttpOnly: no script reads it), seen now."""
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="strict", secure=secure, path=PREFIX
    )
    keep_seen(response, seen, secure)
    response.delete_cookie(LOGIN_COOKIE, path=PREFIX)


def keep_seen(response: Response, seen: str, secure: bool) -> None:
    """Remember when the session last opened a page."""
    response.set_cookie(
        SEEN_COOKIE, seen, httponly=True, samesite="strict", secure=secure, path=PREFIX
    )


def end_session(response: Response) -> None:
    """Forget the session's cookies."""
    for cookie in (SESSION_COOKIE, SEEN_COOKIE):
        response.delete_cookie(cookie, path=PREFIX, httponly=True, samesite="strict")


def now_seconds(request: Request) -> int:
    """The node's clock, in unix seconds."""
    return int(node_api(request).node.clock().timestamp())


def login_form_token(request: Request) -> str:
    """The login form's double-submit token: the cookie's if set, else a new one."""
    return request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)


async def signed_in(request: Request) -> Staff:
    """The user whose token the session cookie holds, if it was seen within the idle time;
    LoginRequired (SessionIdle) otherwise."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired
    now, idle = now_seconds(request), request.app.state.console_idle
    if not seen_within(request.cookies.get(SEEN_COOKIE), token, now, idle):
        raise SessionIdle
    user = await user_holding(node_api(request).node.db, token)
    if user is None:
        raise LoginRequired
    seen = seen_stamp(token, now)
    setattr(request.state, _SEEN_STATE, (seen, request.url.scheme == "https"))
    return Staff(user, csrf_token(token))


class SeenStamps:
    """ASGI middleware: every console response to a signed-in request (a page, a redirect after
    a form, a download, an error page) carries the new stamp, unless it ends the session."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(f"{PREFIX}/"):
            await self.app(scope, receive, send)
            return

        async def send_with_stamp(message: Message) -> None:
            if message["type"] == "http.response.start":
                found = scope.get("state", {}).get(_SEEN_STATE)
                headers = message.get("headers", ())
                ends = any(k == b"set-cookie" and v.startswith(_SEEN_SET) for k, v in headers)
                if found is not None and not ends:
                    stamped = Response()
                    keep_seen(stamped, *found)
                    cookie = [(k, v) for k, v in stamped.raw_headers if k == b"set-cookie"]
                    message["headers"] = [*headers, *cookie]
            await send(message)

        await self.app(scope, receive, send_with_stamp)


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
