"""The partners the owner shared each dispute with after reporting it, and when: a pair's
semiannual report counts a dispute from the moment it reached the partner, as the partner's
own store does.

Disputes shared before this migration are filled in from the owner's outbox: the
`dispute.reported` envelopes that are in the dispute's timeline and do not start its case
thread (the report's first envelope does; the report's envelopes to its other recipients are not
in the timeline).

Revision ID: 0011
Revises: 0002
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0002"
branch_labels = None
depends_on = "0007"  # outbox.sent_at


def upgrade() -> None:
    op.create_table(
        "dispute_shares",
        sa.Column("dispute_id", sa.String(80), primary_key=True),
        sa.Column("partner", sa.String(64), primary_key=True),
        sa.Column("shared_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute(
        "INSERT INTO dispute_shares (dispute_id, partner, shared_at) "
        "SELECT o.subject, o.recipient, o.sent_at FROM outbox o "
        "JOIN dispute_timeline t ON t.event_id = o.event_id AND t.dispute_id = o.subject "
        "WHERE o.type = 'dispute.reported' AND o.event_id <> o.correlation"
    )


def downgrade() -> None:
    op.drop_table("dispute_shares")
