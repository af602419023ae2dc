"""`make bench`: the bus end to end against raw JetStream, on this machine, in one run.

    .venv/bin/python scripts/bench.py [--quick] [--out build/bench.json]
    .venv/bin/python scripts/bench.py --only report [--report-events 100000] [--profile DIR]

Starts two regions (two nats-servers, two JetStream domains, a leaf link) and two nodes as separate
OS processes (Dalang on the leaf region sends, Qianfeng on the hub region receives), then measures:
raw JetStream publish and consume, and the bus alone (published into the sender's outbound stream,
sourced over the leaf link, consumed and acked at the hub, no node); events/s end to end (dispute
reports accepted by Dalang's API -> signed -> outbox -> JetStream -> leaf link -> verified ->
committed in Qianfeng's inbox), through the batch API, through single requests and, without HTTP,
enqueued by Dalang's node itself; latency accept -> partner commit at a fixed offered load
(enqueued by the node, and through the batch API); the drain of a backlog built while the receiver
was down; the semiannual report over a bulk-filled store; and resident memory.
Writes build/bench.json and prints a table. docs/performance.md explains each figure.
"""

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts import bench_raw, bench_report
from scripts.bench_phases import Bench, start_bench
from tests.support.envelopes import Exchange
from tests.support.nats import nats_server_binary, running, two_regions

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "build" / "bench.json"
RATIO_TARGET = 0.6
"""Issue 6: end to end at least this share of the raw bounded publish rate."""


@dataclass(frozen=True)
class Sizes:
    """How much each phase does; --quick is a smoke run that only checks the counts."""

    raw_messages: int
    warmup_events: int
    e2e_events: int
    single_events: int
    latency_rate: float
    latency_events: int
    backlog_events: int
    report_events: int


