"""Handling codes on the sending side: what a node may pass on of a case it received.

A case received under H2 (no onward dissemination) may travel only between the jurisdictions
that already hold it; the node that originated a case is bound by no code of its own.
"""

from collections.abc import Collection

from contracts.agreement import HandlingCode
from services.bus.handlers import NotApplicable


class OnwardDisseminationRefused(NotApplicable):
    """Sending a case received under H2 to a jurisdiction that does not already hold it."""

    reason = "onward_dissemination_refused"
    http_status = 409


def check_onward(
    me: str,
    case: str,
    originator: str,
    handling: str | None,
    holders: Collection[str],
    recipient: str,
) -> None:
    """Refuse to send `case` to `recipient` when the case's handling code forbids it."""
    if me == originator or handling != HandlingCode.H2:
        return
    if recipient == originator or recipient in holders:
        return
    raise OnwardDisseminationRefused(
        f"{case} was received from {originator} under H2 (no onward dissemination): "
        f"{me} may not send it, or anything about it, to {recipient}, "
        f"which is neither its originator nor already party to it"
    )
