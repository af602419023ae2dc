"""Material files sent from the window to the home registry between two real stores (SQLite,
PostgreSQL), envelopes handed from one node's outbox to the other's inbox as JetStream would."""

import base64

import pytest
from sqlalchemy import func, select

from contracts.events.registry import RegistryMaterialUploadedV1
from services.bus.inbox import Outcome
from services.registry import commands as c
from services.registry.material_upload import UploadMaterial, upload_material
from services.registry.materials import material_digest
from services.registry.model import WrongParty
from services.registry.uploads import MaterialRefused, material_file
from services.store.database import Database
from services.store.tables import outbox, quarantine
from tests.integration.test_registry_flow import (
    DALANG,
    QIANFENG,
    SCANS,
    Window,
    _filing,
    _windows,
    deliver,
    exchange,
)

MARKER = b"MARKER-household-register-page-2"


def _scan(size: int) -> bytes:
    page = MARKER + bytes(range(256)) * 3
    return (page * (size // len(page) + 1))[:size]


@pytest.fixture
async def pair(store: Database, tmp_path):
    """Dalang's window and Qianfeng's registry."""
    async with _windows(store, tmp_path, [DALANG, QIANFENG]) as (windows, _clock):
        yield windows


async def _filed_with(dalang: Window, qianfeng: Window, content: bytes) -> str:
    """A request whose household register is `content`, on file at both nodes."""
    files = [
        c.MaterialFile(material=m, content=content if m == "household_register" else SCANS[m])
        for m in ("id_card", "household_register", "photo_receipt")
    ]
    filed = await c.file_request(dalang.node, _filing(files=files), dalang.materials)
    await exchange(dalang, qianfeng, filed.request_id)
    return filed.request_id


def _upload(request_id: str, content: bytes, material: str = "household_register"):
    return UploadMaterial(
        request_id=request_id,
        material=material,
        file_name="户口簿.pdf",
        media_type="application/pdf",
        content=content,
    )


async def _outbox_rows(window: Window) -> int:
    async with window.node.db.transaction() as conn:
        return int((await conn.execute(select(func.count()).select_from(outbox))).scalar_one())


async def test_a_file_of_six_chunks_arrives_whole_and_sealed_at_the_home_registry(pair):
    dalang, qianfeng = pair
    content = _scan(1_500_000)
    rid = await _filed_with(dalang, qianfeng, content)

    sent = await upload_material(dalang.node, _upload(rid, content))
    async with dalang.node.db.transaction() as conn:
        wire = [r.envelope for r in (await conn.execute(select(outbox.c.envelope))).all()]
    receipts = await deliver(dalang, qianfeng)

    assert (len(sent.event_ids), sent.sha256) == (6, material_digest(content))
    assert [r.outcome for r in receipts] == [Outcome.APPLIED] * 6
    assert not any(MARKER in envelope for envelope in wire)
    assert not any(base64.b64encode(MARKER[:30]) in envelope for envelope in wire)
    async with qianfeng.node.db.transaction() as conn:
        received = await material_file(conn, rid, "household_register")
    assert received is not None and received.content == content
    assert (received.file_name, received.media_type) == ("户口簿.pdf", "application/pdf")


async def test_a_file_whose_digest_the_request_does_not_declare_is_refused_with_nothing_sent(pair):
    dalang, qianfeng = pair
    rid = await _filed_with(dalang, qianfeng, SCANS["household_register"])
    before = await _outbox_rows(dalang)

    with pytest.raises(MaterialRefused, match="not the one"):
        await upload_material(dalang.node, _upload(rid, b"another scan of the register"))
    with pytest.raises(MaterialRefused, match="declares no file for purpose_statement"):
        await upload_material(dalang.node, _upload(rid, b"x", material="purpose_statement"))

    assert await _outbox_rows(dalang) == before


async def test_only_the_requesting_window_sends_a_material_file(pair):
    dalang, qianfeng = pair
    rid = await _filed_with(dalang, qianfeng, SCANS["household_register"])

    with pytest.raises(WrongParty):
        await upload_material(qianfeng.node, _upload(rid, SCANS["household_register"]))


async def test_chunks_that_do_not_hash_to_the_declared_digest_are_quarantined_not_served(pair):
    dalang, qianfeng = pair
    declared = SCANS["household_register"]
    rid = await _filed_with(dalang, qianfeng, declared)
    forged = RegistryMaterialUploadedV1(
        request_id=rid,
        material="household_register",
        file_name="register.pdf",
        media_type="application/pdf",
        size_bytes=len(declared),
        sha256=material_digest(declared),
        chunk_index=0,
        chunk_count=1,
        chunk=base64.b64encode(b"x" * len(declared)).decode(),
    )
    async with dalang.node.unit_of_work() as conn:
        await dalang.node.send(conn, forged, qianfeng.node.jurisdiction, subject=rid)

    receipts = await deliver(dalang, qianfeng)

    assert [(r.outcome, r.reason) for r in receipts] == [
        (Outcome.QUARANTINED, "registry_material_corrupt")
    ]
    async with qianfeng.node.db.transaction() as conn:
        assert await material_file(conn, rid, "household_register") is None
        assert (await conn.execute(select(quarantine.c.reason))).scalar_one() == (
            "registry_material_corrupt"
        )
