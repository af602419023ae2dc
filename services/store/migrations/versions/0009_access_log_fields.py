"""The access log's field names as text: a read of a dispute of 50 parties names 150 fields,
well past the 500 characters the column held (PostgreSQL refused the read).

Revision ID: 0009
Revises: 0005
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":  # SQLite does not hold a VARCHAR to its length
        op.alter_column("access_log", "fields", existing_type=sa.String(500), type_=sa.Text)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("access_log", "fields", existing_type=sa.Text, type_=sa.String(500))
