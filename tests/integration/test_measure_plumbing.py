"""`scripts/measure_plumbing.py` runs through in both modes, with tiny counts (its figures are
measurements, not judged here): a script that no test runs breaks unnoticed."""

import subprocess
import sys
from pathlib import Path

from scripts.measure_plumbing import SUMMARY

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = str(ROOT / "scripts" / "measure_plumbing.py")


def _run(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, SCRIPT, "--runs", "1", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _figures(output: str) -> dict[str, float]:
    """The `name  min - max` lines of the summary, as name -> min."""
    lines = output.split("(min-max over runs):\n", 1)[1].splitlines()
    return {line.split()[0]: float(line.split()[1]) for line in lines if line.strip()}


def test_the_plumbing_figures_come_out_for_every_part() -> None:
    figures = _figures(_run("--events", "600"))
    assert set(figures) == set(SUMMARY)
    assert figures["receive_cpu_us"] > figures["verify_us"] > 0


def test_small_rounds_publish_and_settle_each_round_whole() -> None:
    # Each round asserts it published, and each batch that it settled, exactly its size.
    figures = _figures(_run("--small-rounds", "--rounds", "5"))
    assert set(figures) == {
        "relay_round_of_1_cpu_us",
        "relay_round_of_10_cpu_us",
        "receive_batch_of_1_cpu_us",
        "receive_batch_of_10_cpu_us",
    }
    assert all(value > 0 for value in figures.values())
