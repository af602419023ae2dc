"""The registry flow's tables (migrations 0004 and 0008 create them, 0010 widens the
applicant's phone; this is their shape)."""

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from services.store.tables import metadata

registry_requests = Table(
    "registry_requests",
    metadata,
    Column("request_id", String(80), primary_key=True),
    Column("originator", String(64), nullable=False),  # the requesting window's jurisdiction
    Column("home", String(64), nullable=False),  # the applicant's home registry
    Column("state", String(24), nullable=False),
    Column("handling", String(2), nullable=False),
    Column("service_code", String(64), nullable=False),
    Column("time_limit_days", Integer, nullable=False),
    Column("delivery", String(16), nullable=False),  # how the applicant wants the result
    Column("applicant_name", String(100), nullable=False),
    Column("applicant_home", String(64), nullable=False),
    Column("applicant_id_number", String(18)),
    Column("applicant_phone", String(21)),  # "+" and 20: the contract's Person
    Column("applicant_address", String(300)),
    Column("window_name", String(200), nullable=False),
    Column("responsible_clerk", String(100), nullable=False),
    Column("handling_clerk", String(100)),
    Column("note", Text),
    Column("filed_on", Date, nullable=False),
    Column("accepted_on", Date),
    Column("due_on", Date),
    Column("completed_on", Date),
    Column("rejected_on", Date),
    Column("result_reference", String(100)),
    Column("result_delivery", String(16)),
    Column("tracking_number", String(100)),
    Column("rejection_reason", Text),
    Column("first_event_id", String(36), nullable=False),
    Column("last_event_id", String(36), nullable=False),  # applied last here: next causation
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
Index("registry_requests_state_due", registry_requests.c.state, registry_requests.c.due_on)

registry_files = Table(
    "registry_files",
    metadata,
    Column("request_id", String(80), primary_key=True),
    Column("sha256", String(64), primary_key=True),
    Column("name", String(200), primary_key=True),  # the material's catalogue code
    Column("size_bytes", Integer, nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("supplied_on", Date, nullable=False),
)

registry_owed = Table(
    "registry_owed",
    metadata,
    Column("request_id", String(80), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("since_event_id", String(36), primary_key=True),  # the promise or the request
    Column("basis", String(16), nullable=False),  # promised | requested
    # The asking event's seq in the home -> window stream (0 for a promise): a supply settles
    # only what its window had seen, so the order the two nodes apply crossing steps in is moot.
    Column("since_seq", BigInteger, nullable=False),
    Column("due_on", Date),
    Column("reason", Text),
    Column("settled_event_id", String(36)),
    Column("settled_on", Date),
)
Index("registry_owed_open", registry_owed.c.settled_event_id, registry_owed.c.due_on)

registry_timeline = Table(
    "registry_timeline",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("request_id", String(80), nullable=False),
    Column("type", String(64), nullable=False),
    Column("time", String(24), nullable=False),  # the envelope's time, as signed
    Column("source", String(64), nullable=False),
    Column("seq", BigInteger, nullable=False),  # in its sender -> recipient stream
    Column("causation", String(36)),
    # The newest home registry event (by its seq) the sender had applied when it sent this one.
    Column("home_seen", BigInteger, nullable=False),
    Column("summary", String(200), nullable=False),
)
Index("registry_timeline_request", registry_timeline.c.request_id, registry_timeline.c.time)

registry_material_chunks = Table(
    "registry_material_chunks",
    metadata,
    Column("request_id", String(80), primary_key=True),
    Column("sha256", String(64), primary_key=True),  # of the whole plain file
    Column("chunk_index", Integer, primary_key=True),
    Column("chunk_count", Integer, nullable=False),
    Column("content", LargeBinary, nullable=False),  # the chunk's plain bytes
    Column("event_id", String(36), nullable=False),
)

registry_material_uploads = Table(
    "registry_material_uploads",
    metadata,
    # A row only once every chunk is in and the bytes hash to `sha256`: the file is served.
    Column("request_id", String(80), primary_key=True),
    Column("sha256", String(64), primary_key=True),
    Column("material", String(200), nullable=False),
    Column("file_name", String(200), nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("chunk_count", Integer, nullable=False),
    Column("event_id", String(36), nullable=False),  # the last chunk's
    Column("received_at", DateTime(timezone=True), nullable=False),
)
