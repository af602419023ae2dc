"""This node's private keys, read from its key directory (written by `fengqiao keys new`)."""

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from contracts.keys import key_id, public_raw, read_encryption_key, read_signing_key
from services.bus.compose import Signer


class KeysMissing(Exception):
    """The node's key directory lacks a key it needs."""


@dataclass(frozen=True)
class Keyring:
    """The signing key, and every encryption key still able to open what partners sealed."""

    signer: Signer
    encryption: dict[str, X25519PrivateKey]


def load_keyring(directory: Path, jurisdiction: str) -> Keyring:
    """`<jurisdiction>.sig.pem`, `<jurisdiction>.enc.pem` and older `<jurisdiction>.enc.*.pem`."""
    signing_path = directory / f"{jurisdiction}.sig.pem"
    enc_paths = sorted(directory.glob(f"{jurisdiction}.enc*.pem"))
    if not signing_path.exists() or not enc_paths:
        raise KeysMissing(
            f"no keys for {jurisdiction} in {directory}: create them with "
            f"`fengqiao keys new --jurisdiction {jurisdiction} --dir {directory}`"
        )
    signing = read_signing_key(signing_path)
    kid = key_id(jurisdiction, "sig", public_raw(signing))
    encryption = {}
    for path in enc_paths:
        key = read_encryption_key(path)
        encryption[key_id(jurisdiction, "enc", public_raw(key))] = key
    return Keyring(Signer(jurisdiction, kid, signing), encryption)
