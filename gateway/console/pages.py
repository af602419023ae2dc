"""Rendering a console page: the template, the reader's language, the pages their role opens."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.datastructures import FormData

from gateway.console.i18n import LANG_COOKIE, Translator, language
from gateway.console.session import (
    AUDIT_READERS,
    EXCHANGE_WATCHERS,
    PREFIX,
    Staff,
)
from gateway.deps import CASE_READERS, REGISTRY_READERS, REGISTRY_STEPS
from gateway.problems import PROBLEMS, kind_of
from services.users.model import Role

TEMPLATES = Path(__file__).resolve().parent / "templates"
DOMAIN_ERRORS: tuple[type[Exception], ...] = (*PROBLEMS, ValueError)
"""What a console step may refuse with (a form's bad value, pydantic's ValidationError among
them, is a ValueError): shown on the page, never a stack trace."""


SECURITY_HEADERS = {
    # Pages load only the console's own stylesheet and run no script; no site may frame them.
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages may show personal data
}


@dataclass(frozen=True)
class Page:
    key: str  # its title in the message catalogue
    path: str
    roles: tuple[Role, ...]


NAV = (
    Page("nav.registry", f"{PREFIX}/registry", REGISTRY_READERS),
    Page("nav.file", f"{PREFIX}/registry/new", REGISTRY_STEPS),
    Page("nav.disputes", f"{PREFIX}/disputes", CASE_READERS),
    Page("nav.mediations", f"{PREFIX}/mediations", CASE_READERS),
    Page("nav.exchange", f"{PREFIX}/exchange", EXCHANGE_WATCHERS),
    Page("nav.audit", f"{PREFIX}/audit", AUDIT_READERS),
    Page("nav.verify", f"{PREFIX}/audit/verify", AUDIT_READERS),
)


LANDING = {
    Role.WINDOW_CLERK: f"{PREFIX}/registry",
    Role.MEDIATOR: f"{PREFIX}/disputes",
    Role.OFFICER: f"{PREFIX}/mediations",
    Role.COMMAND_CENTRE: f"{PREFIX}/exchange",
    Role.AUDITOR: f"{PREFIX}/audit",
    Role.ADMIN: f"{PREFIX}/exchange",
}
"""Where each role lands after signing in: the page of its daily work."""


def pages_for(role: Role) -> list[Page]:
    """The console pages a role opens, in menu order."""
    return [page for page in NAV if role in page.roles]


def templates() -> Jinja2Templates:
    """The console's templates (built by install_console, not at import)."""
    return Jinja2Templates(directory=TEMPLATES)


def render(
    request: Request, template: str, staff: Staff | None, status: int = 200, **context: Any
) -> HTMLResponse:
    """Render `template` in the reader's language; `?lang=` is remembered in a cookie."""
    lang = language(request)
    values = {
        "t": Translator(lang),
        "lang": lang,
        "staff": staff,
        "nav": pages_for(staff.user.role) if staff else [],
        "jurisdiction": request.app.state.node_api.node.jurisdiction,
        "prefix": PREFIX,
        "path": request.url.path,
    }
    found: Jinja2Templates = request.app.state.console_templates
    response = found.TemplateResponse(request, template, values | context, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    if request.query_params.get("lang") == lang:
        response.set_cookie(LANG_COOKIE, lang, samesite="strict", path=PREFIX)
    return response


def refused(request: Request, staff: Staff | None, error: Exception) -> HTMLResponse:
    """A step the node refused, as a page: the status and reason the API would give."""
    if isinstance(error, ValidationError):
        # Where and what only: the offending input may be personal data.
        lines = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()]
        return render(request, "error.html", staff, 422, status_code=422, lines=lines)
    kind = kind_of(error)
    status = kind.status if kind else 422  # a value the form gave
    return render(request, "error.html", staff, status, status_code=status, lines=[str(error)])


def form_text(form: FormData, name: str) -> str:
    """A form field's text, stripped; empty when missing or a file."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""
