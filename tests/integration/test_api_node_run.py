"""`fengqiao node run` serves the HTTP API beside the node, in one process, and stops both on
SIGTERM; a user added with `fengqiao users add` is known to the running API at once."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.api import DALANG, QIANFENG, registry_agreement
from tests.support.live import write_keys
from tests.support.nats import NatsServer, free_port


def _config(tmp_path: Path, nats: NatsServer, port: int) -> Path:
    data = tmp_path / "node"  # tmp_path/dalang is the NATS server's
    (data / "keys").mkdir(parents=True)
    write_keys(DALANG, data / "keys")
    agreement = registry_agreement([DALANG, QIANFENG], tmp_path / "agreement.yaml")
    path = tmp_path / "node.toml"
    path.write_text(
        f'jurisdiction = "{DALANG.id}"\n'
        f'data_dir = "{data}"\n'
        f'nats_url = "{nats.url}"\n'
        'js_domain = "dalang"\n'
        f'agreements = ["{agreement}"]\n'
        f"http_port = {port}\n"
        "[[partners]]\n"
        f'jurisdiction = "{QIANFENG.id}"\n'
        'domain = "dalang"\n'
    )
    return path


def _fengqiao(*args: str) -> list[str]:
    return [sys.executable, "-m", "gateway.cli", *args]


def _wait_for(url: str, process: subprocess.Popen[str], timeout: float = 30) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        try:
            return httpx.get(url, timeout=1)
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout}s")


def test_node_run_serves_the_api_and_stops_on_sigterm(nats_single: NatsServer, tmp_path: Path):
    port = free_port()
    config = _config(tmp_path, nats_single, port)
    base = f"http://127.0.0.1:{port}"
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    node = subprocess.Popen(
        _fengqiao("node", "run", "--config", str(config)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert _wait_for(f"{base}/healthz", node).json() == {"status": "ok", "checks": {}}
        assert httpx.get(f"{base}/readyz").status_code == 200
        added = subprocess.run(
            _fengqiao(
                "users", "add", "clerk.li", "--role", "window_clerk", "--config", str(config)
            ),
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        token = added.stdout.strip().splitlines()[-1]
        me = httpx.get(f"{base}/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json() == {"name": "clerk.li", "role": "window_clerk"}
    finally:
        node.send_signal(signal.SIGTERM)
        output, _ = node.communicate(timeout=30)
    assert node.returncode == 0, output
    assert f"API on http://127.0.0.1:{port}" in output
    assert f"node {DALANG.id} stopped" in output
