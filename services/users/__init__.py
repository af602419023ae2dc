"""The node's users: who may call its API, with which role, and who read which personal data."""
