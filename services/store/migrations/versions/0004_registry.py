"""Registry proxy requests: requests, material files, materials owed, timeline.

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = ("registry",)
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "registry_requests",
        sa.Column("request_id", sa.String(80), primary_key=True),
        sa.Column("originator", sa.String(64), nullable=False),
        sa.Column("home", sa.String(64), nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("handling", sa.String(2), nullable=False),
        sa.Column("service_code", sa.String(64), nullable=False),
        sa.Column("time_limit_days", sa.Integer, nullable=False),
        sa.Column("delivery", sa.String(16), nullable=False),
        sa.Column("applicant_name", sa.String(100), nullable=False),
        sa.Column("applicant_home", sa.String(64), nullable=False),
        sa.Column("applicant_id_number", sa.String(18)),
        sa.Column("applicant_phone", sa.String(20)),
        sa.Column("applicant_address", sa.String(300)),
        sa.Column("window_name", sa.String(200), nullable=False),
        sa.Column("responsible_clerk", sa.String(100), nullable=False),
        sa.Column("handling_clerk", sa.String(100)),
        sa.Column("note", sa.Text),
        sa.Column("filed_on", sa.Date, nullable=False),
        sa.Column("accepted_on", sa.Date),
        sa.Column("due_on", sa.Date),
        sa.Column("completed_on", sa.Date),
        sa.Column("rejected_on", sa.Date),
        sa.Column("result_reference", sa.String(100)),
        sa.Column("result_delivery", sa.String(16)),
        sa.Column("tracking_number", sa.String(100)),
        sa.Column("rejection_reason", sa.Text),
        sa.Column("first_event_id", sa.String(36), nullable=False),
        sa.Column("last_event_id", sa.String(36), nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("registry_requests_state_due", "registry_requests", ["state", "due_on"])
    op.create_table(
        "registry_files",
        sa.Column("request_id", sa.String(80), primary_key=True),
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("supplied_on", sa.Date, nullable=False),
    )
    op.create_table(
        "registry_owed",
        sa.Column("request_id", sa.String(80), primary_key=True),
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("since_event_id", sa.String(36), primary_key=True),
        sa.Column("basis", sa.String(16), nullable=False),
        sa.Column("since_seq", sa.BigInteger, nullable=False),
        sa.Column("due_on", sa.Date),
        sa.Column("reason", sa.Text),
        sa.Column("settled_event_id", sa.String(36)),
        sa.Column("settled_on", sa.Date),
    )
    op.create_index("registry_owed_open", "registry_owed", ["settled_event_id", "due_on"])
    op.create_table(
        "registry_timeline",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("request_id", sa.String(80), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("time", sa.String(24), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("causation", sa.String(36)),
        sa.Column("home_seen", sa.BigInteger, nullable=False),
        sa.Column("summary", sa.String(200), nullable=False),
    )
    op.create_index("registry_timeline_request", "registry_timeline", ["request_id", "time"])


def downgrade() -> None:
    for index, table in (
        ("registry_timeline_request", "registry_timeline"),
        ("registry_owed_open", "registry_owed"),
        ("registry_requests_state_due", "registry_requests"),
    ):
        op.drop_index(index, table_name=table)
    for table in ("registry_timeline", "registry_owed", "registry_files", "registry_requests"):
        op.drop_table(table)
