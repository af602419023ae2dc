"""The demo's two nodes, each its own `fengqiao node run --config ...` process, with the demo
keys (deploy/demo/keys), the signed agreement contracts/agreements/dalang-qianfeng.yaml, a
SQLite store in the demo's directory and one user per role."""

import asyncio
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import nats
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts import AGREEMENTS_DIR
from gateway.cli.users import in_store
from gateway.demo.seed import Bureau
from services.bus.transport import ensure_outbound_stream
from services.embedded_nats import free_port
from services.settings import NodeSettings, load_settings
from services.users.accounts import add_user
from services.users.model import Role

DEMO_KEYS = Path(__file__).resolve().parents[2] / "deploy" / "demo" / "keys"
AGREEMENT = AGREEMENTS_DIR / "dalang-qianfeng.yaml"


class NodeFailed(RuntimeError):
    """A node process exited or did not become ready; the message ends with its log."""


def _toml(value: object) -> str:
    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string


@dataclass
class NodeProcess:
    """One bureau's node: its settings file, its HTTP port, and the process once started."""

    bureau: Bureau
    config: Path
    http_port: int
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def log(self) -> Path:
        return self.config.parent / "node.log"

    @property
    def settings(self) -> NodeSettings:
        return load_settings(self.config)

    def start(self) -> None:
        """Start `fengqiao node run --config ...`; its output goes to node.log beside it."""
        command = [sys.executable, "-m", "gateway.cli", "node", "run", "--config", str(self.config)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=os.environ | {"PYTHONUNBUFFERED": "1"},
                # Its own process group: Ctrl-C reaches the demo only, which stops the nodes
                # before the NATS servers, in order.
                process_group=0,
            )

    async def wait_ready(self, client: httpx.AsyncClient, timeout: float = 90.0) -> None:
        """Poll /readyz (store and NATS answer) until 200, or NodeFailed with the log."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise NodeFailed(f"{self.bureau.jurisdiction} exited:\n{self.log_tail()}")
            try:
                if (await client.get(f"{self.url}/readyz", timeout=2)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
        raise NodeFailed(
            f"{self.bureau.jurisdiction} not ready in {timeout:.0f} s:\n{self.log_tail()}"
        )

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (the node stops HTTP, drains NATS, closes its store); SIGKILL if it hangs."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def log_tail(self, lines: int = 30) -> str:
        """The last lines the node wrote."""
        if not self.log.exists():
            return "(no log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def write_node_config(root: Path, bureau: Bureau, partner: Bureau, nats_url: str) -> NodeProcess:
    """The node's settings file under root/<jurisdiction>/node.toml, on a free HTTP port."""
    data = root / bureau.jurisdiction
    data.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = data / "node.toml"
    config.write_text(
        f"jurisdiction = {_toml(bureau.jurisdiction)}\n"
        f"data_dir = {_toml(data)}\n"
        f"keys_dir = {_toml(DEMO_KEYS)}\n"
        f"agreements = [{_toml(AGREEMENT)}]\n"
        f"nats_url = {_toml(nats_url)}\n"
        f"js_domain = {_toml(bureau.domain)}\n"
        f"http_port = {port}\n"
        "receipt_interval_s = 0.5\n"
        "[[partners]]\n"
        f"jurisdiction = {_toml(partner.jurisdiction)}\n"
        f"domain = {_toml(partner.domain)}\n",
        encoding="utf-8",
    )
    return NodeProcess(bureau, config, port)


async def declare_outbound_stream(nats_url: str, jurisdiction: str) -> None:
    """Create a node's outbound stream before either node starts: a partner's inbound stream
    that sources a stream not there yet tries again only some 10 s later."""
    nc = await nats.connect(nats_url)
    try:
        await ensure_outbound_stream(nc.jetstream(), jurisdiction)
    finally:
        await nc.close()


async def add_demo_users(node: NodeProcess) -> dict[Role, str]:
    """One user per role on the node's store, named after the role; their tokens by role."""

    async def add_all(conn: AsyncConnection) -> dict[Role, str]:
        now = datetime.now(UTC)
        return {role: await add_user(conn, role.value, role, now) for role in Role}

    return await in_store(node.settings, add_all)
