"""Signing in with an API token, signing out, and the landing page of each role."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.console.pages import LANDING, render
from gateway.console.session import (
    CSRF_FIELD,
    LOGIN_COOKIE,
    PREFIX,
    AnyStaff,
    end_session,
    login_form_token,
    now_seconds,
    same_token,
    seen_stamp,
    start_session,
)
from gateway.node_api import node_api
from services.users.accounts import user_holding

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _login_form(request: Request, status: int = 200, failed: bool = False) -> HTMLResponse:
    """The login form with its double-submit token, in the form and in the cookie, so that
    a refused form answers one that can be sent again."""
    token = login_form_token(request)
    idle = "idle" in request.query_params
    page = render(request, "login.html", None, status, form_token=token, failed=failed, idle=idle)
    page.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", path=PREFIX)
    return page


@router.get("/login")
async def login_page(request: Request) -> HTMLResponse:
    """The login form: the user pastes the token `fengqiao users add` printed."""
    return _login_form(request)


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the token; on success keep it in the session cookie and open the user's pages."""
    form = await request.form()
    if not same_token(form.get(CSRF_FIELD), request.cookies.get(LOGIN_COOKIE, "")):
        return _login_form(request, 403)
    token = str(form.get("token", "")).strip()
    user = None
    if token:
        user = await user_holding(node_api(request).node.db, token)
    if user is None:
        return _login_form(request, 401, failed=True)
    done = RedirectResponse(f"{PREFIX}/", status_code=303)
    seen = seen_stamp(token, now_seconds(request))
    start_session(done, token, seen, secure=request.url.scheme == "https")
    return done


@router.post("/logout")
async def logout(_: AnyStaff) -> Response:
    """Forget the session (the form carries the CSRF token like every POST)."""
    done = RedirectResponse(f"{PREFIX}/login", status_code=303)
    end_session(done)
    return done


@router.get("/")
async def home(request: Request, staff: AnyStaff) -> Response:
    """The page of the user's daily work."""
    landing = LANDING.get(staff.user.role)
    if landing is None:
        return render(request, "home.html", staff)
    return RedirectResponse(landing, status_code=303)
