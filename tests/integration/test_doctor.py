"""`fengqiao doctor` against real set-ups: two NATS regions joined by a leaf node (started here),
a SQLite store, key files and a signed agreement. A sound set-up passes; each broken part is
named with its fix, and the exit code says something is wrong."""

import asyncio
from dataclasses import dataclass
from pathlib import Path

import nats
import pytest
from typer.testing import CliRunner

from gateway.cli import create_app
from services.bus.transport import ensure_outbound_stream
from tests.support.api import DALANG, QIANFENG, registry_agreement
from tests.support.live import write_keys
from tests.support.nats import NatsServer, TwoRegions, free_port
from tests.support.trust import Bureau

runner = CliRunner()


@dataclass
class SetUp:
    config: Path
    data: Path
    regions: TwoRegions

    def doctor(self) -> tuple[int, str]:
        result = runner.invoke(
            create_app(),
            ["doctor", "--config", str(self.config), "--timeout", "1"],
            env={"COLUMNS": "200"},
        )
        return result.exit_code, result.output

    def migrate(self) -> None:
        result = runner.invoke(create_app(), ["node", "migrate", "--config", str(self.config)])
        assert result.exit_code == 0, result.output


async def _declare(server: NatsServer, jurisdiction: str) -> None:
    nc = await nats.connect(server.url)
    try:
        await ensure_outbound_stream(nc.jetstream(), jurisdiction)
    finally:
        await nc.close()


def _write_config(path: Path, data: Path, nats_url: str, agreement: Path) -> Path:
    path.write_text(
        f'jurisdiction = "{DALANG.id}"\n'
        f'data_dir = "{data}"\n'
        f'nats_url = "{nats_url}"\n'
        'js_domain = "dalang"\n'
        f'agreements = ["{agreement}"]\n'
        "[[partners]]\n"
        f'jurisdiction = "{QIANFENG.id}"\n'
        'domain = "qianfeng"\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def setup(two_regions: TwoRegions, tmp_path: Path) -> SetUp:
    """Dalang's node in the leaf region, Qianfeng's stream in the hub region; store not migrated."""
    data = tmp_path / "node"
    (data / "keys").mkdir(parents=True)
    write_keys(DALANG, data / "keys")
    agreement = registry_agreement([DALANG, QIANFENG], tmp_path / "agreement.yaml")
    asyncio.run(_declare(two_regions.leaf, DALANG.id))
    asyncio.run(_declare(two_regions.hub, QIANFENG.id))
    config = _write_config(tmp_path / "node.toml", data, two_regions.leaf.url, agreement)
    return SetUp(config, data, two_regions)


def _line(output: str, check: str) -> str:
    """The table row of `check`, its wrapped cells joined: mark, check, found, fix."""
    rows: list[list[str]] = []
    for line in output.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) != 4:
            continue
        if cells[1]:
            rows.append(cells)
        elif rows:
            rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells, strict=True)]
    return next(" | ".join(row) for row in rows if row[1] == check)


def test_a_sound_set_up_passes_every_check(setup: SetUp):
    setup.migrate()
    code, output = setup.doctor()
    assert code == 0, output
    assert "✗" not in output
    for check in ("agreement", "keys", "key expiry", "NATS", "JetStream domain", "clock skew"):
        assert "✓" in _line(output, check), output
    assert "domain qianfeng (guangan-qianfeng) answers" in _line(output, "leaf link")
    assert "OUT_guangan-qianfeng visible" in _line(output, "partner stream")
    assert "migrated to the newest schema" in _line(output, "store")
    assert "ready to go live" in output


def test_a_key_file_the_agreement_does_not_list_fails_with_its_fix(setup: SetUp):
    setup.migrate()
    for old in (setup.data / "keys").glob("*.pem"):
        old.unlink()
    write_keys(Bureau(DALANG.id), setup.data / "keys")  # a new pair, never put in the agreement
    code, output = setup.doctor()
    assert code == 1
    keys = _line(output, "keys")
    assert "✗" in keys
    assert f"expects signing key {DALANG.sig_kid}" in keys
    assert "fengqiao keys new" in keys


def test_an_unmigrated_store_fails_with_the_migrate_command(setup: SetUp):
    code, output = setup.doctor()
    assert code == 1
    store = _line(output, "store")
    assert "✗" in store and "no store at" in store
    assert f"fengqiao node migrate --config {setup.config}" in store
    setup.migrate()
    assert setup.doctor()[0] == 0


def test_unreachable_nats_fails_and_the_checks_behind_it_are_skipped(setup: SetUp, tmp_path: Path):
    setup.migrate()
    agreement = tmp_path / "agreement.yaml"
    port = free_port()
    _write_config(setup.config, setup.data, f"nats://dalang:s3cret@127.0.0.1:{port}", agreement)
    code, output = setup.doctor()
    assert code == 1
    nats_line = _line(output, "NATS")
    assert "✗" in nats_line and f"cannot reach nats://dalang@127.0.0.1:{port}" in nats_line
    assert "s3cret" not in output
    assert "systemctl start nats-server" in nats_line
    assert "NATS unreachable" in _line(output, "leaf link")


def test_a_cut_leaf_link_is_reported_with_what_to_check(setup: SetUp):
    setup.migrate()
    setup.regions.leaf.cut_link()
    code, output = setup.doctor()
    assert code == 1
    link = _line(output, "leaf link")
    assert "✗" in link and "leaf-node link is down" in link
    assert "leafnodes" in link
    assert "no link to qianfeng" in _line(output, "partner stream")
