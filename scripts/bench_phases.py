"""The node phases of `make bench`: Dalang's node (leaf region) sends, Qianfeng's (hub) receives.

Every phase numbers its events on from the last one, so that at the end the receiver must hold
exactly the total sent, each applied once (the inbox's primary key is the event id).
"""

import asyncio
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats

from scripts.bench_api import post_reports
from scripts.bench_nodes import (
    CLIENT,
    CpuWatch,
    MemoryWatch,
    NodeProcess,
    applied_at,
    applied_events,
    composed_at,
    family,
    pending_outbox,
    per_event_ms,
    quarantined,
    rss_mb,
    stream_position,
    wait_for,
)
from scripts.bench_report import short
from services.bus.topology import inbound_stream
from services.settings import NodeSettings
from tests.chaos.conftest import DALANG, QIANFENG
from tests.support.live import declare_outbound_streams, node_settings, write_agreement
from tests.support.nats import TwoRegions

BATCH = 500
"""Events a batch request (or a `send_many` transaction) when Dalang accepts as fast as it can."""
BATCH_IN_FLIGHT = 2
"""Batch requests at a time: one is read and checked while the other commits."""
SINGLE_IN_FLIGHT = 16
"""Single requests at a time: many mediators reporting at once."""
PACED_BATCH = 10
"""Events a transaction (or reports a request) at a fixed offered load: many small batches."""
PACED_IN_FLIGHT = 4
"""Paced requests at a time at most: one answered late does not hold the next ones back."""


