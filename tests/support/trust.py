"""Parties with fresh keys and agreements signed by all of them, for tests."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from contracts.agreement import LoadedAgreement, parse_agreement, signing_bytes
from contracts.canonical import b64encode
from contracts.keys import key_id, public_raw, sign
from services.bus.compose import Signer

VALID_FROM = "2022-01-01T00:00:00Z"
VALID_UNTIL = "2031-01-01T00:00:00Z"
NOW = datetime(2026, 5, 20, 10, 30, tzinfo=UTC)


@dataclass(frozen=True)
class FormerKey:
    """A signing key a bureau used before its current one, with its own terms in the agreement
    (`valid_from`, `valid_until`, `revoked_at`: the agreement file's strings)."""

    key: Ed25519PrivateKey
    terms: dict[str, Any]


@dataclass
class Bureau:
    id: str
    zh: str = "测试"
    sig: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    enc: X25519PrivateKey = field(default_factory=X25519PrivateKey.generate)
    key_overrides: dict[str, Any] = field(default_factory=dict)
    former: list[FormerKey] = field(default_factory=list)

    @property
    def sig_kid(self) -> str:
        return key_id(self.id, "sig", public_raw(self.sig))

    @property
    def enc_kid(self) -> str:
        return key_id(self.id, "enc", public_raw(self.enc))

    @property
    def signer(self) -> Signer:
        return Signer(jurisdiction=self.id, kid=self.sig_kid, key=self.sig)

    def former_signer(self, index: int = 0) -> Signer:
        """A signer with one of the bureau's former signing keys."""
        key = self.former[index].key
        return Signer(jurisdiction=self.id, kid=key_id(self.id, "sig", public_raw(key)), key=key)

    def document(self) -> dict[str, Any]:
        def key(kid: str, use: str, raw: bytes) -> dict[str, Any]:
            entry = {"kid": kid, "use": use, "public": b64encode(raw)}
            entry |= {"valid_from": VALID_FROM, "valid_until": VALID_UNTIL}
            return entry | self.key_overrides.get(use, {})

        return {
            "id": self.id,
            "name": {"zh": self.zh, "en": self.id},
            "keys": [
                key(self.sig_kid, "sig", public_raw(self.sig)),
                key(self.enc_kid, "enc", public_raw(self.enc)),
            ]
            + [_former_entry(self.id, f) for f in self.former],
        }


def _former_entry(jurisdiction: str, former: FormerKey) -> dict[str, Any]:
    raw = public_raw(former.key)
    entry = {"kid": key_id(jurisdiction, "sig", raw), "use": "sig", "public": b64encode(raw)}
    return entry | {"valid_from": VALID_FROM, "valid_until": VALID_UNTIL} | former.terms


def agreement_document(
    parties: list[Bureau],
    flows: list[dict[str, Any]],
    personal_data: dict[str, list[str]] | None = None,
    agreement_id: str = "test-agreement",
    version: int = 1,
    batch_signing: int | None = None,
) -> dict[str, Any]:
    """An unsigned agreement document between `parties`; batches of up to `batch_signing`
    envelopes may share one signature when given."""
    batches = {} if batch_signing is None else {"batch_signing": {"max_envelopes": batch_signing}}
    return {
        "id": agreement_id,
        "version": version,
        "title": {"zh": "测试协议", "en": "Test agreement"},
        "effective_from": "2022-01-01",
        "effective_until": "2030-12-31",
        "retention_days": 1825,
        "parties": [p.document() for p in parties],
        "categories": [
            {
                "id": "all",
                "name": {"zh": "全部", "en": "All"},
                "items": [
                    {
                        "id": "all-1",
                        "name": {"zh": "全部", "en": "All"},
                        "event_types": [f["type"] for f in flows],
                    }
                ],
            }
        ],
        "flows": flows,
        "personal_data": personal_data or {},
    } | batches


def sign_document(document: dict[str, Any], signers: list[Bureau]) -> LoadedAgreement:
    """Add every signer's signature and parse the result."""
    message = signing_bytes(document)
    signed = document | {
        "signatures": [
            {"party": p.id, "kid": p.sig_kid, "signature": b64encode(sign(p.sig, message))}
            for p in signers
        ]
    }
    return parse_agreement(yaml.safe_dump(signed, allow_unicode=True, sort_keys=False))


def flow(
    event_type: str, parties: list[Bureau], handling: str = "H0", versions: list[int] | None = None
) -> dict[str, Any]:
    """A flow of `event_type` between every pair of `parties`."""
    ids = [p.id for p in parties]
    return {
        "type": event_type,
        "senders": ids,
        "recipients": ids,
        "versions": versions or [1],
        "handling": handling,
    }


SM2_KEY_PEM = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqBHM9VAYItBG0wawIBAQQgF/oXOz1qHLYpfNQ/
sVyFS8V+eHjszBSiUjbo/Ekv2oqhRANCAAQizqgNiVyarVXwZWCHntU5AmOxHKxZ
cUAaNMQT8nO24KqQF60uePIOCwdaEbjc2UERORGNEcM1cD5ROav4GZLN
-----END PRIVATE KEY-----
"""
"""An SM2 private key (GB/T 32918, a test key), as a bureau's other systems may hold: PKCS#8
PEM of an algorithm the cryptography package cannot load."""
