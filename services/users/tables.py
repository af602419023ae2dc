"""The users and access-log tables (migration 0005 creates them, 0009 widens `fields`; this
is their shape)."""

from sqlalchemy import Column, DateTime, Index, Integer, String, Table, Text

from services.store.tables import metadata

users = Table(
    "users",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("role", String(32), nullable=False),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

access_log = Table(
    "access_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("user_name", String(100), nullable=False),
    Column("role", String(32), nullable=False),
    Column("flow", String(32), nullable=False),  # registry | disputes | mediation | ...
    Column("case_id", String(80), nullable=False),
    Column("fields", Text, nullable=False),  # comma-separated paths, e.g. applicant.phone
    Column("disclosure", String(8), nullable=False),  # full | masked
    Column("action", String(200), nullable=False),  # e.g. GET /registry/requests/{request_id}
)
Index("access_log_case", access_log.c.case_id, access_log.c.at)
Index("access_log_user", access_log.c.user_name, access_log.c.at)
