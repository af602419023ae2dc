"""The routes' dependencies as `Annotated` aliases: the node, the caller, and who may do what.

Each route names the alias of the roles it allows; the role sets are the policy in one place
(docs/api.md lists them).
"""

from typing import Annotated

from fastapi import Depends, Query, Request

from gateway.auth import allow, current_user
from gateway.node_api import NodeApi, node_api
from services.users.model import Role, User

# Dependencies are coroutine functions: FastAPI runs a plain function in a worker thread, a
# hand-off to another thread and back for every request.


async def route_action(request: Request) -> str:
    """`METHOD /path/{template}` of the route called: how the access log names a read."""
    return f"{request.method} {request.scope['route'].path}"


async def the_node_api(request: Request) -> NodeApi:
    """node_api, as a dependency."""
    return node_api(request)


ApiDep = Annotated[NodeApi, Depends(the_node_api)]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1, description="how many to skip")]
Action = Annotated[str, Depends(route_action)]
CurrentUser = Annotated[User, Depends(current_user)]

REGISTRY_STEPS = (Role.WINDOW_CLERK,)
REGISTRY_READERS = (Role.WINDOW_CLERK, Role.COMMAND_CENTRE, Role.AUDITOR, Role.ADMIN)
QUARANTINE_READERS = (Role.ADMIN, Role.AUDITOR)

RegistryClerk = Annotated[User, Depends(allow(*REGISTRY_STEPS))]
RegistryReader = Annotated[User, Depends(allow(*REGISTRY_READERS))]
QuarantineReader = Annotated[User, Depends(allow(*QUARANTINE_READERS))]
Admin = Annotated[User, Depends(allow(Role.ADMIN))]
Auditor = Annotated[User, Depends(allow(Role.AUDITOR))]

CASE_STEPS = (Role.MEDIATOR,)
CASE_ANSWERS = (Role.MEDIATOR, Role.OFFICER)
CASE_READERS = (Role.MEDIATOR, Role.OFFICER, Role.COMMAND_CENTRE, Role.AUDITOR, Role.ADMIN)
REPORT_STEPS = (Role.COMMAND_CENTRE,)
REPORT_READERS = (Role.COMMAND_CENTRE, Role.AUDITOR, Role.ADMIN)

Mediator = Annotated[User, Depends(allow(*CASE_STEPS))]
CaseAnswerer = Annotated[User, Depends(allow(*CASE_ANSWERS))]
CaseReader = Annotated[User, Depends(allow(*CASE_READERS))]
CommandCentre = Annotated[User, Depends(allow(*REPORT_STEPS))]
ReportReader = Annotated[User, Depends(allow(*REPORT_READERS))]
