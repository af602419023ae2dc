"""Registry material files: the chunks of each uploaded file, and the files whole and checked.

Revision ID: 0008
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registry_material_chunks",
        sa.Column("request_id", sa.String(80), primary_key=True),
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("chunk_index", sa.Integer, primary_key=True),
        sa.Column("chunk_count", sa.Integer, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
    )
    op.create_table(
        "registry_material_uploads",
        sa.Column("request_id", sa.String(80), primary_key=True),
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("material", sa.String(200), nullable=False),
        sa.Column("file_name", sa.String(200), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("chunk_count", sa.Integer, nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("registry_material_uploads")
    op.drop_table("registry_material_chunks")
