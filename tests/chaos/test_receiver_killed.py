"""The receiving node is killed (SIGKILL) while applying and restarted: none lost, none doubled."""

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from services.store.database import Database
from tests.chaos.conftest import EVENTS, Exchange
from tests.support.databases import drop_postgres, fresh_postgres_url
from tests.support.live import wait_until
from tests.support.probe import applications, probe_report

ROOT = Path(__file__).resolve().parents[2]


def _start(settings_file: Path) -> subprocess.Popen[bytes]:
    log = (settings_file.parent / "node.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.node_process", str(settings_file)],
        cwd=ROOT,
        stdout=log,
        stderr=log,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
    )


async def _applied(db: Database) -> int:
    try:
        return await applications(db)
    except Exception:
        return 0


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_receiver_killed_while_applying_applies_everything_exactly_once(
    exchange: Exchange, backend: str
) -> None:
    # The in-process receiver steps aside: the receiving node runs as its own process.
    await exchange.receiver.stop()
    database_url = await fresh_postgres_url() if backend == "postgresql" else None
    settings = exchange.receiver.settings.model_copy(
        update={"database_url": database_url, "data_dir": exchange.root / "qianfeng-process"}
    )
    settings.data_dir.mkdir()
    settings_file = settings.data_dir / "settings.json"
    settings_file.write_text(settings.model_dump_json())
    db = Database.open(settings.store_url)
    process = _start(settings_file)
    try:
        sending = asyncio.create_task(exchange.send_all())
        await wait_until(lambda: _more_than(_applied(db), EVENTS // 4), 120, "a quarter applied")
        process.send_signal(signal.SIGKILL)
        process.wait()
        killed_at = await _applied(db)
        assert killed_at < EVENTS
        process = _start(settings_file)
        await sending
        await wait_until(lambda: _more_than(_applied(db), EVENTS - 1), 240, "all applied")
        report = await probe_report(db)
        assert (report.applications, report.distinct_events) == (EVENTS, EVENTS)
        assert report.cases_out_of_order == []
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        await db.close()
        if database_url:
            await drop_postgres(database_url)


async def _more_than(value, floor: int) -> bool:  # type: ignore[no-untyped-def]
    return await value > floor
