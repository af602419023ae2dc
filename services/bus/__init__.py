"""The bus core: envelopes, signatures, personal-data sealing, verification, outbox, inbox."""
