"""The two nodes of `make bench` as OS processes, and what the bench reads of them from outside:
resident memory (/proc) and their SQLite stores (read-only, so the nodes' writers never wait).
"""

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from services.settings import NodeSettings

NODE_SCRIPT = Path(__file__).resolve().parent / "bench_node.py"


class NodeProcessFailed(RuntimeError):
    """A bench node exited or answered nothing."""


def rss_mb(pid: int) -> float:
    """Resident memory in MB (VmRSS from /proc) of process `pid` and the processes it started
    (a node's verification workers)."""
    own, *started = family(pid)
    found = _rss_mb(own)
    if found is None:
        raise NodeProcessFailed(f"no VmRSS for pid {pid}")
    return found + sum(_rss_mb(p) or 0.0 for p in started)  # a worker may end meanwhile


def _rss_mb(pid: int) -> float | None:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None  # a process on its way out has no VmRSS line


def family(pid: int) -> list[int]:
    """`pid` and its live descendants (/proc/<pid>/task/*/children)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                queue += [int(child) for child in task.read_text().split()]
            except OSError:
                continue
    return found


@dataclass
class NodeProcess:
    """One node running scripts/bench_node.py with `settings`, driven over its stdin/stdout."""

    settings: NodeSettings
    profile: Path | None = None
    """Where to write a cProfile of the node when it stops, if anywhere."""
    process: subprocess.Popen[str] | None = field(default=None, repr=False)
    ready: dict[str, Any] = field(default_factory=dict, repr=False)
    """What the node said once ready: its API's URL (`api`) and a mediator's `token`."""

    @property
    def store(self) -> Path:
        return Path(self.settings.store_url.removeprefix("sqlite:///"))

    @property
    def pid(self) -> int:
        if self.process is None:
            raise NodeProcessFailed(f"{self.settings.jurisdiction} is not running")
        return self.process.pid

    def start(self) -> float:
        """Start the process; seconds until the node said it is ready."""
        data = self.settings.data_dir
        config = data / "bench-settings.json"
        config.write_text(self.settings.model_dump_json())
        profiler = []
        if self.profile is not None:
            out = self.profile / f"{self.settings.jurisdiction}-{time.time():.0f}.prof"
            profiler = ["-m", "cProfile", "-o", str(out)]
        started = time.perf_counter()
        with (data / "node.log").open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, *profiler, str(NODE_SCRIPT), str(config)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        self.ready = self._answer()
        return time.perf_counter() - started

    def command(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send one command line; its one reply line."""
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()
        return self._answer()

    def _answer(self) -> dict[str, Any]:
        assert self.process is not None
        stdout: IO[str] | None = self.process.stdout
        line = stdout.readline() if stdout is not None else ""
        if not line:
            log = (self.settings.data_dir / "node.log").read_text()[-3000:]
            raise NodeProcessFailed(f"{self.settings.jurisdiction} exited:\n{log}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the node to stop (it drains and closes its store); kill it if it hangs."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        assert process.stdin is not None
        process.stdin.write(json.dumps({"stop": True}) + "\n")
        process.stdin.close()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cpu_s(pid: int, descendants: bool = True) -> float:
    """CPU seconds (user + system) process `pid` has used so far, all its threads, and its live
    descendants (a node's verification workers, started during the phase measured) (/proc)."""
    total = 0.0
    for member in family(pid) if descendants else [pid]:
        try:
            stat = Path(f"/proc/{member}/stat").read_text()
        except OSError:
            if member == pid:
                raise
            continue
        fields = stat.rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


CLIENT = "bench (HTTP client)"
"""The bench's own process as a CPU figure names it: measured, but not in the total."""


def per_event_ms(used: dict[str, float], events: int) -> dict[str, float]:
    """CPU milliseconds per event of each process, and the total of the nodes and servers."""
    figures = {name: round(seconds * 1000 / events, 3) for name, seconds in used.items()}
    total = sum(ms for name, ms in figures.items() if name != CLIENT)
    return figures | {"total": round(total, 3)}


class CpuWatch:
    """CPU seconds each named process spends between enter and exit, with its descendants but
    for those named `alone`; a process that is not running at either end is left out."""

    def __init__(self, pids: dict[str, int | None], alone: frozenset[str] = frozenset()) -> None:
        self.pids = {name: pid for name, pid in pids.items() if pid is not None}
        self.alone = alone
        self.used: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        found = {}
        for name, pid in self.pids.items():
            try:
                found[name] = cpu_s(pid, descendants=name not in self.alone)
            except OSError:
                continue
        return found

    def __enter__(self) -> "CpuWatch":
        self._start = self._now()
        return self

    def started(self, name: str, pid: int) -> None:
        """Count a process that started after enter, from its start."""
        self.pids[name] = pid
        self._start[name] = 0.0

    def __exit__(self, *exc: object) -> None:
        end = self._now()
        self.used = {n: end[n] - self._start[n] for n in end if n in self._start}


class MemoryWatch:
    """Samples the resident memory of some processes in a thread; keeps each one's peak."""

    def __init__(self, nodes: Iterable[NodeProcess], every_s: float = 0.1) -> None:
        self.nodes = list(nodes)
        self.every_s = every_s
        self.peak: dict[str, float] = {n.settings.jurisdiction: 0.0 for n in self.nodes}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "MemoryWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(self.every_s):
            for node in self.nodes:
                if node.process is None or node.process.poll() is not None:
                    continue
                name = node.settings.jurisdiction
                try:
                    self.peak[name] = max(self.peak[name], rss_mb(node.pid))
                except (OSError, NodeProcessFailed):
                    continue


def _read(store: Path, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=30) as db:
        return db.execute(query, args).fetchall()


def applied_events(store: Path) -> int:
    """Dispute events applied in this store's inbox."""
    query = "SELECT count(*) FROM inbox WHERE status = 'applied' AND type = 'dispute.reported'"
    return int(_read(store, query)[0][0])


def stream_position(store: Path, sender: str) -> int:
    """The last seq this store applied from `sender` (one primary-key read).

    The inbox takes a stream's envelopes strictly in order, so position N means all of the first
    N are committed; waiting on it costs the bench nothing, where counting the inbox every 10 ms
    would scan the whole table (envelopes included) each time and take a core from the nodes.
    """
    query = "SELECT applied_seq FROM inbound_streams WHERE sender = ?"
    rows = _read(store, query, sender)
    return int(rows[0][0]) if rows else 0


def quarantined(store: Path) -> int:
    """Envelopes in this store's quarantine."""
    return int(_read(store, "SELECT count(*) FROM quarantine")[0][0])


def pending_outbox(store: Path) -> int:
    """Outbox rows not yet acknowledged by JetStream."""
    return int(_read(store, "SELECT count(*) FROM outbox WHERE status = 'pending'")[0][0])


def applied_at(store: Path, event_ids: list[str]) -> dict[str, float]:
    """When the inbox applied each of these events (POSIX seconds)."""
    return _moments(store, "SELECT event_id, applied_at FROM inbox", event_ids)


def composed_at(store: Path, event_ids: list[str]) -> dict[str, float]:
    """Each of these outbox envelopes' time: when the node accepting its event composed it,
    in the transaction that committed it (POSIX seconds, to the millisecond)."""
    return _moments(store, "SELECT event_id, sent_at FROM outbox", event_ids)


def _moments(store: Path, select: str, event_ids: list[str]) -> dict[str, float]:
    found: dict[str, float] = {}
    for start in range(0, len(event_ids), 500):
        chunk = event_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for event_id, when in _read(store, f"{select} WHERE event_id IN ({marks})", *chunk):
            found[event_id] = _posix(when)
    return found


def _posix(stored: str) -> float:
    moment = datetime.fromisoformat(stored)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def wait_for(check: Any, timeout: float, what: str, every_s: float = 0.01) -> float:
    """Poll `check()` until true; the seconds it took. Fails naming `what` after `timeout`."""
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every_s)
    return time.perf_counter() - started
