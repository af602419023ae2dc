"""The semiannual report: reports, each side's figures, and the cosignatures.

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("report_id", sa.String(80), primary_key=True),
        sa.Column("agreement_id", sa.String(64), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("proposed_by", sa.String(64), nullable=False),
        sa.Column("partner", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("figures_digest", sa.String(64), nullable=False),
        sa.Column("correlation", sa.String(36), nullable=False),
        sa.Column("last_event_id", sa.String(36), nullable=False),
        sa.Column("proposed_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "report_figures",
        sa.Column("report_id", sa.String(80), primary_key=True),
        sa.Column("counted_by", sa.String(64), primary_key=True),
        sa.Column("figures", sa.JSON, nullable=False),
        sa.Column("figures_digest", sa.String(64), nullable=False),
        sa.Column("counted_at", TS, nullable=False),
    )
    op.create_table(
        "report_signatures",
        sa.Column("report_id", sa.String(80), primary_key=True),
        sa.Column("signed_by", sa.String(64), primary_key=True),
        sa.Column("figures_digest", sa.String(64), nullable=False),
        sa.Column("differences_acknowledged", sa.JSON, nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("signed_at", sa.String(24), nullable=False),
    )


def downgrade() -> None:
    for table in ("report_signatures", "report_figures", "reports"):
        op.drop_table(table)
