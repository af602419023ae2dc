"""The bus tables. Migrations (services/store/migrations) create them; this is their shape."""

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

outbound_streams = Table(
    "outbound_streams",
    metadata,
    Column("recipient", String(64), primary_key=True),
    Column("last_seq", BigInteger, nullable=False),
    Column("head", String(64), nullable=False),
    Column("delivered_seq", BigInteger, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("recipient", String(64), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("type", String(64), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("correlation", String(36), nullable=False),
    Column("chain_hash", String(64), nullable=False),
    Column("envelope", LargeBinary, nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False),  # the envelope's time
    Column("status", String(16), nullable=False),  # pending | published | delivered
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("published_at", DateTime(timezone=True)),
    Column("delivered_at", DateTime(timezone=True)),
    UniqueConstraint("recipient", "seq"),
)
Index("outbox_pending", outbox.c.status, outbox.c.recipient, outbox.c.seq)
Index("outbox_sent", outbox.c.recipient, outbox.c.sent_at, outbox.c.seq)

inbound_streams = Table(
    "inbound_streams",
    metadata,
    Column("sender", String(64), primary_key=True),
    Column("applied_seq", BigInteger, nullable=False),
    Column("head", String(64), nullable=False),
    Column("receipted_seq", BigInteger, nullable=False),
    Column("unreceipted", Integer, nullable=False),
)

inbox = Table(
    "inbox",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("sender", String(64), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("type", String(64), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("correlation", String(36), nullable=False),
    Column("chain_hash", String(64), nullable=False),
    Column("envelope", LargeBinary, nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False),  # the envelope's time
    Column("stream_seq", BigInteger),
    Column("status", String(16), nullable=False),  # applied | quarantined
    Column("applied_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("sender", "seq"),
)
Index("inbox_sent", inbox.c.sender, inbox.c.sent_at, inbox.c.seq)

held = Table(
    "held",
    metadata,
    Column("sender", String(64), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("envelope", LargeBinary, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("reason", String(40), nullable=False),
    Column("detail", Text, nullable=False),
    Column("sender", String(64)),
    Column("event_id", String(36)),
    Column("stream_seq", BigInteger),
    Column("raw", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),  # held | redriven | discarded
)
Index("quarantine_status", quarantine.c.status)
