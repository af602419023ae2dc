"""The caller themself (users are added and revoked with `fengqiao users`, not over HTTP)."""

from fastapi import APIRouter
from pydantic import BaseModel

from gateway.deps import CurrentUser
from gateway.problems import PROBLEM_RESPONSES
from services.users.model import Role

router = APIRouter(prefix="/users", tags=["users"], responses=PROBLEM_RESPONSES)


class Me(BaseModel):
    name: str
    role: Role


@router.get("/me")
async def me(user: CurrentUser) -> Me:
    """Who the token belongs to, and their role (any role)."""
    return Me(name=user.name, role=user.role)