DEFAULT = Sizes(50_000, 5_000, 20_000, 5_000, 500.0, 10_000, 100_000, 1_000_000)
QUICK = Sizes(2_000, 500, 1_000, 200, 200.0, 400, 2_000, 10_000)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    server = subprocess.run(
        [str(nats_server_binary()), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    packages = [
        "nats-py",
        "SQLAlchemy",
        "aiosqlite",
        "cryptography",
        "pydantic",
        "rfc8785",
        "orjson",
    ]
    return {
        "machine": {"cpus": os.cpu_count(), "cpu_model": model, "arch": platform.machine()},
        "python": platform.python_version(),
        "nats_server": server,
        "packages": {name: version(name) for name in packages},
    }


class Progress:
    """One line on stderr as each phase starts, with the time since the run started."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, phase: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f} s] {phase}", file=sys.stderr, flush=True)


def run_nodes(root: Path, sizes: Sizes, profile: Path | None, progress: Progress) -> dict[str, Any]:
    """Raw baseline and every phase that needs the two regions and the two nodes."""
    progress("two regions: nats-servers starting, leaf link")
    regions = two_regions(root)
    with running(*regions.servers):
        payload = b"x" * len(Exchange().envelope().wire_bytes())
        figures: dict[str, Any] = {"envelope_bytes": len(payload)}
        progress(f"raw JetStream: {sizes.raw_messages:,} published, then consumed")
        figures |= asyncio.run(bench_raw.measure(regions.leaf, sizes.raw_messages, payload))
        progress(f"the bus alone: {sizes.raw_messages:,} published, sourced, consumed")
        figures |= asyncio.run(
            bench_raw.through(regions.leaf, "dalang", regions.hub, sizes.raw_messages, payload)
        )
        progress("two nodes starting")
        bench: Bench = start_bench(root, regions, profile)
        paced = f"{sizes.latency_events:,} at {sizes.latency_rate:,.0f}/s"
        try:
            progress("idle memory")
            figures |= bench.idle_memory()
            progress(f"warm-up: {sizes.warmup_events:,} through the batch API")
            figures |= bench.warm_up(sizes.warmup_events)
            progress(f"end to end: {sizes.e2e_events:,} through the batch API")
            figures |= bench.throughput(sizes.e2e_events)
            progress(f"end to end: {sizes.single_events:,} single requests")
            figures |= bench.single_requests(sizes.single_events)
            progress(f"end to end: {sizes.e2e_events:,} enqueued in the node")
            figures |= bench.in_process(sizes.e2e_events)
            progress(f"latency: {paced}, enqueued in the node")
            figures |= bench.latency(sizes.latency_events, sizes.latency_rate)
            progress(f"latency: {paced}, through the batch API")
            figures |= bench.api_latency(sizes.latency_events, sizes.latency_rate)
            progress(
                f"backlog: {sizes.backlog_events:,} accepted with the receiver down, then drained"
            )
            figures |= bench.backlog(sizes.backlog_events)
            figures |= bench.totals()
        finally:
            bench.stop()
    raw = figures["raw_js_publish_per_s"]
    figures["ratio"] = figures["e2e_events_per_s"] / raw
    figures["ratio_through"] = figures["raw_js_through_per_s"] / raw
    figures["ratio_to_bus_alone"] = figures["e2e_events_per_s"] / figures["raw_js_through_per_s"]
    figures |= cpu_for_ratio(raw, figures["e2e_cpu_ms_per_event_by_process"]["total"])
    figures["ratio_single"] = figures["e2e_single_events_per_s"] / raw
    figures["ratio_in_process"] = figures["e2e_in_process_events_per_s"] / raw
    return figures


def cpu_for_ratio(raw_per_s: float, used_ms: float, cpus: int | None = None) -> dict[str, Any]:
    """What the ratio target leaves an event: every CPU of the machine busy carrying
    RATIO_TARGET x the raw rate end to end, against the CPU an event took through the batch API
    (both nodes with their workers, both nats-servers; the bench's client apart)."""
    cpus = cpus or os.cpu_count() or 1
    allowed = cpus * 1000 / (RATIO_TARGET * raw_per_s)
    return {
        "ratio_target": RATIO_TARGET,
        "ratio_target_cpu_ms_per_event": round(allowed, 4),
        "e2e_cpu_ms_per_event": used_ms,
        "e2e_cpu_over_ratio_target": round(used_ms / allowed, 2),
    }


def table(figures: dict[str, Any]) -> str:
    """The headline figures, one a line."""
    rows = [
        ("raw JetStream publish, 256 in flight", "raw_js_publish_per_s", "/s"),
        ("raw JetStream publish, one by one", "raw_js_publish_one_by_one_per_s", "/s"),
        ("raw JetStream pull consume + ack", "raw_js_consume_per_s", "/s"),
        ("bus alone: published, sourced, acked", "raw_js_through_per_s", "/s"),
        ("ratio bus alone / raw bounded", "ratio_through", ""),
        ("CPU an event, bus alone", "raw_js_through_cpu_ms_per_event", "ms"),
        ("end to end, batch API (500 a request)", "e2e_events_per_s", "events/s"),
        ("ratio end to end / raw bounded", "ratio", ""),
        ("ratio end to end / bus alone", "ratio_to_bus_alone", ""),
        ("CPU an event, batch API, all processes", "e2e_cpu_ms_per_event", "ms"),
        ("CPU an event the ratio target allows", "ratio_target_cpu_ms_per_event", "ms"),
        ("end to end, single requests", "e2e_single_events_per_s", "events/s"),
        ("end to end, enqueued in the node", "e2e_in_process_events_per_s", "events/s"),
        ("ratio enqueued in the node / raw", "ratio_in_process", ""),
        ("latency p50, enqueued in the node", "p50_ms", "ms"),
        ("latency p95, enqueued in the node", "p95_ms", "ms"),
        ("latency p99, enqueued in the node", "p99_ms", "ms"),
        ("latency p50, batch API (10 a request)", "api_p50_ms", "ms"),
        ("latency p99, batch API (10 a request)", "api_p99_ms", "ms"),
        (f"backlog of {figures.get('backlog_events')} drained", "backlog_s", "s"),
        ("report over the stored events", "report_s", "s"),
        ("report peak memory", "report_peak_mb", "MB"),
        ("idle RSS (largest node)", "idle_rss_mb", "MB"),
        ("RSS under load (largest node)", "load_rss_mb", "MB"),
    ]
    lines = []
    for label, key, unit in rows:
        value = figures.get(key)
        fine = key.startswith("ratio") or key.endswith("_ms_per_event")
        shown = "null" if value is None else f"{value:,.3f}" if fine else f"{value:,.1f}"
        lines.append(f"  {label:<40} {shown:>12} {unit}")
    return "\n".join(lines)


def report(root: Path, events: int, skip: bool, profile: Path | None) -> dict[str, Any]:
    """The report's figures, or nulls and the reason they are missing."""
    if skip:
        return bench_report.skipped(events, "--skip-report was given")
    try:
        return bench_report.measure(root / "report", events, profile)
    except subprocess.CalledProcessError as failure:
        return bench_report.skipped(events, f"the count failed: {failure.stderr[-500:]}")


def main() -> None:
    """Run every phase, write the JSON, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--profile", type=Path, help="write each node's and the report's cProfile into this folder"
    )
    parser.add_argument("--skip-report", action="store_true", help="leave the report out (null)")
    parser.add_argument(
        "--only", choices=["report"], help="this phase alone (into build/bench-report.json)"
    )
    parser.add_argument("--report-events", type=int, help="events in the report's store")
    args = parser.parse_args()
    sizes = QUICK if args.quick else DEFAULT
    if args.report_events is not None:
        sizes = replace(sizes, report_events=args.report_events)
    if args.only and args.out == DEFAULT_OUT:
        args.out = ROOT / "build" / f"bench-{args.only}.json"
    figures: dict[str, Any] = {"quick": args.quick} | machine()
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    # The stores (over 2 GB for the 1 M report) go when the run ends, however it ends.
    with tempfile.TemporaryDirectory(prefix="fq-bench-") as scratch:
        root = Path(scratch)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        progress = Progress()
        if args.only is None:
            figures |= run_nodes(root, sizes, args.profile, progress)
            # Written before the report too: a failing report must not lose the node figures.
            args.out.write_text(json.dumps(figures, indent=2) + "\n")
        if not args.skip_report:
            progress(f"report: a store of {sizes.report_events:,} events filled, then counted")
        figures |= report(root, sizes.report_events, args.skip_report, args.profile)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"{figures['machine']}, Python {figures['python']}, {figures['nats_server']}")
    print(table(figures))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
