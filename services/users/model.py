"""Users of one node, their roles and their API tokens. Pure: no store, no web framework."""

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

TOKEN_BYTES = 32
USER_NAME = re.compile(r"^[\w.@-]{1,100}$")  # letters of any script, digits, . _ @ -


class Role(StrEnum):
    """What a user does at this bureau (DOMAIN.md, "Who is who")."""

    WINDOW_CLERK = "window_clerk"  # files and completes registry proxy requests
    MEDIATOR = "mediator"  # police assistant: reports disputes, runs linked mediation
    OFFICER = "officer"  # station officer: accepts cross-region requests, investigates his part
    COMMAND_CENTRE = "command_centre"  # watches the exchange, exports the semiannual report
    AUDITOR = "auditor"  # reads who saw which personal data
    ADMIN = "admin"  # runs the node: users, quarantine


class UserError(Exception):
    """A user cannot be added, found or changed as asked."""


class UserExists(UserError):
    """A user of that name is on file already (revoked ones too: names are never reused)."""


class UnknownUser(UserError):
    """No user of that name is on file."""


class InvalidUserName(UserError):
    """A name with spaces, punctuation other than . _ @ -, or more than 100 characters."""


def check_name(name: str) -> str:
    """The name, if it can name a user (it is printed in logs and the access log)."""
    if not USER_NAME.match(name):
        raise InvalidUserName(
            f"{name[:120]!r} is not a user name: 1-100 letters, digits or . _ @ -"
        )
    return name


@dataclass(frozen=True)
class User:
    """A user as the API sees them once their token is accepted."""

    name: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def new_token() -> str:
    """A fresh API token: 32 random bytes, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    """What the store keeps of a token: its SHA-256, hex.

    A plain hash is enough here, unlike for passwords: the token has 256 bits of entropy, so
    nobody who reads the store can guess a preimage, and a slow hash (bcrypt, Argon2) would buy
    nothing but a slower lookup on every request. The digest is the lookup key, so no secret is
    ever compared in Python (no timing side channel on the token itself).
    """
    return hashlib.sha256(token.encode()).hexdigest()
