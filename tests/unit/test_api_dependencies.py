"""No route of the API or the console hands a request to a worker thread for a dependency:
FastAPI runs a plain-function dependency in its thread pool, a hand-off to another thread and
back for every request (~2 % of a single report's CPU at the node)."""

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from gateway.app import ROUTERS
from gateway.console.mount import ROUTERS as CONSOLE_ROUTERS


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def _runs_on_the_loop(call: Any) -> bool:
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(
        getattr(call, "__call__", None)  # noqa: B004 (a security scheme's instance)
    )


ROUTES = [r for rs in (ROUTERS, CONSOLE_ROUTERS) for x in rs for r in x.routes]
assert all(isinstance(r, APIRoute) for r in ROUTES)


def test_the_routes_are_found() -> None:
    paths = {r.path for r in ROUTES}
    assert {"/disputes", "/disputes/batch", "/users/me", "/console/login"} <= paths


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{sorted(r.methods)[0]} {r.path}")
def test_every_dependency_runs_on_the_event_loop(route: APIRoute) -> None:
    threaded = [c for c in _calls(route.dependant) if not _runs_on_the_loop(c)]
    assert threaded == []
