"""Each outbox and inbox row keeps its envelope's `time` (sent_at), indexed per stream, so
that a stream's chain head at an instant is found by the index without reading envelopes.

Existing rows are filled from their stored envelope's `time` (RFC 3339 UTC, milliseconds).

Revision ID: 0007
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0001"
branch_labels = None
depends_on = None

STREAMS = {"outbox": "recipient", "inbox": "sender"}

# SQLite keeps a DateTime as "YYYY-MM-DD HH:MM:SS.ffffff" (UTC here); an envelope's time is
# "YYYY-MM-DDTHH:MM:SS.mmmZ".
SENT_AT = {
    "sqlite": "replace(substr(json_extract(CAST(envelope AS TEXT), '$.time'), 1, 23), 'T', ' ')"
    " || '000'",
    "postgresql": "(convert_from(envelope, 'UTF8')::json ->> 'time')::timestamptz",
}


def upgrade() -> None:
    sent_at = SENT_AT[op.get_bind().dialect.name]
    for table, stream in STREAMS.items():
        op.add_column(table, sa.Column("sent_at", sa.DateTime(timezone=True)))
        op.execute(f"UPDATE {table} SET sent_at = {sent_at}")
        with op.batch_alter_table(table) as batch:
            batch.alter_column("sent_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        op.create_index(f"{table}_sent", table, [stream, "sent_at", "seq"])


def downgrade() -> None:
    for table in STREAMS:
        op.drop_index(f"{table}_sent", table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("sent_at")
