"""Sending a dispute's events to the jurisdictions that hold it, within one unit of work."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events.base import EventData
from services.bus.verification import VerifiedEvent
from services.disputes.model import Dispute
from services.handling import check_onward
from services.node import Node


@dataclass(frozen=True)
class Sent:
    """What a command sent: the case, the envelope applied here, and who received the event."""

    case_id: str
    event_id: str
    recipients: tuple[str, ...]


async def send_all(
    node: Node,
    conn: AsyncConnection,
    event: EventData,
    subject: str,
    recipients: list[str],
    correlation: str | None,
    causation: str | None,
) -> list[VerifiedEvent]:
    """One envelope per recipient (each stream has its own seq and chain), one case thread."""
    sent: list[VerifiedEvent] = []
    for recipient in recipients:
        first = correlation or (sent[0].envelope.id if sent else None)
        sent.append(await node.send(conn, event, recipient, subject, first, causation))
    return sent


def thread(dispute: Dispute) -> tuple[str, str]:
    """Correlation (the dispute's first event) and causation (its latest) of the next event."""
    return dispute.correlation, dispute.last_event_id


def check_may_send(node: Node, dispute: Dispute, recipient: str) -> None:
    """The dispute's handling code lets this node send it (or about it) to `recipient`."""
    check_onward(
        node.jurisdiction,
        f"dispute {dispute.dispute_id}",
        dispute.originator,
        dispute.handling,
        dispute.holders,
        recipient,
    )
