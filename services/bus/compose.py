"""Compose a signed envelope for one event to one partner, as the agreement in force allows."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts.agreement import Agreement, Flow, HandlingCode, PublicKey
from contracts.errors import NotPermittedByAgreement, UnknownKey
from contracts.events.base import EventData
from contracts.keys import partner_x25519_public
from contracts.registry import schema_uri
from services.bus.envelope import Envelope, format_time, new_event_id, seal
from services.bus.personal_data import seal_fields
from services.bus.sealing_keys import SealingKeys


@dataclass(frozen=True)
class Signer:
    """This node's jurisdiction and its signing key (private keys never leave the node)."""

    jurisdiction: str
    kid: str
    key: Ed25519PrivateKey


@dataclass(frozen=True)
class Addressing:
    """Where an event goes and where it sits in its stream and its case thread."""

    recipient: str
    subject: str
    seq: int
    prev: str
    correlation: str | None = None
    causation: str | None = None
    handling: HandlingCode | None = None


def check_permitted(agreement: Agreement, sender: str, recipient: str, event: EventData) -> Flow:
    """Refuse at the sender what the agreement does not permit; the flow that permits it."""
    flow = agreement.flow(event.event_type)
    if flow is None or not flow.permits(sender, recipient, event.version[0]):
        raise NotPermittedByAgreement(
            f"{agreement.ref} does not permit {event.event_type} {event.version_text()} "
            f"from {sender} to {recipient}"
        )
    return flow


def encryption_key(agreement: Agreement, recipient: str, now: datetime) -> PublicKey:
    """The recipient's encryption key valid `now`; UnknownKey if it has none."""
    enc = agreement.current_key(recipient, "enc", now)
    if enc is None:
        raise UnknownKey(f"{recipient} has no encryption key valid now")
    return enc


def compose(
    agreement: Agreement,
    signer: Signer,
    event: EventData,
    to: Addressing,
    now: datetime,
    event_id: str | None = None,
    sealing: SealingKeys | None = None,
) -> Envelope:
    """Seal personal fields to the recipient, sign, and return the envelope."""
    return seal(draft(agreement, signer, event, to, now, event_id, sealing), signer.key)


def draft(
    agreement: Agreement,
    signer: Signer,
    event: EventData,
    to: Addressing,
    now: datetime,
    event_id: str | None = None,
    sealing: SealingKeys | None = None,
    keys: dict[str, PublicKey] | None = None,
) -> dict[str, Any]:
    """The envelope object, personal fields sealed to the recipient, not yet signed.

    `sealing` holds the ephemeral keys of the envelopes composed together with this one (one
    enqueue_many); without it the envelope gets an ephemeral key of its own. `keys` holds their
    recipients' encryption keys at `now`, each looked up once.
    """
    flow = check_permitted(agreement, signer.jurisdiction, to.recipient, event)
    event_id = event_id or new_event_id()
    data = event.model_dump(mode="json", exclude_none=True)
    patterns = agreement.personal_fields(event.event_type)
    pdkid = pdepk = None
    if patterns:
        keys = {} if keys is None else keys
        if to.recipient not in keys:
            keys[to.recipient] = encryption_key(agreement, to.recipient, now)
        enc = keys[to.recipient]
        data, pdepk = seal_fields(data, patterns, event_id, partner_x25519_public(enc.raw), sealing)
        pdkid = enc.kid if pdepk else None
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": signer.jurisdiction,
        "type": event.event_type,
        "subject": to.subject,
        "time": format_time(now),
        "dataschema": schema_uri(event.event_type, event.version),
        "datacontenttype": "application/json",
        "agreement": agreement.ref,
        "recipient": to.recipient,
        "seq": to.seq,
        "prev": to.prev,
        "correlation": to.correlation or event_id,
        "causation": to.causation,
        "kid": signer.kid,
        "handling": (to.handling or flow.handling).value,
        "pdkid": pdkid,
        "pdepk": pdepk,
        "data": data,
    }
