"""Real nats-server processes for tests, started from the templates in deploy/nats/.

Each server gets free loopback ports and a store directory under the test's tmp dir; it can be
stopped (SIGTERM), killed (SIGKILL) and restarted on the same ports and store. A leaf region's
link is cut by restarting it without its `leafnodes` block and restored by restarting it with it:
a restarted leaf side catches up at once, where sourcing over a dropped link retries only every
10-20 s. Every process started here is ended at interpreter exit even if a finalizer never ran.
"""

import asyncio
import atexit
import json
import os
import re
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nats
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from services.embedded_nats import free_port, nats_server_binary

TEMPLATES = Path(__file__).resolve().parents[2] / "deploy" / "nats"
HOST = "127.0.0.1"
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
LINK_BLOCK = re.compile(r"^# link:begin.*?^# link:end[^\n]*\n", re.DOTALL | re.MULTILINE)
DEFAULTS = {"host": HOST, "leaf_host": HOST, "max_file_store": "1GB", "sync_interval": "2m"}

Check = Callable[[], bool]
_running: set["NatsServer"] = set()


class NatsHarnessError(RuntimeError):
    """A test server could not be found, rendered or started."""


def render(template: str, values: dict[str, str], *, link: bool = True) -> str:
    """The template's text with every {{name}} replaced; without the leaf link if `link` is off."""
    text = (TEMPLATES / template).read_text(encoding="utf-8")
    if not link:
        text = LINK_BLOCK.sub("", text)
    missing = sorted({name for name in PLACEHOLDER.findall(text) if name not in values})
    if missing:
        raise NatsHarnessError(f"{template}: no value for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def _http_json(url: str) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            body: dict[str, object] = json.loads(response.read())
            return body
    except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
        return None


@dataclass(eq=False)
class NatsServer:
    """One nats-server process rendered from a deploy/nats template into its own directory."""

    name: str
    template: str
    workdir: Path
    values: dict[str, str]
    link: bool = True
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def client_port(self) -> int:
        return int(self.values["client_port"])

    @property
    def url(self) -> str:
        return f"nats://{HOST}:{self.client_port}"

    @property
    def domain(self) -> str:
        return self.values["domain"]

    @property
    def monitor(self) -> str:
        return f"http://{HOST}:{self.values['http_port']}"

    @property
    def log(self) -> Path:
        return self.workdir / "server.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def launch(self) -> None:
        """Start the process without waiting for it to answer (a cluster needs all three first)."""
        if self.running:
            raise NatsHarnessError(f"{self.name} is already running")
        config = self.workdir / "server.conf"
        config.write_text(render(self.template, self.values, link=self.link), encoding="utf-8")
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(nats_server_binary()), "-c", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        _running.add(self)

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and return once /healthz says JetStream is ready."""
        self.launch()
        try:
            self.wait_ready(timeout)
        except NatsHarnessError:
            self.kill()
            raise

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Poll /healthz until it answers ok, or fail with the server's log."""
        self._wait(
            lambda: (_http_json(f"{self.monitor}/healthz") or {}).get("status") == "ok",
            timeout,
            "healthy",
        )

    def wait_linked(self, timeout: float = 10.0) -> None:
        """Wait until this server has at least one leaf-node connection up."""

        def linked() -> bool:
            leafz = _http_json(f"{self.monitor}/leafz") or {}
            return int(str(leafz.get("leafnodes", 0))) > 0

        self._wait(linked, timeout, "linked")

    def _wait(self, check: Check, timeout: float, state: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise NatsHarnessError(f"{self.name} exited:\n{self.log_tail()}")
            if check():
                return
            time.sleep(0.05)
        raise NatsHarnessError(f"{self.name} not {state} after {timeout}s:\n{self.log_tail()}")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, as an operator's `systemctl stop` does; SIGKILL if it hangs."""
        self._end(signal.SIGTERM, timeout)

    def kill(self) -> None:
        """SIGKILL: the machine losing the process mid-write."""
        self._end(signal.SIGKILL, 10.0)

    def _end(self, how: signal.Signals, timeout: float) -> None:
        process, self.process = self.process, None
        _running.discard(self)
        if process is None or process.poll() is not None:
            return
        process.send_signal(how)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self, *, link: bool | None = None, timeout: float = 10.0) -> None:
        """Stop, then start on the same ports and store dir, the link changed if asked."""
        self.stop()
        if link is not None:
            self.link = link
        self.start(timeout)

    def cut_link(self) -> None:
        """Restart this leaf side without its leafnodes block: the partner is unreachable."""
        self.restart(link=False)

    def restore_link(self) -> None:
        """Restart this leaf side with its leafnodes block and wait until the link is up."""
        self.restart(link=True)
        self.wait_linked()

    def log_tail(self, lines: int = 30) -> str:
        if not self.log.exists():
            return "(no log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class TwoRegions:
    """Two regions, each its own JetStream domain, joined by a leaf link (leaf dials the hub)."""

    hub: NatsServer
    leaf: NatsServer

    @property
    def servers(self) -> list[NatsServer]:
        return [self.hub, self.leaf]


@dataclass
class RegionCluster:
    """A region served by a 3-node JetStream cluster (one domain)."""

    nodes: list[NatsServer]

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    @property
    def domain(self) -> str:
        return self.nodes[0].domain

    def leaf_urls(self) -> str:
        return ", ".join(_leaf_url(node) for node in self.nodes)


def _server(root: Path, name: str, template: str, **values: str) -> NatsServer:
    workdir = root / name
    (workdir / "store").mkdir(parents=True, exist_ok=True)
    base = DEFAULTS | {
        "server_name": name,
        "client_port": str(free_port()),
        "http_port": str(free_port()),
        "store_dir": str(workdir / "store"),
    }
    return NatsServer(name=name, template=template, workdir=workdir, values=base | values)


def _leaf_credentials() -> dict[str, str]:
    return {"leaf_user": "leaf", "leaf_password": secrets.token_hex(16)}


def _leaf_url(hub: NatsServer) -> str:
    user, password, port = (hub.values[k] for k in ("leaf_user", "leaf_password", "leaf_port"))
    return f'"nats-leaf://{user}:{password}@{HOST}:{port}"'


def single_region(
    root: Path, domain: str = "dalang", started: bool = True, **values: str
) -> NatsServer:
    """A one-server region (deploy/nats/region.conf), started unless `started` is False."""
    server = _server(root, domain, "region.conf", domain=domain, **values)
    if started:
        server.start()
    return server


def leaf_region(root: Path, domain: str, hub_leaf_urls: str, **values: str) -> NatsServer:
    """A started region that dials `hub_leaf_urls` (deploy/nats/region-leaf.conf)."""
    server = _server(
        root, domain, "region-leaf.conf", domain=domain, hub_leaf_urls=hub_leaf_urls, **values
    )
    server.start()
    return server


def two_regions(root: Path, hub: str = "qianfeng", leaf: str = "dalang") -> TwoRegions:
    """A started hub region and a leaf region linked to it, the link up."""
    hub_server = _server(
        root, hub, "region-hub.conf", domain=hub, leaf_port=str(free_port()), **_leaf_credentials()
    )
    hub_server.start()
    with _stopped_on_failure(hub_server):
        leaf_server = leaf_region(root, leaf, _leaf_url(hub_server))
        with _stopped_on_failure(leaf_server):
            leaf_server.wait_linked()
            hub_server.wait_linked()
    return TwoRegions(hub=hub_server, leaf=leaf_server)


def region_cluster(root: Path, domain: str = "qianfeng", size: int = 3) -> RegionCluster:
    """A started `size`-node JetStream cluster for one region (deploy/nats/cluster-node.conf)."""
    shared = _leaf_credentials() | {"route_user": "route", "route_password": secrets.token_hex(16)}
    cluster_ports = [free_port() for _ in range(size)]
    routes = ", ".join(
        f'"nats-route://{shared["route_user"]}:{shared["route_password"]}@{HOST}:{port}"'
        for port in cluster_ports
    )
    nodes = [
        _server(
            root,
            f"{domain}-{index + 1}",
            "cluster-node.conf",
            **shared,
            domain=domain,
            cluster_name=domain,
            cluster_port=str(port),
            cluster_routes=routes,
            leaf_port=str(free_port()),
        )
        for index, port in enumerate(cluster_ports)
    ]
    with _stopped_on_failure(*nodes):
        for node in nodes:
            node.launch()
        for node in nodes:
            node.wait_ready(timeout=30)
    return RegionCluster(nodes=nodes)


def stop_all(servers: Iterable[NatsServer]) -> None:
    """SIGTERM each server still running (fixture finalizers)."""
    for server in list(servers):
        server.stop()


@contextmanager
def running(*servers: NatsServer) -> Iterator[None]:
    """Stop these servers when the block ends, however it ends."""
    try:
        yield
    finally:
        stop_all(servers)


@contextmanager
def _stopped_on_failure(*servers: NatsServer) -> Iterator[None]:
    try:
        yield
    except NatsHarnessError:
        stop_all(servers)
        raise


async def connect(*servers: NatsServer) -> NatsClient:
    """A client on these servers that keeps reconnecting quickly while one is down."""
    return await nats.connect(
        servers=[server.url for server in servers],
        connect_timeout=2,
        reconnect_time_wait=0.2,
        max_reconnect_attempts=-1,
    )


async def wait_for_messages(js: JetStreamContext, stream: str, count: int, timeout: float) -> int:
    """Poll until `stream` holds `count` messages; return how many it holds at the end."""
    deadline = time.monotonic() + timeout
    while True:
        held = int((await js.stream_info(stream)).state.messages)
        if held >= count or time.monotonic() > deadline:
            return held
        await asyncio.sleep(0.05)


@atexit.register
def _end_leftovers() -> None:
    # A crashed test run must not leave servers holding ports and tmp dirs.
    for server in list(_running):
        if server.process is not None and server.process.poll() is None:
            os.kill(server.process.pid, signal.SIGKILL)
