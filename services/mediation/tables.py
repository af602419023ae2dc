"""The linked-mediation tables (migrations 0003, 0012): cases, tasks, proposals, signatures,
timeline."""

from sqlalchemy import JSON, Column, DateTime, Integer, String, Table, Text

from services.store.tables import metadata

mediations = Table(
    "mediations",
    metadata,
    Column("mediation_id", String(80), primary_key=True),
    Column("dispute_id", String(80), nullable=False, index=True),
    Column("state", String(16), nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("partner", String(64), nullable=False),
    Column("dispute_owner", String(64), nullable=False),
    Column("mediator", JSON, nullable=False),
    Column("parties", JSON, nullable=False),
    Column("category", String(32), nullable=False),
    Column("risk", String(16), nullable=False),
    Column("summary", Text, nullable=False),
    Column("requested_part", Text, nullable=False),
    Column("reply_by", String(10)),
    Column("officer", JSON),
    Column("answer_note", Text),  # the accepting side's note, or the reason it declined
    Column("outcome", JSON),
    Column("terms_digest", String(64)),
    Column("proposed_by", String(64)),
    Column("closure", String(32)),
    Column("closed_on", String(10)),
    Column("close_note", Text),
    Column("handling", String(2), nullable=False),
    Column("correlation", String(36), nullable=False),
    Column("last_event_id", String(36), nullable=False),
    Column("proposal_id", String(36)),  # the event of the proposal in force (migration 0012)
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

mediation_tasks = Table(
    "mediation_tasks",
    metadata,
    Column("mediation_id", String(80), primary_key=True),
    Column("task_id", String(80), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("assignee", String(64), nullable=False),
    Column("assigned_by", String(64), nullable=False),
    Column("description", Text, nullable=False),
    Column("due_on", String(10)),
    Column("findings", Text),
    Column("attachments", JSON),
    Column("reported_on", String(10)),
    Column("assigned_event", String(36)),  # the tasks' order on both sides (migration 0012)
)

mediation_proposals = Table(
    "mediation_proposals",
    metadata,
    Column("mediation_id", String(80), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("proposed_by", String(64), nullable=False),
    Column("terms_digest", String(64), nullable=False),
    Column("outcome", JSON, nullable=False),
    Column("mediator", JSON, nullable=False),
)

mediation_signatures = Table(
    "mediation_signatures",
    metadata,
    Column("mediation_id", String(80), primary_key=True),
    Column("party_jurisdiction", String(64), primary_key=True),
    Column("terms_digest", String(64), primary_key=True),
    Column("signer", JSON, nullable=False),
    Column("signer_role", String(16), nullable=False),
    Column("signed_at", String(24), nullable=False),
)

mediation_timeline = Table(
    "mediation_timeline",
    metadata,
    Column("mediation_id", String(80), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("type", String(64), nullable=False),
    Column("time", String(24), nullable=False),
    Column("source", String(64), nullable=False),
    Column("summary", Text, nullable=False),
)
