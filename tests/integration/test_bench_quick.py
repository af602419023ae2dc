"""`scripts/bench.py --quick` runs end to end and counts right; its timings are not judged here."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIGURES = [
    "raw_js_publish_per_s",
    "raw_js_publish_one_by_one_per_s",
    "raw_js_consume_per_s",
    "raw_js_through_per_s",
    "ratio_through",
    "raw_js_through_cpu_ms_per_event",
    "ratio_to_bus_alone",
    "e2e_events_per_s",
    "ratio",
    "e2e_single_events_per_s",
    "e2e_in_process_events_per_s",
    "ratio_in_process",
    "e2e_cpu_ms_per_event",
    "ratio_target_cpu_ms_per_event",
    "e2e_cpu_over_ratio_target",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "api_p99_ms",
    "backlog_s",
    "idle_rss_mb",
    "load_rss_mb",
    "report_s",
    "report_peak_mb",
]


def test_quick_bench_commits_every_event_once_and_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(out.read_text())
    phases = [
        "warmup_events",
        "e2e_events",
        "e2e_single_events",
        "e2e_in_process_events",
        "latency_events",
        "api_latency_events",
        "backlog_events",
    ]
    sent = sum(figures[phase] for phase in phases)
    assert figures["events_sent"] == sent == 500 + 1_000 + 200 + 1_000 + 400 + 400 + 2_000
    assert figures["events_committed"] == sent
    assert figures["events_quarantined"] == 0
    assert figures["report_events"] == figures["report_rows_counted"] == 10_000
    for key in FIGURES:
        assert isinstance(figures[key], int | float) and figures[key] > 0, key
    assert figures["machine"]["cpus"] >= 1
    # The ratio's baseline: the median of the bounded publish's rounds.
    rounds = sorted(figures["raw_js_publish_rounds_per_s"])
    assert len(rounds) == 5 and all(rate > 0 for rate in rounds)
    assert figures["raw_js_publish_per_s"] == rounds[2]
    # What the ratio target leaves an event, from this run's raw rate and the machine's CPUs.
    allowed = figures["machine"]["cpus"] * 1000 / (0.6 * figures["raw_js_publish_per_s"])
    assert figures["ratio_target_cpu_ms_per_event"] == round(allowed, 4)
    used = figures["e2e_cpu_ms_per_event_by_process"]["total"]
    assert figures["e2e_cpu_ms_per_event"] == used
    assert figures["e2e_cpu_over_ratio_target"] == round(used / allowed, 2)
    # The bus alone: its own streams, every message acked at the hub, four processes' CPU.
    assert figures["raw_js_through_events"] == 2_000
    assert (
        figures["ratio_through"]
        == figures["raw_js_through_per_s"] / figures["raw_js_publish_per_s"]
    )
    alone = figures["raw_js_through_cpu_ms_per_event_by_process"]
    assert set(alone) == {
        "nats-server dalang", "nats-server qianfeng", "publisher (bench)", "consumer", "total"
    }  # fmt: skip
    assert alone["total"] == figures["raw_js_through_cpu_ms_per_event"] > 0
    assert figures["nats_server"].startswith("nats-server")
    assert "raw JetStream publish" in done.stdout
    # Progress on stderr as each phase starts, in the order they run.
    phases = [
        "raw JetStream",
        "the bus alone",
        "warm-up",
        "end to end",
        "latency",
        "backlog",
        "report",
    ]
    at = [done.stderr.find(f"] {phase}") for phase in phases]
    assert -1 not in at and at == sorted(at), done.stderr
