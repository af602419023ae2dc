"""Household-registry window proxy requests (户籍窗口代办).

The requesting window collects the application and the materials, the home registry performs the
service, and the result comes back. Material files travel separately from the events, which
carry each file's name, SHA-256 and size.
"""

from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import Field

from contracts.events.base import EventData
from contracts.events.common import (
    CaseId,
    Day,
    FileDigest,
    JurisdictionRef,
    Part,
    Person,
    ServiceCode,
    Text,
)

MaterialName = Annotated[
    str, Field(min_length=1, max_length=200, description="a material, as the catalogue names it")
]


class PromisedMaterial(Part):
    """A material accepted as missing and promised later (容缺办理)."""

    name: MaterialName
    promised_on: Day


class RegistryWindow(Part):
    """The registry window that took the application."""

    jurisdiction: JurisdictionRef
    name: str = Field(min_length=1, max_length=200)


class ResultDelivery(StrEnum):
    """How the document returns to the applicant."""

    POST = "post"
    WINDOW_PICKUP = "window_pickup"
    ELECTRONIC = "electronic"


class RegistryProxyRequestedV1(EventData):
    """A window files a request for a service only the applicant's home registry can perform."""

    event_type: ClassVar[str] = "registry.proxy_requested"
    version: ClassVar[tuple[int, int]] = (1, 0)

    request_id: CaseId
    service_code: ServiceCode
    applicant: Person
    requesting_window: RegistryWindow
    responsible_clerk: Person = Field(description="the first-person responsible clerk (首接负责制)")
    materials_supplied: list[FileDigest] = Field(default=[], max_length=50)
    materials_promised: list[PromisedMaterial] = Field(default=[], max_length=50)
    time_limit_days: int = Field(ge=1, le=365)
    delivery: ResultDelivery = Field(
        default=ResultDelivery.WINDOW_PICKUP, description="how the applicant wants the result"
    )
    note: Text | None = None


class RegistryAcceptedV1(EventData):
    """The home registry accepted the request and will perform the service by `due_on`."""

    event_type: ClassVar[str] = "registry.accepted"
    version: ClassVar[tuple[int, int]] = (1, 0)

    request_id: CaseId
    accepted_by: JurisdictionRef
    handling_clerk: Person
    due_on: Day
    note: Text | None = None


class RegistryMaterialsRequestedV1(EventData):
    """The home registry needs more materials before it can go on."""

    event_type: ClassVar[str] = "registry.materials_requested"
    version: ClassVar[tuple[int, int]] = (1, 0)

    request_id: CaseId
    materials: list[MaterialName] = Field(min_length=1, max_length=50)
    reason: Text
    due_on: Day | None = None


class RegistryMaterialsSuppliedV1(EventData):
    """The requesting window sends materials that were asked for or promised."""

    event_type: ClassVar[str] = "registry.materials_supplied"
    version: ClassVar[tuple[int, int]] = (1, 0)

    request_id: CaseId
    materials: list[FileDigest] = Field(min_length=1, max_length=50)
    note: Text | None = None


class RegistryCompletedV1(EventData):
    """The service was performed; the document comes back by `delivery`."""

    event_type: ClassVar[str] = "registry.completed"
    version: ClassVar[tuple[int, int]] = (1, 0)

    request_id: CaseId
    result_reference: str = Field(min_length=1, max_length=100)
    delivery: ResultDelivery
    tracking_number: str | None = Field(default=None, max_length=100)
    completed_on: Day


class RegistryRejectedV1(EventData):
    """The home registry cannot perform the service, and says why."""

    event_type: ClassVar[str] = "registry.rejected"
    version: ClassVar[tuple[int, int]] = (1, 0)

    request_id: CaseId
    reason: Text
    rejected_on: Day
