"""This node's private keys, read from its key directory (written by `fengqiao keys new`)."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from contracts.keys import key_id, public_raw, read_encryption_key, read_signing_key
from services.bus.compose import Signer

Key = TypeVar("Key")


class KeysMissing(Exception):
    """The node's key directory lacks a key it needs."""


class KeysUnreadable(ValueError):
    """A key file that is there but cannot be read as the key it must hold; says which, why."""


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
    signing = read_key_file(signing_path, read_signing_key)
    kid = key_id(jurisdiction, "sig", public_raw(signing))
    encryption = {}
    for path in enc_paths:
        key = read_key_file(path, read_encryption_key)
        encryption[key_id(jurisdiction, "enc", public_raw(key))] = key
    return Keyring(Signer(jurisdiction, kid, signing), encryption)


def read_key_file(path: Path, read: Callable[[Path], Key]) -> Key:
    """`read(path)`, or KeysUnreadable in one line saying what is wrong with the file."""
    try:
        return read(path)
    except OSError as exc:
        raise KeysUnreadable(f"{path}: {exc.strerror or exc}") from None
    except TypeError:
        raise KeysUnreadable(
            f"{path}: the key is encrypted; fengqiao reads unencrypted PKCS#8 PEM"
        ) from None
    except ValueError as exc:
        mine = str(exc).startswith(str(path))  # our own message already names the file
        raise KeysUnreadable(
            str(exc) if mine else f"{path}: not a PKCS#8 PEM private key"
        ) from None
