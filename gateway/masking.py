"""Who sees personal data in full, and how it is masked for everyone else. Pure.

Full: the node's admins, and window clerks of a registry party to the request (the requesting
window or the home registry: every request on file at a node has the node as one of them).
Masked: everyone else who may read the case (command centre, auditor).
"""

from contracts.events.common import PERSONAL_FIELDS, Person
from services.users.access_log import Disclosed, Disclosure
from services.users.model import Role

MASK = "*"


def mask_id_number(value: str) -> str:
    """Region code (6) and the last 4 kept: `511602********1232`."""
    if len(value) <= 10:
        return MASK * len(value)
    return value[:6] + MASK * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    """The first 3 and the last 4 digits kept: `138****8000`."""
    digits = [i for i, ch in enumerate(value) if ch.isdigit()]
    hidden = set(digits[3:-4]) if len(digits) > 7 else set(digits)
    return "".join(MASK if i in hidden else ch for i, ch in enumerate(value))


def mask_address(value: str) -> str:
    """Only the first 3 characters (the province, city or town) kept: `广兴镇****`; of a short
    address, never more than a third of it (`8组` is `****`)."""
    return value[: min(3, len(value) // 3)] + MASK * 4


MASKS = {"id_number": mask_id_number, "phone": mask_phone, "address": mask_address}


def masked_person(person: Person) -> dict[str, str | None]:
    """The person's fields, personal ones masked (None stays None)."""
    shown: dict[str, str | None] = person.model_dump(mode="json")
    for field in PERSONAL_FIELDS:
        value = shown.get(field)
        if value is not None:
            shown[field] = MASKS[field](value)
    return shown


def registry_disclosure(role: Role, node: str, originator: str, home: str) -> Disclosure:
    """Full for admins and for window clerks of a party to the request; masked otherwise."""
    if role is Role.ADMIN or (role is Role.WINDOW_CLERK and node in (originator, home)):
        return Disclosure.FULL
    return Disclosure.MASKED


def personal_fields(prefix: str, person: Person) -> tuple[str, ...]:
    """Paths of the personal fields `person` has a value for, e.g. `applicant.id_number`."""
    return tuple(f"{prefix}.{f}" for f in PERSONAL_FIELDS if getattr(person, f) is not None)


def disclosed(prefix: str, person: Person, disclosure: Disclosure) -> Disclosed:
    """What a read of `person` shows, for the access log."""
    return Disclosed(personal_fields(prefix, person), disclosure)
