"""Dispute cases exchanged between bureaus (矛盾纠纷): model, commands, handlers, queries."""
