"""The node: bus core, the cooperation flows and the store. Never imports FastAPI."""
