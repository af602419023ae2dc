"""Every route of a node's OpenAPI, called with inputs generated from the schema itself
(schemathesis), answers without a server error: a node run as `fengqiao node run` over a real
SQLite store and a real nats-server, each call made by a user whose role the route allows."""

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from schemathesis import BaseSchema, Case, GenerationMode
from schemathesis.checks import not_a_server_error

from gateway.app import ROUTERS
from services.users.model import Role
from tests.support.api import DALANG, PERSONAL, QIANFENG
from tests.support.api_cases import PERSONAL as DISPUTE_PERSONAL
from tests.support.live import write_agreement
from tests.support.nats import free_port, running, single_region
from tests.support.served import ServedNode, add_user, node_config, served_node

ROLE_BY_PREFIX = {
    "/registry": Role.WINDOW_CLERK,
    "/disputes": Role.MEDIATOR,
    "/mediations": Role.MEDIATOR,
    "/reports": Role.COMMAND_CENTRE,
    "/quarantine": Role.ADMIN,
    "/audit": Role.AUDITOR,
    "/users": Role.ADMIN,
}
"""Who calls each resource: a role gateway/deps.py allows on every route under it."""
EXAMPLES = 15  # per route and mode: every route in about a minute on a loaded 2-core machine


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedNode]:
    root = tmp_path_factory.mktemp("schema")
    nats = single_region(root)
    agreement = write_agreement(
        [DALANG, QIANFENG], root / "agreement.yaml", personal=PERSONAL | DISPUTE_PERSONAL
    )
    port = free_port()
    with running(nats), served_node(node_config(root, nats, port, agreement)) as node:
        yield node


@pytest.fixture(scope="module")
def tokens(served: ServedNode) -> dict[Role, str]:
    roles = set(ROLE_BY_PREFIX.values())
    return {role: add_user(served.config, f"{role.value}-1", role) for role in roles}


@pytest.fixture(scope="module")
def api_schema(served: ServedNode) -> BaseSchema:
    return schemathesis.openapi.from_url(f"{served.base_url}/openapi.json")


def headers_for(path: str, tokens: dict[Role, str]) -> dict[str, str]:
    """The bearer token of a role allowed on `path` (none for probes and metrics)."""
    for prefix, role in ROLE_BY_PREFIX.items():
        if path.startswith(prefix):
            return {"Authorization": f"Bearer {tokens[role]}"}
    return {}


def _takes_input(dependant: Dependant) -> bool:
    own = dependant.path_params or dependant.query_params or dependant.body_params
    return bool(own) or any(_takes_input(d) for d in dependant.dependencies)


def calls() -> list[tuple[GenerationMode, str, str]]:
    """Every route the app serves, as its routers declare them, with valid inputs; and with
    invalid ones, each route that takes any."""
    routes = [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]
    return sorted(
        (mode, method, route.path)
        for route in routes
        for method in route.methods
        for mode in GenerationMode
        if mode is GenerationMode.POSITIVE or _takes_input(route.dependant)
    )


@pytest.mark.parametrize(("mode", "method", "path"), calls())
def test_no_generated_input_makes_a_route_answer_with_a_server_error(
    api_schema, tokens, mode, method, path
):
    operation = api_schema[path][method]
    headers = headers_for(path, tokens)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def call(case: Case) -> None:
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    call()
