"""A material file cut into registry.material_uploaded chunks, each sealed for the wire."""

import base64
import hashlib
import json
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from pydantic import ValidationError

from contracts.canonical import canonical_bytes
from contracts.errors import DecryptionFailed
from contracts.events.registry import (
    MATERIAL_CHUNK_BYTES,
    MATERIAL_MAX_BYTES,
    RegistryMaterialUploadedV1,
)
from services.bus.personal_data import open_fields, seal_fields
from services.registry.material_upload import chunk_events, split_chunks
from services.registry.uploads import MaterialRefused, MaterialTooLarge

MARKER = b"MARKER-scan-of-hukou-booklet-7731"
NATS_MAX_PAYLOAD = 1024 * 1024


def _file(size: int) -> bytes:
    body = (MARKER + bytes(range(256))) * (size // (len(MARKER) + 256) + 1)
    return body[:size]


def test_a_one_and_a_half_megabyte_file_is_six_chunks_that_join_to_the_same_bytes():
    content = _file(1_500_000)

    chunks = split_chunks(content)

    assert [len(c) for c in chunks] == [MATERIAL_CHUNK_BYTES] * 5 + [1_500_000 - 5 * 262_144]
    assert b"".join(chunks) == content


def test_a_file_of_exactly_two_chunks_has_no_empty_third():
    assert [len(c) for c in split_chunks(bytes(2 * MATERIAL_CHUNK_BYTES))] == [262_144, 262_144]


def test_chunk_events_name_the_whole_file_and_number_their_chunks():
    content = _file(600_000)

    events = chunk_events("R-1", "id_card", "id.pdf", "application/pdf", content)

    sha256 = hashlib.sha256(content).hexdigest()
    assert [(e.chunk_index, e.chunk_count) for e in events] == [(0, 3), (1, 3), (2, 3)]
    assert {(e.sha256, e.size_bytes, e.material, e.file_name) for e in events} == {
        (sha256, 600_000, "id_card", "id.pdf")
    }
    assert b"".join(base64.b64decode(e.chunk) for e in events) == content


def test_an_empty_file_is_refused():
    with pytest.raises(MaterialRefused, match="empty"):
        chunk_events("R-1", "id_card", "id.pdf", "application/pdf", b"")


def test_a_file_above_ten_mebibytes_is_refused_as_too_large():
    with pytest.raises(MaterialTooLarge, match=str(MATERIAL_MAX_BYTES)):
        chunk_events("R-1", "id_card", "id.pdf", "application/pdf", bytes(MATERIAL_MAX_BYTES + 1))


def test_a_chunk_numbered_past_its_count_is_not_a_valid_event():
    event = chunk_events("R-1", "id_card", "id.pdf", "application/pdf", b"scan")[0]
    data = event.model_dump() | {"chunk_index": 1, "chunk_count": 1}

    with pytest.raises(ValidationError, match="chunk 1 of a file of 1 chunks"):
        RegistryMaterialUploadedV1.model_validate(data)


def test_a_sealed_full_chunk_hides_the_bytes_and_stays_well_under_nats_max_payload():
    home = X25519PrivateKey.generate()
    event = chunk_events("R-1", "id_card", "id.pdf", "application/pdf", _file(3_000_000))[0]
    event_id = str(uuid.uuid4())

    sealed, pdepk = seal_fields(event.model_dump(), ["chunk"], event_id, home.public_key())

    wire = canonical_bytes(sealed)
    assert len(wire) < NATS_MAX_PAYLOAD // 2
    assert MARKER not in wire and base64.b64encode(MARKER[:30]) not in wire
    assert pdepk is not None
    opened = open_fields(sealed, ["chunk"], event_id, pdepk, home)
    assert opened == json.loads(canonical_bytes(event.model_dump()))


def test_a_sealed_chunk_does_not_open_under_another_event_id():
    home = X25519PrivateKey.generate()
    event = chunk_events("R-1", "id_card", "id.pdf", "application/pdf", b"scan")[0]
    sealed, pdepk = seal_fields(event.model_dump(), ["chunk"], str(uuid.uuid4()), home.public_key())
    assert pdepk is not None

    with pytest.raises(DecryptionFailed, match="chunk"):
        open_fields(sealed, ["chunk"], str(uuid.uuid4()), pdepk, home)
