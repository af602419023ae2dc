"""Events of the bus itself: cumulative receipts, as AS4 gives non-repudiation of receipt."""

from typing import ClassVar

from pydantic import Field

from contracts.events.base import EventData
from contracts.events.common import Instant, JurisdictionRef, Sha256Hex


class CumulativeReceiptV1(EventData):
    """Received everything up to `up_to_seq` of the stream `sender` -> `recipient`, with chain
    head `chain_head`: the stream's recipient signs it and sends it back to the stream's sender."""

    event_type: ClassVar[str] = "bus.receipt"
    version: ClassVar[tuple[int, int]] = (1, 0)

    sender: JurisdictionRef = Field(description="the stream's sender, to whom the receipt goes")
    recipient: JurisdictionRef = Field(description="the stream's recipient, who gives the receipt")
    up_to_seq: int = Field(ge=1)
    chain_head: Sha256Hex = Field(
        description="chain hash of the envelope at `up_to_seq` (what the next one carries in prev)"
    )
    received_at: Instant
