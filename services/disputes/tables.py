"""The dispute tables (migration 0002): one row per dispute, and its timeline; the partners
each dispute was shared with later (0011)."""

from sqlalchemy import JSON, BigInteger, Column, DateTime, Integer, String, Table, Text

from services.store.tables import metadata

disputes = Table(
    "disputes",
    metadata,
    Column("dispute_id", String(80), primary_key=True),
    Column("originator", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("category", String(32), nullable=False),
    Column("risk", String(16), nullable=False),
    Column("level", Integer, nullable=False),
    Column("lead_source", String(32), nullable=False),
    Column("place", String(300), nullable=False),
    Column("parties", JSON, nullable=False),  # as received: personal data stays on this node
    Column("party_jurisdictions", JSON, nullable=False),
    Column("holders", JSON, nullable=False),  # every jurisdiction known to hold the dispute
    Column("narrative", Text, nullable=False),
    Column("occurred_on", String(10), nullable=False),
    Column("handling", String(2), nullable=False),
    Column("correlation", String(36), nullable=False),
    Column("last_event_id", String(36), nullable=False),
    Column("outcome", String(32)),
    Column("terms", JSON),
    Column("compensation_fen", BigInteger),
    Column("mediator", JSON),
    Column("mediation_id", String(80)),
    Column("resolved_on", String(10)),
    Column("closure", String(32)),
    Column("closed_on", String(10)),
    Column("reported_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

dispute_timeline = Table(
    "dispute_timeline",
    metadata,
    Column("dispute_id", String(80), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("type", String(64), nullable=False),
    Column("time", String(24), nullable=False),
    Column("source", String(64), nullable=False),
    Column("summary", Text, nullable=False),
)

dispute_shares = Table(
    "dispute_shares",
    metadata,
    Column("dispute_id", String(80), primary_key=True),
    Column("partner", String(64), primary_key=True),
    Column("shared_at", DateTime(timezone=True), nullable=False),  # the share's envelope time
)
"""The owner's record of each partner it shared a dispute with after reporting it (migration
0011): the partner holds the dispute from then, and the two count it in their report from then."""
