"""Material files sent to the home registry (`registry.material_uploaded`), chunk by chunk.

The window uploads a material's bytes once their SHA-256 is on file (declared when the request
was filed or the material supplied); every chunk goes into the outbox in one transaction. A
chunk's bytes are a personal field of the agreement: they travel sealed to the home registry's
key with the event id in the associated data. Each node keeps the chunks; when the last one is
in, the whole file must hash to the declared digest, or that last event is refused (the inbox
quarantines it, reason `registry_material_corrupt`) and the file is never served.
"""

import base64
import binascii
from dataclasses import dataclass

from sqlalchemy import and_, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events.registry import MATERIAL_CHUNK_BYTES, RegistryMaterialUploadedV1
from services.bus.envelope import Envelope
from services.bus.verification import VerifiedEvent
from services.registry import records
from services.registry.materials import material_digest
from services.registry.model import (
    RegistryRefusal,
    UnknownRequest,
    WrongParty,
    check_sender,
    read_as,
)
from services.registry.tables import (
    registry_files,
    registry_material_chunks,
    registry_material_uploads,
)


class MaterialRefused(RegistryRefusal):
    """A material file the request did not declare: unknown code, other digest, or empty."""

    reason = "registry_material_refused"


class MaterialTooLarge(MaterialRefused):
    """A material file above MATERIAL_MAX_BYTES."""

    reason = "registry_material_too_large"


class MaterialUploadCorrupt(RegistryRefusal):
    """Chunks that do not make up the declared file: missing, undecodable, or another digest."""

    reason = "registry_material_corrupt"


@dataclass(frozen=True)
class MaterialFileView:
    """A material file as received whole, with the request's two parties."""

    request_id: str
    originator: str
    home: str
    material: str
    file_name: str
    media_type: str
    size_bytes: int
    sha256: str
    content: bytes


async def check_declared(
    conn: AsyncConnection, request_id: str, material: str, sha256: str
) -> None:
    """The request has a file of `material` with this digest on file; MaterialRefused if not."""
    f = registry_files.c
    rows = await conn.execute(
        select(f.sha256).where(and_(f.request_id == request_id, f.name == material))
    )
    declared = {row.sha256 for row in rows}
    if not declared:
        raise MaterialRefused(f"{request_id} declares no file for {material}")
    if sha256 not in declared:
        raise MaterialRefused(
            f"the file's SHA-256 {sha256} is not the one {request_id} declares for {material} "
            f"({', '.join(sorted(declared))})"
        )


async def on_material_uploaded(conn: AsyncConnection, verified: VerifiedEvent) -> None:
    """Keep one chunk of a material file; check and record the file when its last chunk is in."""
    event = read_as(RegistryMaterialUploadedV1, verified.event)
    envelope = verified.envelope
    record = await records.load(conn, event.request_id)
    if record is None:
        raise UnknownRequest(event.request_id, envelope.type)
    check_sender(envelope.type, envelope.source, record.originator, record.home)
    if envelope.recipient != record.home:
        raise WrongParty(f"{envelope.type} of {event.request_id} goes to {envelope.recipient}")
    await check_declared(conn, event.request_id, event.material, event.sha256)
    c = registry_material_chunks.c
    key = and_(
        c.request_id == event.request_id,
        c.sha256 == event.sha256,
        c.chunk_index == event.chunk_index,
    )
    # The same file sent again replaces its chunks: a resend repairs an earlier broken one.
    await conn.execute(delete(registry_material_chunks).where(key))
    await conn.execute(
        registry_material_chunks.insert().values(
            request_id=event.request_id,
            sha256=event.sha256,
            chunk_index=event.chunk_index,
            chunk_count=event.chunk_count,
            content=_chunk_bytes(event),
            event_id=envelope.id,
        )
    )
    if event.chunk_index == event.chunk_count - 1:
        await _record_whole_file(conn, event, envelope)


def _chunk_bytes(event: RegistryMaterialUploadedV1) -> bytes:
    try:
        content = base64.b64decode(event.chunk, validate=True)
    except binascii.Error as exc:
        raise MaterialUploadCorrupt(f"chunk {event.chunk_index} is not base64") from exc
    if not content or len(content) > MATERIAL_CHUNK_BYTES:
        raise MaterialUploadCorrupt(
            f"chunk {event.chunk_index} has {len(content)} bytes; 1 to {MATERIAL_CHUNK_BYTES}"
        )
    return content


async def _record_whole_file(
    conn: AsyncConnection, event: RegistryMaterialUploadedV1, envelope: Envelope
) -> None:
    c = registry_material_chunks.c
    rows = (
        await conn.execute(
            select(c.chunk_index, c.chunk_count, c.content)
            .where(and_(c.request_id == event.request_id, c.sha256 == event.sha256))
            .where(c.chunk_index < event.chunk_count)
            .order_by(c.chunk_index)
        )
    ).all()
    what = f"{event.material} of {event.request_id}"
    if [r.chunk_index for r in rows] != list(range(event.chunk_count)) or any(
        r.chunk_count != event.chunk_count for r in rows
    ):
        raise MaterialUploadCorrupt(f"{what}: {len(rows)} of {event.chunk_count} chunks are in")
    content = b"".join(r.content for r in rows)
    if len(content) != event.size_bytes or material_digest(content) != event.sha256:
        raise MaterialUploadCorrupt(
            f"{what}: the {len(content)} bytes received do not hash to the declared "
            f"SHA-256 {event.sha256}"
        )
    u = registry_material_uploads.c
    await conn.execute(
        delete(registry_material_uploads).where(
            and_(u.request_id == event.request_id, u.sha256 == event.sha256)
        )
    )
    await conn.execute(
        registry_material_uploads.insert().values(
            request_id=event.request_id,
            sha256=event.sha256,
            material=event.material,
            file_name=event.file_name,
            media_type=event.media_type,
            size_bytes=event.size_bytes,
            chunk_count=event.chunk_count,
            event_id=envelope.id,
            received_at=envelope.sent_at,
        )
    )


async def material_file(
    conn: AsyncConnection, request_id: str, material: str
) -> MaterialFileView | None:
    """The newest file of `material` received whole for the request; None if none is."""
    record = await records.load(conn, request_id)
    u = registry_material_uploads.c
    upload = (
        await conn.execute(
            select(registry_material_uploads)
            .where(and_(u.request_id == request_id, u.material == material))
            .order_by(u.received_at.desc(), u.event_id.desc())
            .limit(1)
        )
    ).first()
    if record is None or upload is None:
        return None
    c = registry_material_chunks.c
    chunks = await conn.execute(
        select(c.content)
        .where(and_(c.request_id == request_id, c.sha256 == upload.sha256))
        .where(c.chunk_index < upload.chunk_count)
        .order_by(c.chunk_index)
    )
    return MaterialFileView(
        request_id=request_id,
        originator=record.originator,
        home=record.home,
        material=material,
        file_name=upload.file_name,
        media_type=upload.media_type,
        size_bytes=upload.size_bytes,
        sha256=upload.sha256,
        content=b"".join(row.content for row in chunks),
    )


async def received_materials(conn: AsyncConnection, request_id: str) -> list[str]:
    """The materials of the request whose file was received whole here, by code."""
    u = registry_material_uploads.c
    found = await conn.execute(
        select(u.material).where(u.request_id == request_id).distinct().order_by(u.material)
    )
    return [row.material for row in found]
