"""Household-registry window proxy requests (户籍窗口代办).

The requesting window collects the application and the materials, the home registry performs the
service, and the result comes back. The request events carry each material file's name, SHA-256
and size; the bytes follow in `registry.material_uploaded` chunks, sealed to the home registry.
"""

from enum import StrEnum
from typing import Annotated, ClassVar, Self

from pydantic import Field, model_validator

from contracts.events.base import EventData
from contracts.events.common import (
    CaseId,
    Day,
    FileDigest,
    JurisdictionRef,
    Part,
    Person,
    ServiceCode,
    Sha256Hex,
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


MATERIAL_CHUNK_BYTES = 256 * 1024
"""Plain bytes per chunk: sealed and base64-encoded twice, a chunk event stays near 470 KB,
well under NATS's 1 MB max_payload (headers included)."""
MATERIAL_MAX_BYTES = 10 * 1024 * 1024
"""The largest material file a window uploads (a scan of a document, not a video)."""
MATERIAL_MAX_CHUNKS = MATERIAL_MAX_BYTES // MATERIAL_CHUNK_BYTES
_CHUNK_BASE64 = 4 * ((MATERIAL_CHUNK_BYTES + 2) // 3)


class RegistryMaterialUploadedV1(EventData):
    """One chunk of a material file's bytes, from the requesting window to the home registry.

    `chunk` is the chunk's bytes in base64; the agreement lists it as personal data, so it
    travels sealed to the home registry's key with the event id in the associated data.
    """

    event_type: ClassVar[str] = "registry.material_uploaded"
    version: ClassVar[tuple[int, int]] = (1, 0)

    request_id: CaseId
    material: MaterialName
    file_name: str = Field(
        min_length=1, max_length=200, description="the file's name at the window"
    )
    media_type: str = Field(
        pattern=r"^[a-z]+/[A-Za-z0-9.+-]+$", max_length=100, description="e.g. application/pdf"
    )
    size_bytes: int = Field(ge=1, le=MATERIAL_MAX_BYTES, description="of the whole plain file")
    sha256: Sha256Hex = Field(description="of the whole plain file, as declared with the request")
    chunk_index: int = Field(ge=0, lt=MATERIAL_MAX_CHUNKS)
    chunk_count: int = Field(ge=1, le=MATERIAL_MAX_CHUNKS)
    chunk: str = Field(
        min_length=4,
        max_length=_CHUNK_BASE64,
        pattern=r"^[A-Za-z0-9+/]+={0,2}$",
        description=f"base64 of at most {MATERIAL_CHUNK_BYTES} bytes of the file",
    )

    @model_validator(mode="after")
    def _chunk_in_file(self) -> Self:
        if self.chunk_index >= self.chunk_count:
            raise ValueError(f"chunk {self.chunk_index} of a file of {self.chunk_count} chunks")
        return self
