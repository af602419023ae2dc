"""A material file sent over HTTP at Dalang's window reaches Qianfeng's registry over NATS in
sealed chunks, byte-identical and downloadable there by the roles that read the applicant; an
undeclared file is refused with nothing sent, and no stream message holds the file's bytes."""

import base64
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from contracts.events.registry import MATERIAL_MAX_BYTES
from services.users.model import Role
from tests.support.api import (
    DALANG,
    QIANFENG,
    ApiNode,
    b64,
    filing,
    live_pair,
    registry_agreement,
)
from tests.support.nats import NatsServer, TwoRegions, connect
from tests.support.proxy_traffic import await_receipted, post

MARKER = b"MARKER-household-register-booklet-page-2"
UPLOADED = b'"type":"registry.material_uploaded"'


@pytest.fixture
async def pair(two_regions: TwoRegions, tmp_path: Path) -> AsyncIterator[tuple[ApiNode, ApiNode]]:
    agreement = registry_agreement([DALANG, QIANFENG], tmp_path / "agreement.yaml")
    async with live_pair("sqlite", two_regions, tmp_path, agreement) as nodes:
        yield nodes


def _register_scan(size: int) -> bytes:
    page = MARKER + bytes(range(256)) * 4
    return (page * (size // len(page) + 1))[:size]


def _forms(marker: bytes) -> list[bytes]:
    """The marker as it shows in plain bytes, and in base64 at each of the three alignments."""
    found = [marker]
    for shift in range(3):
        encoded = base64.b64encode(bytes(shift) + marker)
        found.append(encoded[4 if shift else 0 : (len(marker) + shift) // 3 * 4])
    return found


async def _stream_messages(server: NatsServer) -> list[bytes]:
    """Every message's raw data in every stream of one server, as its operator could read it."""
    client = await connect(server)
    try:
        js = client.jetstream()
        found = []
        for stream in await js.streams_info():
            state = stream.state
            for seq in range(state.first_seq, state.last_seq + 1):
                found.append((await js.get_msg(stream.config.name, seq)).data or b"")
        return found
    finally:
        await client.close()


async def test_a_file_sent_at_dalang_arrives_byte_identical_and_sealed_at_qianfeng(
    pair, two_regions
):
    dalang, qianfeng = pair
    register = _register_scan(1_500_000)
    body = filing()
    body["files"][1] = {"material": "household_register", "content_base64": b64(register)}
    filed = await post(dalang, "/registry/requests", body, Role.WINDOW_CLERK)
    file_path = f"/registry/requests/{filed['request_id']}/materials/household_register/file"
    clerk = await dalang.token(Role.WINDOW_CLERK)

    wrong = await dalang.client.put(file_path, content=b"another scan", headers=clerk)
    too_big = await dalang.client.put(
        file_path, content=bytes(MATERIAL_MAX_BYTES + 1), headers=clerk
    )
    sent = await dalang.client.put(
        file_path,
        params={"file_name": "户口簿.pdf"},
        content=register,
        headers=clerk | {"Content-Type": "application/pdf"},
    )
    await await_receipted(dalang, QIANFENG.id)

    assert (wrong.status_code, wrong.json()["type"]) == (422, "/problems/registry_material_refused")
    assert (too_big.status_code, too_big.json()["type"]) == (
        413,
        "/problems/registry_material_too_large",
    )
    assert sent.status_code == 200, sent.text
    assert len(sent.json()["event_ids"]) == 6
    home_clerk = await qianfeng.token(Role.WINDOW_CLERK, "registrar.chen")
    got = await qianfeng.client.get(file_path, headers=home_clerk)
    assert got.status_code == 200
    assert got.content == register
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["x-content-sha256"] == hashlib.sha256(register).hexdigest()
    assert "%E6%88%B7%E5%8F%A3%E7%B0%BF.pdf" in got.headers["content-disposition"]
    command_centre = await qianfeng.token(Role.COMMAND_CENTRE)
    assert (await qianfeng.client.get(file_path, headers=command_centre)).status_code == 403
    auditor = await qianfeng.token(Role.AUDITOR)
    log = (await qianfeng.client.get("/audit/access-log", headers=auditor)).json()
    assert [(e["user_name"], e["fields"]) for e in log if e["case_id"] == filed["request_id"]] == [
        ("registrar.chen", ["materials.household_register.file"])
    ]

    on_the_wire = [m for server in two_regions.servers for m in await _stream_messages(server)]
    # Six chunks in Dalang's outbound stream and six sourced into Qianfeng's inbound one.
    assert sum(UPLOADED in m for m in on_the_wire) == 12
    plain_chunk = b64(register[262_144:524_288]).encode()
    assert any(form in plain_chunk for form in _forms(MARKER))  # the search can find it
    assert not [m[:200] for m in on_the_wire if any(form in m for form in _forms(MARKER))]
