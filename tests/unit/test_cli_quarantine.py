"""`fengqiao quarantine list|redrive` on a node's own store: listing needs the store alone,
re-driving needs the node's keys; each mistake is one error line."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from gateway.cli import create_app
from services.store.database import Database
from services.store.tables import quarantine

runner = CliRunner()


def run(config: Path, *words: str):
    wide = {"COLUMNS": "200"}  # the table on one line per entry
    return runner.invoke(create_app(), [*words, "--config", str(config)], env=wide)


def hold(config: Path, reason: str) -> None:
    """A held entry in the node's store, as the inbox leaves one."""

    async def insert() -> None:
        db = Database.open(f"sqlite:///{config.parent / 'var' / 'dongguan-dalang.db'}")
        try:
            async with db.transaction() as conn:
                await conn.execute(
                    quarantine.insert().values(
                        received_at=datetime(2026, 12, 6, 9, 30, tzinfo=UTC),
                        reason=reason,
                        detail="the agreement in force does not permit it",
                        sender="guangan-qianfeng",
                        event_id="0b4e3c7a-1f7e-4d3c-9a55-5c2f0e9d8a11",
                        raw=b"{}",
                        status="held",
                    )
                )
        finally:
            await db.close()

    asyncio.run(insert())


def test_held_entries_are_listed_from_the_store_without_the_node_keys(config: Path) -> None:
    assert run(config, "node", "migrate").exit_code == 0
    hold(config, "not_permitted")

    result = run(config, "quarantine", "list")

    assert result.exit_code == 0, result.output
    assert "not_permitted" in result.stdout and "guangan-qianfeng" in result.stdout
    assert result.stdout.strip().endswith("1 entry")


def test_redriving_without_the_node_keys_is_one_error_line_naming_the_fix(
    config: Path, tmp_path: Path
) -> None:
    result = run(config, "quarantine", "redrive", "1")

    assert result.exit_code == 2
    keys = tmp_path / "var" / "keys"
    assert result.stderr.strip() == (
        f"error: no keys for dongguan-dalang in {keys}: create them with "
        f"`fengqiao keys new --jurisdiction dongguan-dalang --dir {keys}`"
    )


def test_redriving_an_entry_not_held_is_one_error_line(config: Path, tmp_path: Path) -> None:
    keys = tmp_path / "var" / "keys"
    made = runner.invoke(
        create_app(), ["keys", "new", "--jurisdiction", "dongguan-dalang", "--dir", str(keys)]
    )
    assert made.exit_code == 0, made.output

    result = run(config, "quarantine", "redrive", "7")

    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "7" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
