"""The X25519 secret behind an envelope's sealed personal fields."""

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from contracts.canonical import b64decode, b64encode
from contracts.errors import DecryptionFailed
from contracts.keys import public_raw


@dataclass(frozen=True)
class SealingKey:
    """An ephemeral X25519 key agreed with one recipient key: its `pdepk` and the shared secret."""

    pdepk: str
    shared: bytes

    @classmethod
    def agree(cls, ephemeral: X25519PrivateKey, recipient: X25519PublicKey) -> "SealingKey":
        """The sealing key of `ephemeral` for `recipient` (the private half is not kept)."""
        return cls(b64encode(public_raw(ephemeral)), ephemeral.exchange(recipient))


def agree(own: X25519PrivateKey, pdepk: str) -> bytes:
    """The secret `own` agrees with a sender's ephemeral key `pdepk`; DecryptionFailed if none."""
    try:
        return own.exchange(X25519PublicKey.from_public_bytes(b64decode(pdepk)))
    except ValueError as exc:
        raise DecryptionFailed(f"pdepk is not an X25519 public key: {exc}") from exc
