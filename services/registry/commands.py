"""Registry commands: each changes one request and sends its event, in one transaction.

The command checks the step, sends the event to the other side through the outbox, and applies
it to its own store with the handler the partner runs: both nodes end in the same state.
"""

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from contracts.events.base import EventData
from contracts.events.common import CaseId, FileDigest, Person, ServiceCode, Text
from contracts.events.registry import (
    MaterialName,
    PromisedMaterial,
    RegistryAcceptedV1,
    RegistryCompletedV1,
    RegistryMaterialsRequestedV1,
    RegistryMaterialsSuppliedV1,
    RegistryProxyRequestedV1,
    RegistryRejectedV1,
    RegistryWindow,
    ResultDelivery,
)
from services.handling import check_onward
from services.node import Node
from services.registry import records
from services.registry.catalogue import registry_service
from services.registry.handlers import HANDLERS, on_proxy_requested
from services.registry.materials import MaterialStore
from services.registry.model import (
    NotHomeRegistry,
    State,
    UnknownRequest,
    check_materials,
    check_sender,
    due_date,
    next_state,
    registry_day,
)
from services.registry.records import RequestRecord

MAX_FILE_BYTES = 100 * 1024 * 1024


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MaterialFile(_Command):
    """A material file as the window scanned it, named by the catalogue's material code."""

    material: MaterialName
    content: bytes = Field(repr=False, max_length=MAX_FILE_BYTES)


class FileProxyRequest(_Command):
    """A window clerk files a request on behalf of a resident of the partner jurisdiction."""

    service_code: ServiceCode
    applicant: Person
    window_name: str = Field(min_length=1, max_length=200)
    responsible_clerk: Person
    files: list[MaterialFile] = Field(default=[], max_length=50)
    promised: list[PromisedMaterial] = Field(default=[], max_length=50)
    delivery: ResultDelivery = ResultDelivery.WINDOW_PICKUP
    note: Text | None = None
    request_id: CaseId | None = Field(default=None, description="default: a new id")


class AcceptRequest(_Command):
    """The home registry accepts a request it can perform."""

    request_id: CaseId
    handling_clerk: Person
    note: Text | None = None


class RequestMaterials(_Command):
    """The home registry needs more materials (catalogue codes) and says why."""

    request_id: CaseId
    materials: list[MaterialName] = Field(min_length=1, max_length=50)
    reason: Text
    due_on: date | None = None


class SupplyMaterials(_Command):
    """The window sends files asked for or promised."""

    request_id: CaseId
    files: list[MaterialFile] = Field(min_length=1, max_length=50)
    note: Text | None = None


class CompleteRequest(_Command):
    """The service is performed; the document returns by `delivery`."""

    request_id: CaseId
    result_reference: str = Field(min_length=1, max_length=100)
    delivery: ResultDelivery
    tracking_number: str | None = Field(default=None, max_length=100)


class RejectRequest(_Command):
    """The home registry cannot perform the service."""

    request_id: CaseId
    reason: Text


@dataclass(frozen=True)
class Recorded:
    """A step taken: the request, the event that carries it, the request's state after it."""

    request_id: str
    event_id: str
    state: State


async def file_request(node: Node, cmd: FileProxyRequest, materials: MaterialStore) -> Recorded:
    """File a request at this window for the applicant's home registry (files kept here)."""
    home = cmd.applicant.home_jurisdiction
    if home == node.jurisdiction:
        raise NotHomeRegistry(f"the applicant is registered in {home}: no proxy is needed")
    service = registry_service(cmd.service_code)
    today = registry_day(node.clock())
    check_materials(service, [f.material for f in cmd.files], cmd.promised, today)
    event = RegistryProxyRequestedV1(
        request_id=cmd.request_id or new_request_id(node.jurisdiction, today),
        service_code=service.code,
        applicant=cmd.applicant,
        requesting_window=RegistryWindow(jurisdiction=node.jurisdiction, name=cmd.window_name),
        responsible_clerk=cmd.responsible_clerk,
        materials_supplied=[await _keep(materials, f) for f in cmd.files],
        materials_promised=cmd.promised,
        time_limit_days=service.time_limit_days,
        delivery=cmd.delivery,
        note=cmd.note,
    )
    async with node.unit_of_work() as conn:
        verified = await node.send(conn, event, home, subject=event.request_id)
        await on_proxy_requested(conn, verified)
    return Recorded(event.request_id, verified.envelope.id, State.REQUESTED)


