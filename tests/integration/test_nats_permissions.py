"""The NATS user generated from the agreement (`fengqiao agreement nats-permissions`) on a real
nats-server: the node declares its streams and consumer and publishes what the agreement lets it
send; a subject of another sender, or of an event type the agreement lacks, is refused."""

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import nats.errors
import pytest
import pytest_asyncio
from typer.testing import CliRunner

from gateway.cli import create_app
from services.bus.receiver import consumer_name
from services.bus.topology import Partner, event_subject
from services.bus.transport import (
    DurableConsumer,
    ensure_inbound_stream,
    ensure_outbound_stream,
)
from services.embedded_nats import nats_server_binary
from tests.support.api import DALANG, QIANFENG, registry_agreement
from tests.support.nats import free_port, render

PASSWORD = "s3cret-for-this-test"


def _permissions(agreement: Path) -> str:
    args = ["agreement", "nats-permissions", str(agreement), "--jurisdiction", DALANG.id]
    result = CliRunner().invoke(create_app(), args)
    assert result.exit_code == 0, result.output
    return result.output


@pytest_asyncio.fixture
async def server(tmp_path: Path) -> AsyncIterator[str]:
    """A region server whose only client user is Dalang's node, with the generated permissions."""
    block = _permissions(registry_agreement([DALANG, QIANFENG], tmp_path / "agreement.yaml"))
    port = free_port()
    values = {
        "server_name": "perm", "host": "127.0.0.1", "client_port": str(port),
        "http_port": str(free_port()), "store_dir": str(tmp_path / "js"), "domain": "dalang",
        "max_file_store": "1GB", "sync_interval": "2m",
    }  # fmt: skip
    config = tmp_path / "server.conf"
    config.write_text(render("region.conf", values) + "\n" + block, encoding="utf-8")
    process = subprocess.Popen(
        [str(nats_server_binary()), "-c", str(config)],
        env=os.environ | {"FENGQIAO_NATS_PASSWORD": PASSWORD},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"nats://{DALANG.id}:{PASSWORD}@127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def _connect(url: str, errors: list[str]) -> nats.aio.client.Client:
    async def record(error: Exception) -> None:
        errors.append(str(error))

    for _ in range(50):
        try:
            return await nats.connect(url, error_cb=record, allow_reconnect=False)
        except (nats.errors.NoServersError, OSError):
            await asyncio.sleep(0.1)
    raise AssertionError("nats-server did not come up")


async def test_the_node_publishes_what_the_agreement_permits_and_nothing_else(server: str):
    errors: list[str] = []
    nc = await _connect(server, errors)
    try:
        js = nc.jetstream()
        await ensure_outbound_stream(js, DALANG.id)
        await ensure_inbound_stream(js, DALANG.id, [Partner(QIANFENG.id)])
        await DurableConsumer.bind(js, f"IN_{DALANG.id}", consumer_name(DALANG.id))
        ack = await js.publish(event_subject(DALANG.id, QIANFENG.id, "registry.accepted"), b"{}")
        assert ack.seq == 1

        refused = [
            event_subject(QIANFENG.id, DALANG.id, "registry.accepted"),  # posing as the partner
            event_subject(DALANG.id, QIANFENG.id, "dispute.reported"),  # not in this agreement
        ]
        for subject in refused:
            with pytest.raises(nats.errors.TimeoutError):
                await js.publish(subject, b"{}", timeout=0.5)
        await nc.flush()
        violations = [e for e in errors if "permissions violation for publish" in e.lower()]
        assert len(violations) == 2, errors
        assert "dispute.reported" in violations[1]
        assert (await js.stream_info(f"OUT_{DALANG.id}")).state.messages == 1
    finally:
        await nc.close()


async def test_a_party_outside_the_agreement_gets_a_clear_error(tmp_path: Path):
    agreement = registry_agreement([DALANG, QIANFENG], tmp_path / "agreement.yaml")
    args = ["agreement", "nats-permissions", str(agreement), "--jurisdiction", "shenzhen-longgang"]
    result = CliRunner().invoke(create_app(), args)
    assert result.exit_code == 2
    assert "shenzhen-longgang is not a party to live-test@1" in result.output
