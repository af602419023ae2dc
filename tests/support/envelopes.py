"""The seed dispute between Dalang and Qianfeng as signed envelopes, and ways to bend them."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts.agreement import AgreementBook, LoadedAgreement
from contracts.canonical import b64encode, canonical_bytes
from contracts.events.disputes import DisputeReportedV1
from contracts.keys import sign
from contracts.registry import ContractRegistry
from services.bus.compose import Addressing, compose, draft
from services.bus.envelope import GENESIS, Envelope, Unsigned, seal_batch, signing_bytes
from services.bus.sealing_keys import SealingKeys
from services.bus.verification import StreamPosition, VerifiedEvent, Verifier
from tests.support.trust import NOW, Bureau, agreement_document, flow, sign_document

PERSONAL_FIELDS = ["parties[].id_number", "parties[].phone", "parties[].address"]
LAO_HUANG_ID = "511603196803120058"  # synthetic: region, birth date, sequence, ISO 7064 check
LAO_CHENG_ID = "511603197108250031"
ARRIVAL = NOW + timedelta(seconds=2)


def seed_dispute(**changes: Any) -> DisputeReportedV1:
    """Lao Huang and Lao Cheng's land quarrel turned fight, reported in Dalang (DOMAIN.md)."""
    data: dict[str, Any] = {
        "dispute_id": "DL-2022-0001",
        "reported_in": "dongguan-dalang",
        "category": "land",
        "risk": "medium",
        "source": "police_assistant",
        "place": "Xiangtou village, Dalang (巷头村)",
        "parties": [
            {
                "name": "老黄",
                "home_jurisdiction": "guangan-qianfeng",
                "id_number": LAO_HUANG_ID,
                "address": "广兴镇 Guangxing town",
            },
            {
                "name": "老程",
                "home_jurisdiction": "guangan-qianfeng",
                "id_number": LAO_CHENG_ID,
                "phone": "13800000002",
            },
        ],
        "narrative": "A quarrel over land at home at Spring Festival became a fight at work.",
        "occurred_on": "2022-02-10",
    }
    return DisputeReportedV1.model_validate(data | changes)


@dataclass
class Exchange:
    """Dalang and Qianfeng under one signed agreement carrying dispute.reported."""

    dalang: Bureau = field(default_factory=lambda: Bureau("dongguan-dalang", "大朗"))
    qianfeng: Bureau = field(default_factory=lambda: Bureau("guangan-qianfeng", "前锋"))
    flows: list[dict[str, Any]] | None = None
    personal: list[str] = field(default_factory=lambda: list(PERSONAL_FIELDS))
    batch_signing: int | None = None
    loaded: LoadedAgreement = field(init=False)

    def __post_init__(self) -> None:
        self.loaded = self.agreement()

    def agreement(self, version: int = 1, signers: list[Bureau] | None = None) -> LoadedAgreement:
        """The agreement between the two, signed by `signers` (both by default)."""
        parties = [self.dalang, self.qianfeng]
        flows = self.flows or [flow("dispute.reported", parties, handling="H2")]
        document = agreement_document(
            parties,
            flows,
            {"dispute.reported": self.personal},
            version=version,
            batch_signing=self.batch_signing,
        )
        return sign_document(document, parties if signers is None else signers)

    def envelope(
        self,
        seq: int = 1,
        prev: str = GENESIS,
        now: datetime = NOW,
        event: DisputeReportedV1 | None = None,
        reverse: bool = False,
    ) -> Envelope:
        """A signed dispute.reported from Dalang to Qianfeng (Qianfeng to Dalang if `reverse`)."""
        sender, recipient = (
            (self.qianfeng, self.dalang) if reverse else (self.dalang, self.qianfeng)
        )
        to = Addressing(recipient=recipient.id, subject="DL-2022-0001", seq=seq, prev=prev)
        return compose(self.loaded.agreement, sender.signer, event or seed_dispute(), to, now)

    def batch(self, count: int, first_seq: int = 1) -> list[Envelope]:
        """`count` disputes from Dalang to Qianfeng from seq `first_seq` on, composed as one
        enqueue_many composes them (one sealing key) and signed together (the agreement must
        provide for batches of `count`)."""
        agreement, signer, sealing = self.loaded.agreement, self.dalang.signer, SealingKeys()
        prev, batch = GENESIS, []
        for n in range(count):
            to = Addressing(
                recipient=self.qianfeng.id, subject=f"DL-{n}", seq=first_seq + n, prev=prev
            )
            event = seed_dispute(dispute_id=f"DL-2022-{n:04d}")
            unsigned = Unsigned.of(draft(agreement, signer, event, to, NOW, sealing=sealing))
            prev = unsigned.batch_chain_hash()
            batch.append(unsigned)
        return seal_batch(batch, signer.key)

    def verifier(
        self, me: Bureau | None = None, agreements: list[LoadedAgreement] | None = None
    ) -> Verifier:
        """A verifier at `me` (Qianfeng by default) knowing `agreements` (this one by default)."""
        me = me or self.qianfeng
        return Verifier(
            me=me.id,
            agreements=AgreementBook(agreements or [self.loaded]),
            contracts=ContractRegistry([DisputeReportedV1]),
            encryption_keys={me.enc_kid: me.enc},
        )

    def verify(
        self, raw: bytes, now: datetime = ARRIVAL, position: StreamPosition | None = None
    ) -> VerifiedEvent:
        """Qianfeng verifies `raw` at `now`."""
        return self.verifier().verify(raw, now, position)


def resign(source: Envelope | dict[str, Any], key: Ed25519PrivateKey, /, **changes: Any) -> bytes:
    """Wire bytes of the envelope with `changes` (None removes an attribute), signed by `key`.

    No check is made on the result: tests use this to send what a careless or hostile but
    key-holding sender could send.
    """
    document = _changed(source, changes | {"signature": None})
    document["signature"] = b64encode(sign(key, signing_bytes(document)))
    return canonical_bytes(document)


def rewrite(source: Envelope | dict[str, Any], /, **changes: Any) -> bytes:
    """Wire bytes of the envelope with `changes` (None removes), keeping its signature as is."""
    return canonical_bytes(_changed(source, changes))


def _changed(source: Envelope | dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    document = dict(source.document() if isinstance(source, Envelope) else source)
    for name, value in changes.items():
        if value is None:
            document.pop(name, None)
        else:
            document[name] = value
    return document


def with_data(envelope: Envelope, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """A deep copy of the envelope's `data` after `change` has edited it in place."""
    data: dict[str, Any] = _copy(envelope.data)
    change(data)
    return data


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
