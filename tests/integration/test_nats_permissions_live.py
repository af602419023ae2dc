"""Two nodes in two regions, each connected as the NATS user generated from the agreement
(`fengqiao agreement nats-permissions`): events cross the leaf link, are applied and receipted,
so the allow-lists hold everything a running node does."""

import secrets
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli import create_app
from services.runtime import NodeRuntime
from services.store.tables import quarantine
from tests.integration.test_bus_two_regions import dispute
from tests.support.databases import back_up_sqlite, restore_sqlite
from tests.support.live import (
    applied,
    count,
    delivered,
    node_settings,
    recording_handlers,
    wait_until,
    write_agreement,
)
from tests.support.nats import HOST, TEMPLATES, NatsServer, free_port, running
from tests.support.trust import Bureau

PASSWORD = secrets.token_hex(12)


def _template(
    tmp_path: Path, base: str, agreement: Path, jurisdiction: str, made_before: bool
) -> str:
    args = ["agreement", "nats-permissions", str(agreement), "--jurisdiction", jurisdiction]
    block = CliRunner().invoke(create_app(), args)
    assert block.exit_code == 0, block.output
    lines = block.output.splitlines(keepends=True)
    if made_before:  # by a version that did not read its streams' last messages at start
        lines = [line for line in lines if "STREAM.MSG.GET" not in line]
    path = tmp_path / f"{jurisdiction}.conf.template"
    path.write_text((TEMPLATES / base).read_text(encoding="utf-8") + "".join(lines))
    return str(path)  # absolute: the harness reads it instead of a deploy/nats template


def _server(tmp_path: Path, domain: str, template: str, **values: str) -> NatsServer:
    workdir = tmp_path / domain
    (workdir / "store").mkdir(parents=True)
    base = {
        "server_name": domain, "host": HOST, "client_port": str(free_port()),
        "http_port": str(free_port()), "store_dir": str(workdir / "store"), "domain": domain,
        "max_file_store": "1GB", "sync_interval": "2m",
    }  # fmt: skip
    return NatsServer(domain, template, workdir, base | values)


def _url(server: NatsServer, user: str) -> str:
    return f"nats://{user}:{PASSWORD}@{HOST}:{server.client_port}"


@pytest.mark.parametrize("made_before", [False, True], ids=["current", "made-before"])
async def test_nodes_with_generated_permissions_exchange_and_receipt_events(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    made_before: bool,
) -> None:
    """Permissions generated before a node read its streams' last messages at start (to catch
    a restored store up) still carry everything; the node says it could not check."""
    monkeypatch.setenv("FENGQIAO_NATS_PASSWORD", PASSWORD)
    dalang, qianfeng = Bureau("dongguan-dalang"), Bureau("guangan-qianfeng")
    agreement = write_agreement([dalang, qianfeng], tmp_path / "agreement.yaml")
    leaf = dict(leaf_host=HOST, leaf_port=str(free_port()), leaf_user="leaf", leaf_password="pw")
    hub = _server(
        tmp_path,
        "qianfeng",
        _template(tmp_path, "region-hub.conf", agreement, qianfeng.id, made_before),
        **leaf,
    )
    link = f'"nats-leaf://leaf:pw@{HOST}:{leaf["leaf_port"]}"'
    leaf_template = _template(tmp_path, "region-leaf.conf", agreement, dalang.id, made_before)
    spoke = _server(tmp_path, "dalang", leaf_template, hub_leaf_urls=link)
    handlers = recording_handlers(["dispute.reported"])
    with running(hub, spoke):
        hub.start()
        spoke.start()
        spoke.wait_linked()
        sender = NodeRuntime(
            node_settings(dalang, tmp_path, _url(spoke, dalang.id), "dalang",
                          {qianfeng.id: "qianfeng"}, agreement),
            handlers,
        )  # fmt: skip
        receiver = NodeRuntime(
            node_settings(qianfeng, tmp_path, _url(hub, qianfeng.id), "qianfeng",
                          {dalang.id: "dalang"}, agreement),
            handlers,
        )  # fmt: skip
        node = await sender.start()
        await receiver.start()
        store = sender.settings.data_dir / f"{dalang.id}.db"
        backup = tmp_path / "backup.db"
        try:
            back_up_sqlite(store, backup)
            async with node.unit_of_work() as conn:
                for n in range(20):
                    await node.send(conn, dispute(n), qianfeng.id, "DL")
            await wait_until(lambda: _equals(applied(receiver), 20), 40, "20 applied at Qianfeng")
            await wait_until(lambda: _equals(delivered(sender), 20), 40, "20 receipted at Dalang")
            if not made_before:  # restored from the backup: it catches up from its stream
                await sender.stop()
                restore_sqlite(backup, store)
                sender = NodeRuntime(sender.settings, handlers)
                node = await sender.start()
                async with node.unit_of_work() as conn:
                    await node.send(conn, dispute(20), qianfeng.id, "DL")
                await wait_until(lambda: _equals(applied(receiver), 21), 40, "the 21st applied")
                assert await count(receiver, quarantine) == 0
        finally:
            await sender.stop()
            await receiver.stop()
    could_not_check = [r for r in caplog.records if "whether the store is behind" in r.message]
    assert len(could_not_check) == (2 if made_before else 0)  # one a node
    if not made_before:
        assert "Permissions Violation" not in hub.log.read_text() + spoke.log.read_text()


async def _equals(count, expected: int) -> bool:
    return await count == expected
