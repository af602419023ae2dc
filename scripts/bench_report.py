"""The semiannual report of `make bench`: `count_figures` over a bulk-filled store.

The store is migrated as a node's is, then filled with `events` envelopes (half sent, half
received, all in period 2026-H1) and one dispute row per four events. The envelopes are one real
signed dispute envelope with its id and seq rewritten, stored with their time (sent_at) and
chain hash as a node stores them; the report checks no signature. The count runs in a fresh
process, so that its peak resident memory (VmHWM) is the report's own.

    python scripts/bench_report.py STORE.db [PROFILE]   (the child: prints its figures as JSON,
                                                       and writes a cProfile of the count)
"""

import asyncio
import cProfile
import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from contracts.canonical import sha256_hex
from scripts.bench_nodes import rss_mb
from services.reports.counting import count_figures
from services.reports.period import Period
from services.store.database import Database
from tests.support.envelopes import Exchange

ME, PARTNER = "dongguan-dalang", "guangan-qianfeng"
PERIOD = "2026-H1"
EVENTS_PER_DISPUTE = 4
CHUNK = 20_000


def _envelopes(count: int, base: int) -> Iterator[tuple[str, int, bytes]]:
    # Ids keep the UUIDv7 shape the envelope schema asks for; `base` keeps the two sides apart.
    template = Exchange().envelope()
    wire = template.wire_bytes().replace(f'"seq":{template.seq},'.encode(), b'"seq":%d,')
    wire = wire.replace(template.id.encode(), b"%s")
    for seq in range(1, count + 1):
        event_id = f"{template.id[:24]}{base + seq:012x}"
        yield event_id, seq, wire.replace(b"%s", event_id.encode()) % seq


def _stream_rows(count: int, side: str) -> Iterator[tuple[Any, ...]]:
    # As a node writes them: the envelope's time and the sha256 of its bytes (the chain hash).
    when = "2026-05-20 10:30:00.000000"
    sent = Exchange().envelope().sent_at.strftime("%Y-%m-%d %H:%M:%S.%f")
    for event_id, seq, envelope in _envelopes(count, 0 if side == "outbox" else 1 << 40):
        common = (seq, "dispute.reported", f"case-{seq % 400}", event_id, sha256_hex(envelope))
        if side == "outbox":
            yield (event_id, PARTNER, *common, envelope, sent, "delivered", when, when, when)
        else:
            yield (event_id, PARTNER, *common, envelope, sent, seq, "applied", when)


def _dispute_rows(count: int) -> Iterator[tuple[Any, ...]]:
    holders = json.dumps([ME, PARTNER])
    parties = json.dumps([{"name": "Lao Huang", "home_jurisdiction": PARTNER}])
    for n in range(count):
        # One in a hundred still open: the report lists every open item, at most 10,000.
        resolved = "2026-04-01" if n % 100 else None
        yield (
            f"DL-{n:08d}", ME, "resolved" if resolved else "open", "wages_labour", "low", 1,
            "grid_worker", "Dalang", parties, json.dumps([PARTNER]), holders, "Wages unpaid.",
            "2026-03-02", "H1", str(uuid.uuid4()), str(uuid.uuid4()), "2026-03-02 02:00:00.000000",
            "2026-04-01 02:00:00.000000", resolved and "mediated_agreement", resolved and 98000,
            resolved,
        )  # fmt: skip


INSERTS = {
    "outbox": "INSERT INTO outbox (event_id, recipient, seq, type, subject, correlation, "
    "chain_hash, envelope, sent_at, status, created_at, published_at, delivered_at) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
    "inbox": "INSERT INTO inbox (event_id, sender, seq, type, subject, correlation, chain_hash, "
    "envelope, sent_at, stream_seq, status, applied_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
    "disputes": "INSERT INTO disputes (dispute_id, originator, state, category, risk, level, "
    "lead_source, place, parties, party_jurisdictions, holders, narrative, occurred_on, "
    "handling, correlation, last_event_id, reported_at, updated_at, outcome, "
    "compensation_fen, resolved_on) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
}


def _insert(db: sqlite3.Connection, table: str, rows: Iterator[tuple[Any, ...]]) -> None:
    while chunk := [row for _, row in zip(range(CHUNK), rows, strict=False)]:
        db.executemany(INSERTS[table], chunk)
        db.commit()


def fill(store: Path, events: int) -> float:
    """A migrated store holding `events` envelopes and their disputes; seconds it took."""
    started = time.perf_counter()
    database = Database.open(f"sqlite:///{store}")
    asyncio.run(_migrate(database))
    with sqlite3.connect(store) as db:
        _insert(db, "outbox", _stream_rows(events // 2, "outbox"))
        _insert(db, "inbox", _stream_rows(events - events // 2, "inbox"))
        _insert(db, "disputes", _dispute_rows(events // EVENTS_PER_DISPUTE))
    return time.perf_counter() - started


async def _migrate(database: Database) -> None:
    await database.migrate()
    await database.close()


async def count(store: Path, profile: Path | None = None) -> dict[str, Any]:
    """Run count_figures once over `store`: seconds, resident memory before and at peak."""
    database = Database.open(f"sqlite:///{store}")
    before = rss_mb(os.getpid())
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    async with database.transaction() as conn:
        if profiler:
            profiler.enable()
        figures = await count_figures(conn, ME, [PARTNER], Period.parse(PERIOD))
    seconds = time.perf_counter() - started
    if profiler and profile:
        profiler.disable()
        profiler.dump_stats(profile)
    await database.close()
    heads = {f"{h.sender}->{h.recipient}": h.up_to_seq for h in figures.chain_heads}
    return {"seconds": seconds, "rss_before_mb": before, "peak_mb": _peak_mb(), "heads": heads}


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def measure(root: Path, events: int, profile: Path | None = None) -> dict[str, Any]:
    """Fill a store under `root` with `events` events, then time the report in a child process;
    with `profile` (a folder), the child writes the count's cProfile there (report.prof)."""
    root.mkdir(parents=True, exist_ok=True)
    store = root / "report.db"
    filled = fill(store, events)
    extra = [] if profile is None else [str(profile / "report.prof")]
    child = subprocess.run(
        [sys.executable, __file__, str(store), *extra], capture_output=True, text=True, check=True
    )
    result = json.loads(child.stdout)
    return {
        "report_events": events,
        "report_rows_counted": sum(result["heads"].values()),
        "report_fill_s": filled,
        "report_s": result["seconds"],
        "report_peak_mb": result["peak_mb"],
        "report_rss_before_mb": result["rss_before_mb"],
        f"report_{short(events)}_s": result["seconds"],
        f"report_{short(events)}_peak_mb": result["peak_mb"],
    }


def skipped(events: int, reason: str) -> dict[str, Any]:
    """The report's keys, null, with the reason it was not measured."""
    return {
        "report_events": events,
        "report_s": None,
        "report_peak_mb": None,
        f"report_{short(events)}_s": None,
        f"report_{short(events)}_peak_mb": None,
        "skipped": {"report": reason},
    }


def short(events: int) -> str:
    return f"{events // 1_000_000}m" if events >= 1_000_000 else f"{events // 1000}k"


if __name__ == "__main__":
    print(json.dumps(asyncio.run(count(Path(sys.argv[1]), *map(Path, sys.argv[2:3])))))
