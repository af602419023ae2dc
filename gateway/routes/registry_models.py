"""Request and response bodies of the registry routes; material files travel as base64 in JSON."""

import dataclasses
from datetime import date, datetime
from typing import Annotated

from fastapi import Path
from pydantic import Base64Bytes, BaseModel, ConfigDict, Field

from contracts.events.common import CaseId, Person, ServiceCode, Text
from contracts.events.registry import MaterialName, PromisedMaterial, ResultDelivery
from gateway.masking import masked_person
from gateway.routes.text import RequestBody
from services.registry import commands as c
from services.registry.model import State
from services.registry.queries import ProxyRequestView
from services.users.access_log import Disclosure

CASE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,79}$"  # the contracts' CaseId (a test checks)
RequestId = Annotated[
    str, Path(pattern=CASE_ID_PATTERN, description="e.g. dongguan-dalang:20260520-1a2b3c4d")
]


class MaterialUpload(RequestBody):
    """One scanned material, named by the catalogue's material code."""

    material: MaterialName
    content_base64: Base64Bytes = Field(description="the file's bytes, standard base64")

    def command(self) -> c.MaterialFile:
        return c.MaterialFile(material=self.material, content=self.content_base64)


class Filing(RequestBody):
    """A proxy request as the window clerk files it (首接负责制: the responsible clerk)."""

    service_code: ServiceCode
    applicant: Person
    window_name: str = Field(min_length=1, max_length=200)
    responsible_clerk: Person
    files: list[MaterialUpload] = Field(default=[], max_length=50)
    promised: list[PromisedMaterial] = Field(
        default=[], max_length=50, description="容缺: materials accepted as missing, with a day"
    )
    delivery: ResultDelivery = ResultDelivery.WINDOW_PICKUP
    note: Text | None = None
    request_id: CaseId | None = Field(default=None, description="default: a new id")

    def command(self) -> c.FileProxyRequest:
        values = self.model_dump(exclude={"files"}, exclude_none=True)
        return c.FileProxyRequest(**values, files=[f.command() for f in self.files])


class Acceptance(RequestBody):
    handling_clerk: Person
    note: Text | None = None


class MaterialsWanted(RequestBody):
    materials: list[MaterialName] = Field(min_length=1, max_length=50)
    reason: Text
    due_on: date | None = None


class MaterialsSupply(RequestBody):
    files: list[MaterialUpload] = Field(min_length=1, max_length=50)
    note: Text | None = None


class Completion(RequestBody):
    result_reference: str = Field(min_length=1, max_length=100)
    delivery: ResultDelivery
    tracking_number: str | None = Field(default=None, max_length=100)


class Rejection(RequestBody):
    reason: Text


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Step(_Out):
    """A step taken: the event that carries it to the partner, the request's state after it."""

    request_id: str
    event_id: str
    state: State


class MaterialSent(_Out):
    """A material file put in the outbox for the home registry, one event per chunk."""

    request_id: str
    material: str
    sha256: str
    size_bytes: int
    event_ids: list[str] = Field(description="the chunk events, in order")


class RequestSummary(_Out):
    request_id: str
    originator: str = Field(description="the requesting window's jurisdiction")
    home: str = Field(description="the applicant's home registry, which performs the service")
    state: State
    service_code: str
    applicant_name: str
    filed_on: date
    due_on: date | None
    updated_at: datetime


class Applicant(_Out):
    """The applicant; id_number, phone and address are masked unless `disclosure` is full."""

    name: str
    home_jurisdiction: str
    id_number: str | None = None
    phone: str | None = None
    address: str | None = None


class SuppliedFile(_Out):
    name: str
    sha256: str
    size_bytes: int
    event_id: str
    supplied_on: date


class OwedMaterial(_Out):
    name: str
    basis: str = Field(description="promised (容缺) or requested")
    due_on: date | None
    reason: str | None
    since_event_id: str
    settled_event_id: str | None
    settled_on: date | None


class TimelineEntry(_Out):
    event_id: str
    type: str
    time: str
    source: str
    summary: str


class ProxyRequest(_Out):
    """A request with everything on file about it, the same on both nodes."""

    summary: RequestSummary
    disclosure: Disclosure = Field(description="how the applicant's personal fields are shown")
    applicant: Applicant
    handling: str
    time_limit_days: int
    delivery: str
    window_name: str
    responsible_clerk: str
    handling_clerk: str | None
    note: str | None
    accepted_on: date | None
    completed_on: date | None
    rejected_on: date | None
    result_reference: str | None
    result_delivery: str | None
    tracking_number: str | None
    rejection_reason: str | None
    first_event_id: str
    last_event_id: str
    opened_at: datetime
    files: list[SuppliedFile]
    owed: list[OwedMaterial]
    timeline: list[TimelineEntry]


class OverdueItem(_Out):
    request_id: str
    originator: str
    home: str
    service_code: str
    kind: str = Field(description="service, promised_material or requested_material")
    what: str = Field(description="the service code, or the material's name")
    due_on: date
    days_late: int


def present(view: ProxyRequestView, shown: Disclosure) -> ProxyRequest:
    """The request as the reader may see it: the applicant in full or masked."""
    if shown is Disclosure.FULL:
        applicant = view.applicant.model_dump()
    else:
        applicant = masked_person(view.applicant)
    values = {f.name: getattr(view, f.name) for f in dataclasses.fields(view)}
    return ProxyRequest.model_validate(values | {"disclosure": shown, "applicant": applicant})
