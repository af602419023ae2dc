"""The node's store: SQLAlchemy 2 (async) over SQLite (embedded default) or PostgreSQL."""
