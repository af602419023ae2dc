"""The X25519 secrets behind sealed personal fields, agreed once for the envelopes that share them.

A sender composing several envelopes to one recipient in one transaction seals them all with one
ephemeral key (`SealingKeys`), at most MAX_ENVELOPES_PER_KEY of them; the per-envelope AES keys
still differ, by the HKDF salt (the event id). A receiver keeps the latest secrets it agreed,
by (`pdkid`, `pdepk`), so that such a batch costs it one X25519 exchange (`SharedSecrets`).
"""

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from contracts.canonical import b64decode, b64encode
from contracts.errors import DecryptionFailed
from contracts.keys import public_raw

MAX_ENVELOPES_PER_KEY = 1024
SHARED_SECRETS_KEPT = 1024


@dataclass(frozen=True)
class SealingKey:
    """An ephemeral X25519 key agreed with one recipient key: its `pdepk` and the shared secret."""

    pdepk: str
    shared: bytes

    @classmethod
    def agree(cls, ephemeral: X25519PrivateKey, recipient: X25519PublicKey) -> "SealingKey":
        """The sealing key of `ephemeral` for `recipient` (the private half is not kept)."""
        return cls(b64encode(public_raw(ephemeral)), ephemeral.exchange(recipient))


@dataclass
class SealingKeys:
    """The ephemeral keys of envelopes composed together: one per recipient key, a new one
    after every `limit` envelopes. A SealingKeys per envelope gives each its own key."""

    limit: int = MAX_ENVELOPES_PER_KEY
    _in_use: dict[bytes, tuple[SealingKey, int]] = field(default_factory=dict, init=False)

    def take(self, recipient: X25519PublicKey) -> SealingKey:
        """The sealing key for one more envelope to `recipient`."""
        raw = recipient.public_bytes_raw()
        key, uses = self._in_use.get(raw, (None, self.limit))
        if key is None or uses >= self.limit:
            key, uses = SealingKey.agree(X25519PrivateKey.generate(), recipient), 0
        self._in_use[raw] = (key, uses + 1)
        return key


def agree(own: X25519PrivateKey, pdepk: str) -> bytes:
    """The secret `own` agrees with a sender's ephemeral key `pdepk`; DecryptionFailed if none."""
    try:
        return own.exchange(X25519PublicKey.from_public_bytes(b64decode(pdepk)))
    except ValueError as exc:
        raise DecryptionFailed(f"pdepk is not an X25519 public key: {exc}") from exc


class SharedSecrets:
    """The secrets agreed with senders' ephemeral keys, by (`pdkid`, `pdepk`), the latest `size`.

    One per set of private keys (a Verifier's): the key id names the private key. Pickled, it
    arrives empty: secrets never travel, each process agrees its own.
    """

    def __init__(self, size: int = SHARED_SECRETS_KEPT) -> None:
        self.size = size
        self._secrets: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def agree(self, pdkid: str, pdepk: str, own: X25519PrivateKey) -> bytes:
        """X25519(`own`, `pdepk`), from the cache when this pdepk was met lately."""
        ident = (pdkid, pdepk)
        with self._lock:
            shared = self._secrets.get(ident)
            if shared is not None:
                self._secrets.move_to_end(ident)
                return shared
        shared = agree(own, pdepk)
        with self._lock:
            self._secrets[ident] = shared
            while len(self._secrets) > self.size:
                self._secrets.popitem(last=False)
        return shared

    def __len__(self) -> int:
        return len(self._secrets)

    def __reduce__(self) -> tuple[Any, ...]:
        return SharedSecrets, (self.size,)
