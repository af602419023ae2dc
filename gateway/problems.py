"""Errors as RFC 9457 problem details (application/problem+json), for every error the API gives.

Domain errors map to a status by their type (the most specific entry of PROBLEMS wins); the
problem's `type` is `/problems/<reason>`, the same reason code the quarantine records.
"""

import logging
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException

from contracts.canonical import NotCanonicalisable
from contracts.errors import NotPermittedByAgreement
from gateway.request_ids import HEADER
from services.bus.handlers import NotApplicable
from services.bus.quarantine import UnknownQuarantineEntry
from services.disputes.model import UnknownDispute
from services.handling import OnwardDisseminationRefused
from services.logs import REQUEST_ID
from services.mediation.model import UnknownMediation
from services.registry.model import UnknownRequest
from services.registry.uploads import MaterialRefused, MaterialTooLarge
from services.reports.model import UnknownReport
from services.reports.period import UnknownPeriod
from services.store.database import StoreUnavailable

MEDIA_TYPE = "application/problem+json"
RETRY_AFTER_S = 5
"""What a 503 for a store that is not answering tells the client to wait before trying again."""
log = logging.getLogger(__name__)


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(default="about:blank", description="what kind of problem, a URI reference")
    title: str = Field(description="a short summary of that kind of problem")
    status: int = Field(description="the HTTP status code")
    detail: str | None = Field(default=None, description="what went wrong this time")
    instance: str | None = Field(default=None, description="the path the request was made to")


class CaseNotFound(Exception):
    """No case of that id is on file at this node."""

    reason = "unknown_case"


@dataclass(frozen=True)
class Kind:
    status: int
    title: str
    reason: str = "domain_error"  # for error types that carry no `reason` of their own


PROBLEMS: dict[type[Exception], Kind] = {
    CaseNotFound: Kind(404, "Unknown case"),
    UnknownRequest: Kind(404, "Unknown case"),
    UnknownDispute: Kind(404, "Unknown case"),
    UnknownMediation: Kind(404, "Unknown case"),
    UnknownReport: Kind(404, "Unknown case"),
    UnknownQuarantineEntry: Kind(404, "Unknown quarantine entry", "unknown_quarantine_entry"),
    OnwardDisseminationRefused: Kind(403, "Onward dissemination refused"),
    NotPermittedByAgreement: Kind(403, "Not permitted by the agreement"),
    NotApplicable: Kind(409, "Step not allowed in the case's state"),
    NotCanonicalisable: Kind(422, "Not representable in signed JSON", "not_canonicalisable"),
    UnknownPeriod: Kind(422, "Not a half year", "unknown_period"),
    MaterialRefused: Kind(422, "Not a material file the request declares"),
    MaterialTooLarge: Kind(413, "Material file too large"),
}
"""Domain error type -> status and title. A flow's refusals subclass NotApplicable (409); a flow
adds its own "unknown case" error here (404) beside the registry's."""


def problem(
    status: int, detail: str | None, instance: str, type_: str = "about:blank", **extra: Any
) -> JSONResponse:
    """A problem response; `title` is the status phrase unless `extra` names one."""
    title = extra.pop("title", None) or HTTPStatus(status).phrase
    body = Problem(
        type=type_, title=title, status=status, detail=detail, instance=instance, **extra
    )
    return JSONResponse(body.model_dump(exclude_none=True), status, media_type=MEDIA_TYPE)


def kind_of(exc: Exception) -> Kind | None:
    """The most specific entry of PROBLEMS for `exc`'s type (its MRO, nearest first)."""
    for cls in type(exc).__mro__:
        if cls in PROBLEMS:
            return PROBLEMS[cls]
    return None


async def _domain(request: Request, exc: Exception) -> JSONResponse:
    kind = kind_of(exc)
    if kind is None:  # registered only for PROBLEMS' types
        raise exc
    reason = getattr(exc, "reason", kind.reason)
    detail = getattr(exc, "detail", None) or str(exc)
    return problem(kind.status, detail, request.url.path, f"/problems/{reason}", title=kind.title)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    response = problem(exc.status_code, str(exc.detail), request.url.path)
    response.headers.update(exc.headers or {})
    return response


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError | ValidationError)
    # Only where and what: the offending input may be personal data, it is not echoed.
    errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
    count = f"{len(errors)} problem{'s' if len(errors) != 1 else ''}"
    return problem(
        422,
        f"the request is not valid ({count}; see errors)",
        request.url.path,
        "/problems/invalid_request",
        errors=errors,
    )


async def store_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """503 with when to try again; the log names the store and why, the client is not told."""
    assert isinstance(exc, StoreUnavailable)
    log.warning("%s %s: %s", request.method, request.url.path, exc.problem)
    response = problem(
        503, exc.detail, request.url.path, f"/problems/{exc.reason}", title="Store unavailable"
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    request_id = REQUEST_ID.get()
    if request_id is None:
        return problem(500, "the node failed to answer; the error is in its log", request.url.path)
    detail = f"the node failed to answer; the error is in its log under request {request_id}"
    response = problem(500, detail, request.url.path)
    response.headers[HEADER] = request_id  # answered outside RequestIds, which would add it
    return response


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error of `app` with a problem document, and describe it in OpenAPI."""
    _publish_problem_schema(app)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(ValidationError, _invalid)
    for error_type in PROBLEMS:
        app.add_exception_handler(error_type, _domain)
    app.add_exception_handler(StoreUnavailable, store_unavailable)
    app.add_exception_handler(Exception, _unexpected)


def _publish_problem_schema(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas["Problem"] = Problem.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def problem_response(description: str) -> dict[str, Any]:
    """An OpenAPI response of a problem document (`install_problem_handlers` adds the schema)."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {"description": description, "content": {MEDIA_TYPE: {"schema": schema}}}


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: problem_response("no bearer token, or one that is unknown or revoked"),
    403: problem_response("the user's role may not do this, or the agreement does not permit it"),
    422: problem_response("the request does not validate"),
}
"""Responses every authenticated route may give, for the OpenAPI document."""
