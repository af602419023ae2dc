"""Putting the console on a node's app: its routes, static files and error pages."""

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from gateway.console import auditor, centre, clerk, mediation_steps, mediator, signin
from gateway.console.pages import render, templates
from gateway.console.session import PREFIX, ConsoleRefused, LoginRequired

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
    return RedirectResponse(f"{PREFIX}/login", status_code=303)


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConsoleRefused)
    return render(request, "error.html", exc.staff, 403, status_code=403, lines=[str(exc)])


def install_console(app: FastAPI) -> None:
    """Serve the console at /console/ on `app`."""
    app.state.console_templates = templates()
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="console-static")
    for router in ROUTERS:
        app.include_router(router)
    app.add_exception_handler(LoginRequired, _to_login)
    app.add_exception_handler(ConsoleRefused, _refused)
