"""Applying registry events, one handler per event type, the same on both nodes.

A command applies its own event with these handlers, so requester and home registry converge by
construction. A step the request cannot take raises a RegistryRefusal: the inbox quarantines it.
"""

from datetime import date

from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events.registry import (
    RegistryAcceptedV1,
    RegistryCompletedV1,
    RegistryMaterialsRequestedV1,
    RegistryMaterialsSuppliedV1,
    RegistryProxyRequestedV1,
    RegistryRejectedV1,
)
from services.bus.envelope import Envelope
from services.bus.handlers import Handler
from services.bus.verification import VerifiedEvent
from services.registry import records
from services.registry.catalogue import registry_service
from services.registry.model import (
    ACCEPTED,
    COMPLETED,
    MATERIAL_UPLOADED,
    MATERIALS_REQUESTED,
    MATERIALS_SUPPLIED,
    REJECTED,
    REQUESTED,
    NotHomeRegistry,
    State,
    UnknownRequest,
    WrongParty,
    after_supply,
    check_due,
    check_materials,
    check_nothing_owed,
    check_sender,
    check_service,
    next_state,
    read_as,
    registry_day,
)
from services.registry.records import RequestRecord
from services.registry.uploads import on_material_uploaded


async def _step(
    conn: AsyncConnection, verified: VerifiedEvent, request_id: str
) -> tuple[RequestRecord, State]:
    """The request a step belongs to and its state after the step, once the step is legal."""
    envelope = verified.envelope
    record = await records.load(conn, request_id)
    if record is None:
        raise UnknownRequest(request_id, envelope.type)
    state = next_state(request_id, record.state, envelope.type)
    check_sender(envelope.type, envelope.source, record.originator, record.home)
    if envelope.recipient != record.partner_of(envelope.source):
        raise WrongParty(f"{envelope.type} of {request_id} goes to {envelope.recipient}")
    return record, state


async def _note(
    conn: AsyncConnection, record: RequestRecord, envelope: Envelope, summary: str
) -> None:
    seen = await records.home_seen(conn, envelope, record.home)
    await records.note(conn, record.request_id, envelope, summary, seen)


async def on_proxy_requested(conn: AsyncConnection, verified: VerifiedEvent) -> None:
    """A window filed a request for the applicant's home registry."""
    event, envelope = read_as(RegistryProxyRequestedV1, verified.event), verified.envelope
    existing = await records.load(conn, event.request_id)
    state = next_state(event.request_id, existing.state if existing else None, envelope.type)
    home = event.applicant.home_jurisdiction
    check_sender(envelope.type, envelope.source, event.requesting_window.jurisdiction, home)
    if envelope.recipient != home or home == envelope.source:
        raise NotHomeRegistry(f"{event.request_id} goes to {envelope.recipient}, not to {home}")
    service = registry_service(event.service_code)
    check_service(service, event.time_limit_days)
    supplied = [f.name for f in event.materials_supplied]
    check_materials(service, supplied, event.materials_promised, registry_day(envelope.sent_at))
    await records.open_request(conn, event, envelope, state)
    await records.add_files(conn, event.request_id, event.materials_supplied, envelope)
    promised = [(p.name, date.fromisoformat(p.promised_on)) for p in event.materials_promised]
    await records.owe(conn, event.request_id, promised, records.PROMISED, envelope)
    summary = f"filed {service.code}: {len(supplied)} files, {len(promised)} promised"
    await records.note(conn, event.request_id, envelope, summary, seen=0)


async def on_accepted(conn: AsyncConnection, verified: VerifiedEvent) -> None:
    """The home registry accepted the request, due by `due_on`."""
    event, envelope = read_as(RegistryAcceptedV1, verified.event), verified.envelope
    record, state = await _step(conn, verified, event.request_id)
    accepted_on, due_on = registry_day(envelope.sent_at), date.fromisoformat(event.due_on)
    check_due(accepted_on, due_on, record.time_limit_days)
    await records.advance(
        conn,
        event.request_id,
        state,
        envelope,
        accepted_on=accepted_on,
        due_on=due_on,
        handling_clerk=event.handling_clerk.name,
    )
    await _note(conn, record, envelope, f"accepted, due {due_on}")


async def on_materials_requested(conn: AsyncConnection, verified: VerifiedEvent) -> None:
    """The home registry asks for more materials."""
    event, envelope = read_as(RegistryMaterialsRequestedV1, verified.event), verified.envelope
    record, state = await _step(conn, verified, event.request_id)
    due_on = date.fromisoformat(event.due_on) if event.due_on else None
    owed = [(name, due_on) for name in dict.fromkeys(event.materials)]
    await records.owe(conn, event.request_id, owed, records.REQUESTED, envelope, event.reason)
    await records.advance(conn, event.request_id, state, envelope)
    names = ", ".join(name for name, _ in owed)
    await _note(conn, record, envelope, f"materials requested: {names}")


async def on_materials_supplied(conn: AsyncConnection, verified: VerifiedEvent) -> None:
    """The window sends materials asked for or promised."""
    event, envelope = read_as(RegistryMaterialsSuppliedV1, verified.event), verified.envelope
    record, state = await _step(conn, verified, event.request_id)
    names = [f.name for f in event.materials]
    seen = await records.home_seen(conn, envelope, record.home)
    await records.add_files(conn, event.request_id, event.materials, envelope)
    await records.settle(conn, event.request_id, names, envelope, seen)
    asked = await records.owed_names(conn, event.request_id, records.REQUESTED)
    state = after_supply(record.state, state, asked_still_owed=bool(asked))
    await records.advance(conn, event.request_id, state, envelope)
    summary = f"materials supplied: {', '.join(dict.fromkeys(names))}"
    await records.note(conn, event.request_id, envelope, summary, seen)


async def on_completed(conn: AsyncConnection, verified: VerifiedEvent) -> None:
    """The home registry performed the service; the document comes back."""
    event, envelope = read_as(RegistryCompletedV1, verified.event), verified.envelope
    record, state = await _step(conn, verified, event.request_id)
    check_nothing_owed(await records.owed_names(conn, event.request_id))
    await records.advance(
        conn,
        event.request_id,
        state,
        envelope,
        completed_on=date.fromisoformat(event.completed_on),
        result_reference=event.result_reference,
        result_delivery=event.delivery,
        tracking_number=event.tracking_number,
    )
    await _note(conn, record, envelope, f"completed: {event.result_reference} by {event.delivery}")


async def on_rejected(conn: AsyncConnection, verified: VerifiedEvent) -> None:
    """The home registry cannot perform the service."""
    event, envelope = read_as(RegistryRejectedV1, verified.event), verified.envelope
    record, state = await _step(conn, verified, event.request_id)
    await records.advance(
        conn,
        event.request_id,
        state,
        envelope,
        rejected_on=date.fromisoformat(event.rejected_on),
        rejection_reason=event.reason,
    )
    await _note(conn, record, envelope, "rejected")


HANDLERS: dict[str, Handler] = {
    REQUESTED: on_proxy_requested,
    ACCEPTED: on_accepted,
    MATERIALS_REQUESTED: on_materials_requested,
    MATERIALS_SUPPLIED: on_materials_supplied,
    MATERIAL_UPLOADED: on_material_uploaded,
    COMPLETED: on_completed,
    REJECTED: on_rejected,
}
"""One handler per registry event type (the runtime adds them to its dispatcher)."""
