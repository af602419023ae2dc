"""Liveness, readiness and Prometheus metrics: for the operator's probes, no token needed."""

import asyncio

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from gateway.deps import ApiDep
from gateway.metrics import CONTENT_TYPE, exposition, snapshot
from gateway.node_api import NodeApi
from gateway.problems import problem, problem_response
from services.store.database import StoreUnavailable

router = APIRouter(tags=["health"])
STORE_TIMEOUT_S = 2.0


class Status(BaseModel):
    status: str
    checks: dict[str, str] = {}


@router.get("/healthz")
async def healthz() -> Status:
    """The process is up and answering."""
    return Status(status="ok")


@router.get(
    "/readyz",
    responses={503: problem_response("the store or NATS is not reachable")},
)
async def readyz(api: ApiDep, request: Request) -> Response:
    """Ready when the store answers a query and NATS is connected, the node's streams declared
    and its loops running; 503 naming what failed."""
    checks = {"store": await _store(api), "nats": _nats(api)}
    failed = [f"{name}: {state}" for name, state in checks.items() if state != "ok"]
    if failed:
        return problem(
            503, "; ".join(failed), request.url.path, "/problems/not_ready", checks=checks
        )
    return JSONResponse(Status(status="ready", checks=checks).model_dump())


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format"}},
)
async def metrics(api: ApiDep) -> Response:
    """Outbox depth, unreceipted events and delivery lag per partner, quarantine, inbox."""
    shot = await snapshot(api.node.db, api.node.clock())
    return Response(exposition(shot), media_type=CONTENT_TYPE)


async def _store(api: NodeApi) -> str:
    async def ask() -> None:
        async with api.node.db.transaction() as conn:
            await conn.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(ask(), STORE_TIMEOUT_S)
    except TimeoutError:
        return f"no answer within {STORE_TIMEOUT_S} s"
    except (SQLAlchemyError, OSError, StoreUnavailable) as exc:
        return f"unreachable ({type(exc).__name__})"
    return "ok"


def _nats(api: NodeApi) -> str:
    if api.runtime is None:
        return "not configured for this node"
    if api.nats is None or not api.nats.is_connected:
        return "not connected"
    if not api.runtime.tasks:
        return "connected; still starting (streams, catch-up, inbox consumer)"
    return "ok"
