"""Handling codes a node obeys when it sends (H2: no onward dissemination)."""

from collections.abc import Collection

from contracts.agreement import HandlingCode
from services.bus.handlers import NotApplicable


class OnwardDisseminationRefused(NotApplicable):
    """A case received under H2 may go only to its originator and the parties already in it."""

    reason = "onward_dissemination_refused"


def check_onward(
    handling: HandlingCode, recipient: str, originator: str, parties: Collection[str]
) -> None:
    """Refuse to send an H2 case to a third jurisdiction."""
    if handling == HandlingCode.H2 and recipient != originator and recipient not in parties:
        raise OnwardDisseminationRefused(
            f"the case from {originator} is H2 (no onward dissemination): "
            f"{recipient} is neither its originator nor a party to it"
        )
