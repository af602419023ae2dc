"""Disputes: one row per dispute case and its timeline.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "disputes",
        sa.Column("dispute_id", sa.String(80), primary_key=True),
        sa.Column("originator", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("risk", sa.String(16), nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("lead_source", sa.String(32), nullable=False),
        sa.Column("place", sa.String(300), nullable=False),
        sa.Column("parties", sa.JSON, nullable=False),
        sa.Column("party_jurisdictions", sa.JSON, nullable=False),
        sa.Column("holders", sa.JSON, nullable=False),
        sa.Column("narrative", sa.Text, nullable=False),
        sa.Column("occurred_on", sa.String(10), nullable=False),
        sa.Column("handling", sa.String(2), nullable=False),
        sa.Column("correlation", sa.String(36), nullable=False),
        sa.Column("last_event_id", sa.String(36), nullable=False),
        sa.Column("outcome", sa.String(32)),
        sa.Column("terms", sa.JSON),
        sa.Column("compensation_fen", sa.BigInteger),
        sa.Column("mediator", sa.JSON),
        sa.Column("mediation_id", sa.String(80)),
        sa.Column("resolved_on", sa.String(10)),
        sa.Column("closure", sa.String(32)),
        sa.Column("closed_on", sa.String(10)),
        sa.Column("reported_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "dispute_timeline",
        sa.Column("dispute_id", sa.String(80), primary_key=True),
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("time", sa.String(24), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dispute_timeline")
    op.drop_table("disputes")
