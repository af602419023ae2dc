"""Linked mediation: cases, their tasks, the outcome's signatures, and the timeline.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
# A mediation closed with an agreement resolves its dispute: the dispute tables come first.
depends_on = "0002"

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mediations",
        sa.Column("mediation_id", sa.String(80), primary_key=True),
        sa.Column("dispute_id", sa.String(80), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("partner", sa.String(64), nullable=False),
        sa.Column("dispute_owner", sa.String(64), nullable=False),
        sa.Column("mediator", sa.JSON, nullable=False),
        sa.Column("parties", sa.JSON, nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("risk", sa.String(16), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("requested_part", sa.Text, nullable=False),
        sa.Column("reply_by", sa.String(10)),
        sa.Column("officer", sa.JSON),
        sa.Column("answer_note", sa.Text),
        sa.Column("outcome", sa.JSON),
        sa.Column("terms_digest", sa.String(64)),
        sa.Column("proposed_by", sa.String(64)),
        sa.Column("closure", sa.String(32)),
        sa.Column("closed_on", sa.String(10)),
        sa.Column("close_note", sa.Text),
        sa.Column("handling", sa.String(2), nullable=False),
        sa.Column("correlation", sa.String(36), nullable=False),
        sa.Column("last_event_id", sa.String(36), nullable=False),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_mediations_dispute_id", "mediations", ["dispute_id"])
    op.create_table(
        "mediation_tasks",
        sa.Column("mediation_id", sa.String(80), primary_key=True),
        sa.Column("task_id", sa.String(80), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("assignee", sa.String(64), nullable=False),
        sa.Column("assigned_by", sa.String(64), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("due_on", sa.String(10)),
        sa.Column("findings", sa.Text),
        sa.Column("attachments", sa.JSON),
        sa.Column("reported_on", sa.String(10)),
    )
    op.create_table(
        "mediation_signatures",
        sa.Column("mediation_id", sa.String(80), primary_key=True),
        sa.Column("party_jurisdiction", sa.String(64), primary_key=True),
        sa.Column("terms_digest", sa.String(64), primary_key=True),
        sa.Column("signer", sa.JSON, nullable=False),
        sa.Column("signer_role", sa.String(16), nullable=False),
        sa.Column("signed_at", sa.String(24), nullable=False),
    )
    op.create_table(
        "mediation_timeline",
        sa.Column("mediation_id", sa.String(80), primary_key=True),
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("time", sa.String(24), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("mediation_timeline", "mediation_signatures", "mediation_tasks"):
        op.drop_table(table)
    op.drop_index("ix_mediations_dispute_id", "mediations")
    op.drop_table("mediations")
