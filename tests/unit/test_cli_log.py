"""`fengqiao log verify` on a node's own store: what it says of a missing one, of an empty one,
and that it reads beside a running node without waiting for the node's write lock."""

import contextlib
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from gateway.cli import create_app

runner = CliRunner()


def run(config: Path, *words: str):
    return runner.invoke(create_app(), [*words, "--config", str(config)])


def test_a_store_not_yet_created_is_one_error_line_naming_the_fix(
    config: Path, tmp_path: Path
) -> None:
    result = run(config, "log", "verify")

    assert result.exit_code == 2
    store = f"sqlite:///{tmp_path / 'var' / 'dongguan-dalang.db'}"
    assert result.stderr.strip() == (
        f"error: no store at {store}; create and migrate it: "
        f"`fengqiao node migrate --config {config}`"
    )


def test_a_store_held_by_a_running_node_is_verified_without_waiting_for_its_write_lock(
    config: Path, tmp_path: Path
) -> None:
    assert run(config, "node", "migrate").exit_code == 0
    store = tmp_path / "var" / "dongguan-dalang.db"
    with contextlib.closing(sqlite3.connect(store, isolation_level=None)) as node:
        node.execute("BEGIN IMMEDIATE")  # the node's batch, open: a unit of work would wait
        node.execute(
            "INSERT INTO outbound_streams VALUES ('guangan-qianfeng', 1, ?, 0)", ("a" * 64,)
        )
        result = run(config, "log", "verify")
        node.execute("ROLLBACK")

    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("0 stream(s) intact")
