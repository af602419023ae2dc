"""The window's side of a material upload: the file cut into chunk events, sent in one go.

services/registry/uploads.py says how the chunks travel and how the home registry checks them.
"""

import base64
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from contracts.events.common import CaseId
from contracts.events.registry import (
    MATERIAL_CHUNK_BYTES,
    MATERIAL_MAX_BYTES,
    MaterialName,
    RegistryMaterialUploadedV1,
)
from services.handling import check_onward
from services.node import Node
from services.registry import records
from services.registry.materials import material_digest
from services.registry.model import UnknownRequest, check_sender
from services.registry.uploads import (
    MaterialRefused,
    MaterialTooLarge,
    check_declared,
    on_material_uploaded,
)


class UploadMaterial(BaseModel):
    """The window sends the bytes of a material whose digest the request declared."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: CaseId
    material: MaterialName
    file_name: str = Field(min_length=1, max_length=200)
    media_type: str = Field(pattern=r"^[a-z]+/[A-Za-z0-9.+-]+$", max_length=100)
    content: bytes = Field(repr=False)


@dataclass(frozen=True)
class Uploaded:
    """A material file put in the outbox: its digest, its size, one event per chunk."""

    request_id: str
    material: str
    sha256: str
    size_bytes: int
    event_ids: list[str]


def split_chunks(content: bytes, size: int = MATERIAL_CHUNK_BYTES) -> list[bytes]:
    """The file cut into consecutive chunks of at most `size` bytes (at least one chunk)."""
    return [content[i : i + size] for i in range(0, len(content), size)] or [b""]


def chunk_events(
    request_id: str, material: str, file_name: str, media_type: str, content: bytes
) -> list[RegistryMaterialUploadedV1]:
    """The events that carry `content` to the home registry, in order."""
    if not content:
        raise MaterialRefused(f"the file for {material} of {request_id} is empty")
    if len(content) > MATERIAL_MAX_BYTES:
        raise MaterialTooLarge(
            f"the file for {material} has {len(content)} bytes; at most {MATERIAL_MAX_BYTES}"
        )
    chunks = split_chunks(content)
    sha256 = material_digest(content)
    return [
        RegistryMaterialUploadedV1(
            request_id=request_id,
            material=material,
            file_name=file_name,
            media_type=media_type,
            size_bytes=len(content),
            sha256=sha256,
            chunk_index=index,
            chunk_count=len(chunks),
            chunk=base64.b64encode(chunk).decode(),
        )
        for index, chunk in enumerate(chunks)
    ]


async def upload_material(node: Node, cmd: UploadMaterial) -> Uploaded:
    """Send a declared material file to the home registry: all its chunks, or nothing."""
    events = chunk_events(cmd.request_id, cmd.material, cmd.file_name, cmd.media_type, cmd.content)
    first = events[0]
    async with node.unit_of_work() as conn:
        record = await records.load(conn, cmd.request_id)
        if record is None:
            raise UnknownRequest(cmd.request_id, first.event_type)
        check_sender(first.event_type, node.jurisdiction, record.originator, record.home)
        check_onward(
            node.jurisdiction,
            cmd.request_id,
            record.originator,
            record.handling,
            [record.home],
            record.home,
        )
        await check_declared(conn, cmd.request_id, cmd.material, first.sha256)
        event_ids = []
        for event in events:
            verified = await node.send(
                conn,
                event,
                record.home,
                subject=cmd.request_id,
                correlation=record.first_event_id,
                causation=record.last_event_id,
            )
            await on_material_uploaded(conn, verified)
            event_ids.append(verified.envelope.id)
    return Uploaded(cmd.request_id, cmd.material, first.sha256, first.size_bytes, event_ids)
