"""The report tables (migration 0006): reports, each side's figures, the cosignatures."""

from sqlalchemy import JSON, Column, DateTime, String, Table

from services.store.tables import metadata

reports = Table(
    "reports",
    metadata,
    Column("report_id", String(80), primary_key=True),
    Column("agreement_id", String(64), nullable=False),
    Column("period", String(7), nullable=False),
    Column("proposed_by", String(64), nullable=False),
    Column("partner", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("figures_digest", String(64), nullable=False),  # of the proposed figures
    Column("correlation", String(36), nullable=False),
    Column("last_event_id", String(36), nullable=False),
    Column("proposed_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

report_figures = Table(
    "report_figures",
    metadata,
    Column("report_id", String(80), primary_key=True),
    Column("counted_by", String(64), primary_key=True),  # whose own store they come from
    Column("figures", JSON, nullable=False),
    Column("figures_digest", String(64), nullable=False),
    Column("counted_at", DateTime(timezone=True), nullable=False),
)

report_signatures = Table(
    "report_signatures",
    metadata,
    Column("report_id", String(80), primary_key=True),
    Column("signed_by", String(64), primary_key=True),
    Column("figures_digest", String(64), nullable=False),
    Column("differences_acknowledged", JSON, nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("signed_at", String(24), nullable=False),  # the envelope's time, as signed
)
