"""A node run as `fengqiao node run` in its own process, serving its HTTP API on a free port,
and its users added with `fengqiao users add`, as an operator does it."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from gateway.cli.settings_option import node_settings
from services.users.model import Role
from tests.support.api import DALANG, QIANFENG, registry_agreement
from tests.support.live import write_keys
from tests.support.nats import NatsServer

ENV = os.environ | {"PYTHONUNBUFFERED": "1"}


def node_config(
    tmp_path: Path,
    nats: NatsServer,
    port: int,
    agreement: Path | None = None,
    database_url: str | None = None,
    partner_domain: str = "dalang",
) -> Path:
    """Dalang's node.toml under `tmp_path`: its keys, `agreement` (default: registry events
    with Qianfeng), NATS at `nats` (JetStream domain `dalang`), the API on `port`, the store at
    `database_url` (default: SQLite in its data directory), Qianfeng's stream in
    `partner_domain` (default: the same server's)."""
    data = tmp_path / "node"  # tmp_path/dalang is the NATS server's
    (data / "keys").mkdir(parents=True)
    write_keys(DALANG, data / "keys")
    agreement = agreement or registry_agreement([DALANG, QIANFENG], tmp_path / "agreement.yaml")
    path = tmp_path / "node.toml"
    path.write_text(
        f'jurisdiction = "{DALANG.id}"\n'
        f'data_dir = "{data}"\n'
        f'nats_url = "{nats.url}"\n'
        'js_domain = "dalang"\n'
        f'agreements = ["{agreement}"]\n'
        f"http_port = {port}\n"
        + (f'database_url = "{database_url}"\n' if database_url else "")
        + "[[partners]]\n"
        f'jurisdiction = "{QIANFENG.id}"\n'
        f'domain = "{partner_domain}"\n'
    )
    return path


def fengqiao(*args: str) -> list[str]:
    """The command line running `fengqiao ARGS` with this interpreter."""
    return [sys.executable, "-m", "gateway.cli", *args]


def wait_for(
    url: str, process: subprocess.Popen[str], log: Path, timeout: float = 30
) -> httpx.Response:
    """The first answer from `url`, failing (with `log`) if `process` exits or `timeout`
    passes first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            return httpx.get(url, timeout=1)
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout}s")


def add_user(config: Path, name: str, role: Role) -> str:
    """`fengqiao users add NAME --role ROLE`: the new user's token."""
    added = subprocess.run(
        fengqiao("users", "add", name, "--role", role.value, "--config", str(config)),
        capture_output=True,
        text=True,
        env=ENV,
        check=True,
    )
    return added.stdout.strip().splitlines()[-1]


@dataclass
class ServedNode:
    base_url: str
    config: Path
    process: subprocess.Popen[str]
    log: Path

    def output(self) -> str:
        """What the node has printed so far."""
        return self.log.read_text()


@contextmanager
def node_process(config: Path) -> Iterator[ServedNode]:
    """`fengqiao node run --config CONFIG` until the block ends, then SIGTERM, not waiting for
    its API. Its output goes to node.log beside CONFIG (a pipe nobody reads would fill and
    block the node's logging)."""
    log = config.parent / "node.log"
    port = node_settings(config).http_port
    with log.open("w") as out:
        process = subprocess.Popen(
            fengqiao("node", "run", "--config", str(config)),
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            env=ENV,
        )
    try:
        yield ServedNode(f"http://127.0.0.1:{port}", config, process, log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


@contextmanager
def served_node(config: Path) -> Iterator[ServedNode]:
    """`fengqiao node run --config CONFIG`, ready (store and NATS), until the block ends."""
    with node_process(config) as node:
        wait_ready(node)
        yield node


def wait_ready(node: ServedNode, timeout: float = 30) -> None:
    """Until the node's /readyz answers 200 (its API answers before NATS does)."""
    deadline = time.monotonic() + timeout
    while wait_for(f"{node.base_url}/readyz", node.process, node.log).status_code != 200:
        assert time.monotonic() < deadline, node.output()
        time.sleep(0.1)


def wait_for_output(node: ServedNode, text: str, timeout: float = 30) -> None:
    """Until the node has printed `text`, failing (with its output) if it exits first."""
    deadline = time.monotonic() + timeout
    while text not in node.output():
        assert node.process.poll() is None and time.monotonic() < deadline, node.output()
        time.sleep(0.1)