@dataclass
class Bench:
    """The two running nodes, and how many events Dalang has sent so far."""

    regions: TwoRegions
    sender: NodeProcess
    receiver: NodeProcess
    sent: int = 0
    load_peak: dict[str, float] = field(default_factory=dict)

    @property
    def nodes(self) -> list[NodeProcess]:
        return [self.sender, self.receiver]

    def _processes(self) -> dict[str, int | None]:
        """The bench's processes by name: both nodes and both nats-servers."""
        servers = {
            f"nats-server {s.name}": s.process.pid if s.process else None
            for s in self.regions.servers
        }
        nodes = {n.settings.jurisdiction: n.pid if n.process else None for n in self.nodes}
        return nodes | servers

    def _accepted(self, count: int, accept: Callable[[int], dict[str, Any]]) -> dict[str, Any]:
        """`accept(first)` has Dalang accept `count` events numbered on from `first`; then waits
        until Qianfeng has committed every one. Its answer, when the last was committed, and the
        CPU each process spent an event (this bench's own, the HTTP client, apart)."""
        pids = self._processes() | {CLIENT: os.getpid()}
        with MemoryWatch(self.nodes) as watch, CpuWatch(pids, frozenset({CLIENT})) as cpu:
            answer = accept(self.sent)
            self.sent += count
            wait_for(self._delivered, 600, "delivery")
        ended = time.time()
        for name, peak in watch.peak.items():
            self.load_peak[name] = max(self.load_peak.get(name, 0.0), peak)
        return answer | {"delivered": ended, "cpu": per_event_ms(cpu.used, count)}

    def _send(self, count: int, batch: int, **extra: Any) -> dict[str, Any]:
        """Dalang's node enqueues `count` events itself (`Node.send_many`), `batch` a
        transaction."""

        def send(first: int) -> dict[str, Any]:
            return self.sender.command({"send": count, "batch": batch, "first": first} | extra)

        return self._accepted(count, send)

    def _post(
        self, count: int, batch: int | None, in_flight: int, rate: float | None = None
    ) -> dict[str, Any]:
        """Dispute reports posted to Dalang's API: `batch` a request, or one (None)."""

        def post(first: int) -> dict[str, Any]:
            ready = self.sender.ready
            return asyncio.run(post_reports(ready, first, count, batch, in_flight, rate))

        return self._accepted(count, post)

    def _delivered(self) -> bool:
        """Whether Qianfeng has committed every event sent so far (Dalang sends it nothing else)."""
        return stream_position(self.receiver.store, self.sender.settings.jurisdiction) >= self.sent

    def idle_memory(self) -> dict[str, Any]:
        """Each node's RSS once started and idle."""
        time.sleep(1.0)
        idle = {n.settings.jurisdiction: rss_mb(n.pid) for n in self.nodes}
        return {"idle_rss_mb": max(idle.values()), "idle_rss_mb_by_node": idle}

    def warm_up(self, events: int) -> dict[str, Any]:
        """Events reported through the batch API and committed before anything is measured:
        what a node does once in its life (Qianfeng starts its verification workers at its
        first large batch, ~1 s of CPU on this machine) is then not counted as throughput."""
        answer = self._post(events, BATCH, BATCH_IN_FLIGHT)
        return {
            "warmup_events": events,
            "warmup_s": answer["delivered"] - answer["started"],
            "warmup_processes_by_node": {
                n.settings.jurisdiction: len(family(n.pid)) for n in self.nodes
            },
        }

    def throughput(self, events: int) -> dict[str, Any]:
        """Events/s from the first report posted to Dalang's batch API to the last commit in
        Qianfeng's inbox: the headline figure."""
        return _throughput("e2e", events, self._post(events, BATCH, BATCH_IN_FLIGHT))

    def single_requests(self, events: int) -> dict[str, Any]:
        """The same through single requests, one report each, SINGLE_IN_FLIGHT at a time."""
        return _throughput("e2e_single", events, self._post(events, None, SINGLE_IN_FLIGHT))

    def in_process(self, events: int) -> dict[str, Any]:
        """The same with Dalang's node enqueuing the events itself, no HTTP and no case
        records: what the bus alone carries."""
        return _throughput("e2e_in_process", events, self._send(events, BATCH))

    def latency(self, events: int, rate: float) -> dict[str, Any]:
        """Accept -> partner commit percentiles at `rate` events/s offered, Dalang's node
        enqueuing PACED_BATCH events a transaction: from each one's commit to its commit in
        Qianfeng's inbox."""
        answer = self._send(events, PACED_BATCH, rate=rate, stamps=True)
        accepted = dict(answer["accepted"])
        committed = applied_at(self.receiver.store, list(accepted))
        return _percentiles("", accepted, committed) | {
            "latency_cpu_ms_per_event_by_process": answer["cpu"],
            "latency_rate_per_s": rate,
            "latency_events": events,
            "latency_achieved_per_s": events / (answer["ended"] - answer["started"]),
        }

    def api_latency(self, events: int, rate: float) -> dict[str, Any]:
        """The same through the batch API, PACED_BATCH reports a request: from each event's
        envelope time (composed in the transaction accepting its request) to its commit in
        Qianfeng's inbox; and how long the requests took to be answered."""
        answer = self._post(events, PACED_BATCH, PACED_IN_FLIGHT, rate)
        ids = answer["accepted"]
        accepted = composed_at(self.sender.store, ids)
        answered = statistics.quantiles(answer["requests_ms"], n=100, method="inclusive")
        return _percentiles("api_", accepted, applied_at(self.receiver.store, ids)) | {
            "api_request_p50_ms": answered[49],
            "api_request_p99_ms": answered[98],
            "api_latency_cpu_ms_per_event_by_process": answer["cpu"],
            "api_latency_events": events,
            "api_latency_achieved_per_s": events / (answer["ended"] - answer["started"]),
        }

    def backlog(self, events: int) -> dict[str, Any]:
        """Qianfeng stopped while Dalang accepts `events`; seconds from its restart to the last
        commit, the process start included."""
        self.receiver.stop()
        first = self.sent
        answer = self.sender.command({"send": events, "batch": BATCH, "first": first})
        self.sent += events
        wait_for(lambda: pending_outbox(self.sender.store) == 0, 600, "the outbox published")
        asyncio.run(_wait_inbound(self.regions, self.sent))
        with MemoryWatch([self.receiver]) as watch, CpuWatch(self._processes()) as cpu:
            started = time.perf_counter()
            startup = self.receiver.start()
            cpu.started(self.receiver.settings.jurisdiction, self.receiver.pid)
            wait_for(self._delivered, 600, "the backlog")
            seconds = time.perf_counter() - started
        name = self.receiver.settings.jurisdiction
        self.load_peak[name] = max(self.load_peak.get(name, 0.0), watch.peak[name])
        return {
            "backlog_cpu_ms_per_event_by_process": per_event_ms(cpu.used, events),
            "backlog_events": events,
            "backlog_s": seconds,
            f"backlog_{short(events)}_s": seconds,
            "backlog_startup_s": startup,
            "backlog_events_per_s": events / (seconds - startup),
            "backlog_accept_per_s": events / (answer["ended"] - answer["started"]),
        }

    def totals(self) -> dict[str, Any]:
        """The counts the smoke test checks, and the largest RSS seen under load."""
        return {
            "events_sent": self.sent,
            "events_committed": applied_events(self.receiver.store),
            "events_quarantined": quarantined(self.receiver.store),
            "load_rss_mb": max(self.load_peak.values()),
            "load_rss_mb_by_node": self.load_peak,
        }

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def _percentiles(
    key: str, accepted: dict[str, float], committed: dict[str, float]
) -> dict[str, float]:
    """p50/p95/p99 and the largest of commit - accept (ms), each key starting with `key`."""
    delays = sorted((committed[i] - accepted[i]) * 1000 for i in accepted)
    cuts = statistics.quantiles(delays, n=100, method="inclusive")
    return {
        f"{key}p50_ms": cuts[49],
        f"{key}p95_ms": cuts[94],
        f"{key}p99_ms": cuts[98],
        f"{key}max_ms": delays[-1],
    }


