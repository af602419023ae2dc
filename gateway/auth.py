"""Who is calling: a user's bearer token, looked up by its digest; what their role allows."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

from gateway.node_api import node_api
from services.users.accounts import user_holding
from services.users.model import Role, User

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="a user's API token, printed once by `fengqiao users add NAME --role ROLE`",
)


async def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    """The active user whose token the request bears; 401 otherwise."""
    if credentials is None:
        raise HTTPException(
            401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"}
        )
    user = await user_holding(node_api(request).node.db, credentials.credentials)
    if user is None:
        raise HTTPException(
            401,
            "the token is unknown or revoked",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return user


def allow(*roles: Role) -> Callable[..., Awaitable[User]]:
    """A dependency giving the current user if their role is one of `roles`; 403 otherwise."""
    names = ", ".join(roles)

    async def allowed(user: Annotated[User, Depends(current_user)]) -> User:
        if user.role not in roles:
            raise HTTPException(403, f"the role {user.role} may not do this (allowed: {names})")
        return user

    return allowed
