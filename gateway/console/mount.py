"""Putting the console on a node's app: its routes, static files and error pages."""

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from gateway.console import auditor, centre, clerk, mediation_steps, mediator, signin
from gateway.console.i18n import Translator, language
from gateway.console.pages import render, templates
from gateway.console.session import (
    IDLE,
    PREFIX,
    ConsoleRefused,
    LoginRequired,
    SeenStamps,
    SessionIdle,
    end_session,
)
from gateway.problems import store_unavailable
from services.store.database import StoreUnavailable

STATIC = Path(__file__).resolve().parent / "static"
ROUTERS = (
    signin.router,
    clerk.router,
    mediator.router,
    mediation_steps.router,
    centre.router,
    auditor.router,
)


async def _to_login(request: Request, exc: Exception) -> Response:
    """To the login page; the browser forgets the session (its token is an API token)."""
    why = "?idle" if isinstance(exc, SessionIdle) else ""
    answer = RedirectResponse(f"{PREFIX}/login{why}", status_code=303)
    end_session(answer)
    return answer


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConsoleRefused)
    return render(request, "error.html", exc.staff, 403, status_code=403, lines=[str(exc)])


async def _store_unavailable(request: Request, exc: Exception) -> Response:
    """The API's 503 and Retry-After, as a page for the console's readers."""
    answer = await store_unavailable(request, exc)  # logs the store and why
    if not request.url.path.startswith(f"{PREFIX}/"):
        return answer
    line = Translator(language(request))("error.store_unavailable")
    page = render(request, "error.html", None, 503, status_code=503, lines=[line])
    page.headers["Retry-After"] = answer.headers["Retry-After"]
    return page


def install_console(app: FastAPI, idle: timedelta = IDLE) -> None:
    """Serve the console at /console/ on `app`; a session unused for `idle` is signed out."""
    app.state.console_templates = templates()
    app.state.console_idle = idle
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="console-static")
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(SeenStamps)
    app.add_exception_handler(LoginRequired, _to_login)
    app.add_exception_handler(ConsoleRefused, _refused)
    app.add_exception_handler(StoreUnavailable, _store_unavailable)