def _throughput(key: str, events: int, answer: dict[str, Any]) -> dict[str, Any]:
    """A throughput phase's figures, each key starting with `key`."""
    seconds = answer["delivered"] - answer["started"]
    return {
        f"{key}_cpu_ms_per_event_by_process": answer["cpu"],
        f"{key}_events": events,
        f"{key}_s": seconds,
        f"{key}_events_per_s": events / seconds,
        f"{key}_accept_per_s": events / (answer["ended"] - answer["started"]),
    }


async def _wait_inbound(regions: TwoRegions, count: int, timeout: float = 600) -> None:
    """Until Qianfeng's inbound stream holds `count` events (sourced over the leaf link)."""
    nc = await nats.connect(regions.hub.url)
    try:
        js = nc.jetstream()
        deadline = time.monotonic() + timeout
        stream = inbound_stream(QIANFENG.id)
        while (await js.stream_info(stream)).state.messages < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{stream} did not reach {count} messages")
            await asyncio.sleep(0.05)
    finally:
        await nc.close()


def start_bench(root: Path, regions: TwoRegions, profile: Path | None = None) -> Bench:
    """Both nodes' keys, agreement and settings under `root`, their streams declared, started;
    each profiled into `profile` if given."""
    agreement = write_agreement([DALANG, QIANFENG], root / "agreement.yaml")
    # Receipts as a node sends them by default, not as often as the tests ask for them.
    every = {"receipt_interval_s": NodeSettings.model_fields["receipt_interval_s"].default}
    leaf, hub = regions.leaf.url, regions.hub.url
    sender = node_settings(
        DALANG, root, leaf, "dalang", {QIANFENG.id: "qianfeng"}, agreement, **every
    )
    receiver = node_settings(
        QIANFENG, root, hub, "qianfeng", {DALANG.id: "dalang"}, agreement, **every
    )
    asyncio.run(declare_outbound_streams(sender, receiver))
    bench = Bench(regions, NodeProcess(sender, profile), NodeProcess(receiver, profile))
    try:
        for node in bench.nodes:
            node.start()
    except Exception:
        bench.stop()
        raise
    return bench
