"""The node's HTTP API, built over a running node: nothing is created at import time."""

from datetime import timedelta

from fastapi import FastAPI

from gateway.console.mount import install_console
from gateway.console.session import IDLE
from gateway.node_api import NodeApi
from gateway.problems import install_problem_handlers
from gateway.request_ids import RequestIds
from gateway.routes import (
    audit,
    disputes,
    health,
    mediation,
    quarantine,
    registry,
    reports,
    users,
)

ROUTERS = (
    health.router,
    users.router,
    registry.router,
    disputes.router,
    mediation.router,
    reports.router,
    quarantine.router,
    audit.router,
)
"""One router per resource; each flow adds its own here (disputes, mediation, reports)."""

DESCRIPTION = """\
The HTTP API of one Fengqiao node: one bureau's window onto the cooperation flows it runs
with its partners under a signed agreement. Every route but the probes needs a user's bearer
token (`fengqiao users add NAME --role ROLE`), and each says which roles it allows. Errors are
RFC 9457 problem documents (`application/problem+json`). Reads of personal data are logged.
"""


def create_app(api: NodeApi, console_idle: timedelta = IDLE) -> FastAPI:
    """The API of the node `api` (see NodeApi.from_runtime and NodeApi.from_parts); a console
    session unused for `console_idle` is signed out."""
    app = FastAPI(
        title=f"Fengqiao node {api.node.jurisdiction}",
        summary="Cross-region police cooperation: signed, versioned events between bureaus.",
        description=DESCRIPTION,
        version="1",
        openapi_tags=[
            {"name": "health", "description": "Probes and metrics for the operator."},
            {"name": "registry", "description": "Household-registry proxy requests (户籍代办)."},
            {"name": "disputes", "description": "Disputes (矛盾纠纷) and their lifecycle."},
            {"name": "mediation", "description": "Linked mediation (矛盾联调) between two sides."},
            {"name": "reports", "description": "The semiannual report (半年报), cosigned."},
            {"name": "quarantine", "description": "Received envelopes that were not applied."},
            {"name": "audit", "description": "Who read which personal data."},
            {"name": "users", "description": "The caller."},
        ],
    )
    app.state.node_api = api
    install_problem_handlers(app)
    app.add_middleware(RequestIds)
    for router in ROUTERS:
        app.include_router(router)
    install_console(app, console_idle)
    return app
