"""Event contracts: one pydantic model per event type and version."""
