"""Adding, listing and revoking users, and finding the user a token belongs to."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from services.store.database import Database
from services.users.model import (
    Role,
    UnknownUser,
    User,
    UserExists,
    check_name,
    new_token,
    token_digest,
)
from services.users.tables import users


async def add_user(conn: AsyncConnection, name: str, role: Role, at: datetime) -> str:
    """Add a user and return their token: the only time it exists outside their hands."""
    check_name(name)
    if await _row(conn, name) is not None:
        raise UserExists(f"a user named {name} is on file already")
    token = new_token()
    values = {"name": name, "role": role.value, "token_sha256": token_digest(token)}
    try:
        await conn.execute(users.insert().values(values | {"created_at": at}))
    except IntegrityError:  # added by someone else since we looked
        raise UserExists(f"a user named {name} is on file already") from None
    return token


async def list_users(conn: AsyncConnection) -> list[User]:
    """Every user, revoked ones too, by name."""
    rows = await conn.execute(select(users).order_by(users.c.name))
    return [_user(row) for row in rows]


async def revoke_user(conn: AsyncConnection, name: str, at: datetime) -> User:
    """Revoke a user's token from `at` on (revoking twice keeps the first time)."""
    row = await _row(conn, name)
    if row is None:
        raise UnknownUser(f"no user named {name}")
    if row.revoked_at is None:
        await conn.execute(update(users).where(users.c.name == name).values(revoked_at=at))
        row = await _row(conn, name)
    assert row is not None
    return _user(row)


async def user_holding(db: Database, token: str) -> User | None:
    """user_by_token, read in a snapshot: finding who calls takes no turn at the store's one
    writer (SQLite), so a request is not held up behind the units of work before it."""
    async with db.snapshot() as conn:
        return await user_by_token(conn, token)


# Every request runs it: built once (building it cost as much CPU as running it on SQLite).
_BY_TOKEN = select(users).where(
    users.c.token_sha256 == bindparam("digest"), users.c.revoked_at.is_(None)
)


async def user_by_token(conn: AsyncConnection, token: str) -> User | None:
    """The active user holding `token`; None for an unknown or revoked token."""
    row = (await conn.execute(_BY_TOKEN, {"digest": token_digest(token)})).one_or_none()
    return None if row is None else _user(row)


async def _row(conn: AsyncConnection, name: str) -> Row[Any] | None:
    return (await conn.execute(select(users).where(users.c.name == name))).one_or_none()


def _user(row: Row[Any]) -> User:
    revoked = None if row.revoked_at is None else aware(row.revoked_at)
    return User(row.name, Role(row.role), aware(row.created_at), revoked)


def aware(moment: datetime) -> datetime:
    """A stored instant as UTC (SQLite hands back naive datetimes; the store writes UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
