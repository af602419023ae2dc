"""Material files (申请材料): a content-addressed store, and files sealed for the recipient.

Events carry only each file's name, SHA-256 and size; the bytes are kept under
`<data_dir>/materials/<sha256>` and travel sealed to the recipient's X25519 key: one ephemeral
key per file, HKDF-SHA256, AES-256-GCM with the associated data `<request id>|<sha256>`, so a
sealed file opens only for its own request and digest. Sealed form (docs/registry.md):
`b"fqm1" || ephemeral public key (32) || nonce (12) || ciphertext and tag`.
"""

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from contracts.keys import public_raw, x25519_public

MAGIC = b"fqm1"
INFO = b"fengqiao material v1"
_KEY, _NONCE = 32, 12
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class MaterialError(Exception):
    """A material file that cannot be stored, found, or opened."""


class NotADigest(MaterialError):
    """A name that is not 64 lower-case hex digits (it would not be a path in the store)."""


class MaterialMissing(MaterialError):
    """The store has no file with this digest (its sealed bytes have not arrived yet)."""


class MaterialCorrupt(MaterialError):
    """A stored file no longer hashes to its name."""


class MaterialSealBroken(MaterialError):
    """Sealed bytes that do not open: tampered, another key, another request or digest."""


class MaterialDigestMismatch(MaterialError):
    """Sealed bytes that open but do not hash to the digest the event names."""


def material_digest(content: bytes) -> str:
    """SHA-256 of a file, 64 lower-case hex digits: its name in events and in the store."""
    return hashlib.sha256(content).hexdigest()


@dataclass(frozen=True)
class MaterialStore:
    """Files by digest under one directory, written atomically, readable by the node only."""

    directory: Path

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> "MaterialStore":
        """The store of a node whose data directory is `data_dir`."""
        return cls(data_dir / "materials")

    def path(self, sha256: str) -> Path:
        """Where the file with `sha256` lives."""
        if not _DIGEST.match(sha256):
            raise NotADigest(f"{sha256[:80]!r} is not a SHA-256 hex digest")
        return self.directory / sha256

    def put(self, content: bytes) -> str:
        """Keep `content` under its digest (once) and return the digest."""
        sha256 = material_digest(content)
        target = self.path(sha256)
        if target.exists():
            return sha256
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Write beside the target and rename: a reader never sees half a file.
        fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return sha256

    def get(self, sha256: str) -> bytes:
        """The file with `sha256`; raises MaterialMissing or MaterialCorrupt."""
        try:
            content = self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise MaterialMissing(f"no material {sha256} in {self.directory}") from None
        if material_digest(content) != sha256:
            raise MaterialCorrupt(f"material {sha256} in {self.directory} is corrupt")
        return content

    def has(self, sha256: str) -> bool:
        """Whether the file with `sha256` is here."""
        return self.path(sha256).is_file()


def seal_material(content: bytes, request_id: str, recipient: X25519PublicKey) -> bytes:
    """Encrypt a material file of `request_id` for the holder of `recipient`'s private key."""
    return _seal(content, request_id, material_digest(content), recipient)


def open_material(sealed: bytes, request_id: str, sha256: str, own: X25519PrivateKey) -> bytes:
    """Decrypt a sealed material file and check it is the file `sha256` of `request_id`."""
    if len(sealed) < len(MAGIC) + _KEY + _NONCE + 16 or not sealed.startswith(MAGIC):
        raise MaterialSealBroken("not a sealed material file")
    rest = sealed[len(MAGIC) :]
    ephemeral, nonce, ciphertext = rest[:_KEY], rest[_KEY : _KEY + _NONCE], rest[_KEY + _NONCE :]
    try:
        aes = _content_key(own.exchange(x25519_public(ephemeral)), ephemeral, own.public_key())
        content = aes.decrypt(nonce, ciphertext, _aad(request_id, sha256))
    except (InvalidTag, ValueError) as exc:
        raise MaterialSealBroken(f"material {sha256} of {request_id} does not open") from exc
    if material_digest(content) != sha256:
        raise MaterialDigestMismatch(f"material of {request_id} does not hash to {sha256}")
    return content


def _seal(content: bytes, request_id: str, sha256: str, recipient: X25519PublicKey) -> bytes:
    """seal_material with the digest given: lets a test seal bytes under a digest they lack."""
    ephemeral = X25519PrivateKey.generate()
    ephemeral_raw = public_raw(ephemeral)
    aes = _content_key(ephemeral.exchange(recipient), ephemeral_raw, recipient)
    nonce = os.urandom(_NONCE)
    return MAGIC + ephemeral_raw + nonce + aes.encrypt(nonce, content, _aad(request_id, sha256))


def _content_key(shared: bytes, ephemeral_raw: bytes, recipient: X25519PublicKey) -> AESGCM:
    # Both public keys in the salt bind the key to this exchange (as ECIES-KEM does).
    recipient_raw = recipient.public_bytes_raw()
    salt = ephemeral_raw + recipient_raw
    key = HKDF(algorithm=hashes.SHA256(), length=_KEY, salt=salt, info=INFO).derive(shared)
    return AESGCM(key)


def _aad(request_id: str, sha256: str) -> bytes:
    return f"{request_id}|{sha256}".encode()
