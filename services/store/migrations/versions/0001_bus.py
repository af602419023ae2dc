"""The bus: outbound and inbound streams, outbox, inbox, held envelopes, quarantine.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outbound_streams",
        sa.Column("recipient", sa.String(64), primary_key=True),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("head", sa.String(64), nullable=False),
        sa.Column("delivered_seq", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("correlation", sa.String(36), nullable=False),
        sa.Column("chain_hash", sa.String(64), nullable=False),
        sa.Column("envelope", sa.LargeBinary, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("published_at", TS),
        sa.Column("delivered_at", TS),
        sa.UniqueConstraint("recipient", "seq"),
    )
    op.create_index("outbox_pending", "outbox", ["status", "recipient", "seq"])
    op.create_table(
        "inbound_streams",
        sa.Column("sender", sa.String(64), primary_key=True),
        sa.Column("applied_seq", sa.BigInteger, nullable=False),
        sa.Column("head", sa.String(64), nullable=False),
        sa.Column("receipted_seq", sa.BigInteger, nullable=False),
        sa.Column("unreceipted", sa.Integer, nullable=False),
    )
    op.create_table(
        "inbox",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("sender", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("correlation", sa.String(36), nullable=False),
        sa.Column("chain_hash", sa.String(64), nullable=False),
        sa.Column("envelope", sa.LargeBinary, nullable=False),
        sa.Column("stream_seq", sa.BigInteger),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("applied_at", TS, nullable=False),
        sa.UniqueConstraint("sender", "seq"),
    )
    op.create_table(
        "held",
        sa.Column("sender", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True),
        sa.Column("envelope", sa.LargeBinary, nullable=False),
        sa.Column("received_at", TS, nullable=False),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("sender", sa.String(64)),
        sa.Column("event_id", sa.String(36)),
        sa.Column("stream_seq", sa.BigInteger),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
    )
    op.create_index("quarantine_status", "quarantine", ["status"])


def downgrade() -> None:
    for table in ("quarantine", "held", "inbox", "inbound_streams", "outbox", "outbound_streams"):
        op.drop_table(table)
