"""The applicant's phone as long as the contract's Person allows: "+" and 20 characters.

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":  # SQLite does not hold a VARCHAR to its length
        op.alter_column(
            "registry_requests",
            "applicant_phone",
            existing_type=sa.String(20),
            type_=sa.String(21),
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column(
            "registry_requests",
            "applicant_phone",
            existing_type=sa.String(21),
            type_=sa.String(20),
        )
