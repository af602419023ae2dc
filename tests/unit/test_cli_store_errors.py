"""A store that cannot be opened is one error line from every command that opens it: which
store (its password left out), why, and what to check; never a traceback."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli import create_app
from services.embedded_nats import free_port

runner = CliRunner()

COMMANDS = [
    ["node", "run"],  # its keys there, the store is what stops it
    ["node", "migrate"],
    ["users", "list"],
    ["quarantine", "list"],
    ["report", "export", "--period", "2026-H1", "--format", "json"],
    ["log", "verify"],
]


def unreachable_store(tmp_path: Path) -> tuple[Path, int]:
    """Settings naming a PostgreSQL store on a port nothing listens on, and the port."""
    port = free_port()
    config = tmp_path / "node.toml"
    config.write_text(
        'jurisdiction = "dongguan-dalang"\n'
        f'data_dir = "{tmp_path / "var"}"\n'
        f"http_port = {free_port()}\n"
        f'database_url = "postgresql://fengqiao:s3cret@127.0.0.1:{port}/fengqiao"\n'
    )
    return config, port


@pytest.mark.parametrize("words", COMMANDS, ids=" ".join)
def test_a_database_server_that_is_not_there(tmp_path: Path, words: list[str]) -> None:
    config, port = unreachable_store(tmp_path)

    keys = ["keys", "new", "--jurisdiction", "dongguan-dalang", "--dir", str(tmp_path / "var/keys")]
    assert runner.invoke(create_app(), keys).exit_code == 0

    result = runner.invoke(create_app(), [*words, "--config", str(config)])

    assert result.exit_code == 2, result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(
        f"error: cannot open the store postgresql+asyncpg://fengqiao@127.0.0.1:{port}/fengqiao: "
    )
    assert "Connect call failed" in line
    assert line.endswith("; check database_url and that its server runs")
    assert "s3cret" not in result.output