async def accept_request(node: Node, cmd: AcceptRequest) -> Recorded:
    """The home registry accepts: due on today plus the service's time limit."""

    def accepted(record: RequestRecord) -> EventData:
        due_on = due_date(registry_day(node.clock()), record.time_limit_days)
        return RegistryAcceptedV1(
            request_id=cmd.request_id,
            accepted_by=node.jurisdiction,
            handling_clerk=cmd.handling_clerk,
            due_on=due_on.isoformat(),
            note=cmd.note,
        )

    return await _take_step(node, cmd.request_id, RegistryAcceptedV1, accepted)


async def request_materials(node: Node, cmd: RequestMaterials) -> Recorded:
    """The home registry asks the window for more materials, and says why."""
    event = RegistryMaterialsRequestedV1(
        request_id=cmd.request_id,
        materials=cmd.materials,
        reason=cmd.reason,
        due_on=cmd.due_on.isoformat() if cmd.due_on else None,
    )
    return await _take_step(node, cmd.request_id, type(event), lambda _: event)


async def supply_materials(node: Node, cmd: SupplyMaterials, materials: MaterialStore) -> Recorded:
    """The window sends materials asked for or promised (files kept here)."""
    event = RegistryMaterialsSuppliedV1(
        request_id=cmd.request_id,
        materials=[await _keep(materials, f) for f in cmd.files],
        note=cmd.note,
    )
    return await _take_step(node, cmd.request_id, type(event), lambda _: event)


async def complete_request(node: Node, cmd: CompleteRequest) -> Recorded:
    """The home registry performed the service; says how the document returns."""
    event = RegistryCompletedV1(
        request_id=cmd.request_id,
        result_reference=cmd.result_reference,
        delivery=cmd.delivery,
        tracking_number=cmd.tracking_number,
        completed_on=registry_day(node.clock()).isoformat(),
    )
    return await _take_step(node, cmd.request_id, type(event), lambda _: event)


async def reject_request(node: Node, cmd: RejectRequest) -> Recorded:
    """The home registry cannot perform the service, and says why."""
    event = RegistryRejectedV1(
        request_id=cmd.request_id,
        reason=cmd.reason,
        rejected_on=registry_day(node.clock()).isoformat(),
    )
    return await _take_step(node, cmd.request_id, type(event), lambda _: event)


def new_request_id(jurisdiction: str, filed_on: date) -> str:
    """`<jurisdiction>:<YYYYMMDD>-<8 hex>`: unique across bureaus, readable at the window."""
    return f"{jurisdiction}:{filed_on:%Y%m%d}-{secrets.token_hex(4)}"


async def _take_step(
    node: Node,
    request_id: str,
    model: type[EventData],
    build: Callable[[RequestRecord], EventData],
) -> Recorded:
    async with node.unit_of_work() as conn:
        record = await records.load(conn, request_id)
        if record is None:
            raise UnknownRequest(request_id, model.event_type)
        state = next_state(request_id, record.state, model.event_type, sending=True)
        check_sender(model.event_type, node.jurisdiction, record.originator, record.home)
        recipient = record.partner_of(node.jurisdiction)
        check_onward(
            node.jurisdiction,
            request_id,
            record.originator,
            record.handling,
            [record.home],
            recipient,
        )
        verified = await node.send(
            conn,
            build(record),
            recipient,
            subject=request_id,
            correlation=record.first_event_id,
            causation=record.last_event_id,
        )
        await HANDLERS[model.event_type](conn, verified)
        after = await records.load(conn, request_id)
    return Recorded(request_id, verified.envelope.id, after.state if after else state)


async def _keep(materials: MaterialStore, file: MaterialFile) -> FileDigest:
    # Files are written before the transaction: a refused step leaves only an unreferenced
    # file in a content-addressed store, never a row pointing at a missing file.
    sha256 = await asyncio.to_thread(materials.put, file.content)
    return FileDigest(name=file.material, sha256=sha256, size_bytes=len(file.content))
