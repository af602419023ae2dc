"""Users with their hashed API tokens, and the personal-data access log.

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0001"
branch_labels = ("users",)
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS),
    )
    op.create_table(
        "access_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("user_name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("flow", sa.String(32), nullable=False),
        sa.Column("case_id", sa.String(80), nullable=False),
        sa.Column("fields", sa.String(500), nullable=False),
        sa.Column("disclosure", sa.String(8), nullable=False),
        sa.Column("action", sa.String(200), nullable=False),
    )
    op.create_index("access_log_case", "access_log", ["case_id", "at"])
    op.create_index("access_log_user", "access_log", ["user_name", "at"])


def downgrade() -> None:
    op.drop_index("access_log_user", "access_log")
    op.drop_index("access_log_case", "access_log")
    op.drop_table("access_log")
    op.drop_table("users")
