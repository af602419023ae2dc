"""`fengqiao node run` serves the HTTP API beside the node, in one process, from before NATS
answers (the outbox takes the work), and stops both on SIGTERM; a user added with
`fengqiao users add` is known to the running API at once."""

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from services.embedded_nats import nats_server_binary
from services.users.model import Role
from tests.support.api import DALANG, QIANFENG, filing, metric
from tests.support.databases import drop_postgres, fresh_postgres_url
from tests.support.nats import NatsServer, free_port, running, single_region
from tests.support.served import (
    ServedNode,
    add_user,
    node_config,
    node_process,
    served_node,
    wait_for,
    wait_for_output,
    wait_ready,
)


def test_node_run_serves_the_api_and_stops_on_sigterm(nats_single: NatsServer, tmp_path: Path):
    port = free_port()
    config = node_config(tmp_path, nats_single, port)
    with served_node(config) as node:
        base = node.base_url
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok", "checks": {}}
        assert httpx.get(f"{base}/readyz").status_code == 200
        token = add_user(config, "clerk.li", Role.WINDOW_CLERK)
        me = httpx.get(f"{base}/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json() == {"name": "clerk.li", "role": "window_clerk"}
        node.process.send_signal(signal.SIGTERM)
        node.process.wait(timeout=30)
    output = node.output()
    assert node.process.returncode == 0, output
    lines = _log_lines(output)  # every line of its log one JSON object
    assert any(f"API on http://127.0.0.1:{port}" in line["message"] for line in lines)
    assert lines[-1]["message"] == f"node {DALANG.id} stopped"
    assert {"time", "level", "logger"} <= lines[-1].keys()
    [read] = [line for line in lines if "/users/me" in line["message"]]  # the access log
    assert read["request_id"] == me.headers["X-Request-ID"]


async def test_node_run_on_postgresql_names_its_store_without_the_password(
    nats_single: NatsServer, tmp_path: Path
) -> None:
    url = await fresh_postgres_url()
    scheme, rest = url.split("://", 1)
    user, place = rest.split("@", 1)
    with_password = f"{scheme}://{user}:s3cret@{place}"  # the test server trusts loopback
    port = free_port()
    config = node_config(tmp_path, nats_single, port, database_url=with_password)
    try:
        with served_node(config) as node:
            node.process.send_signal(signal.SIGTERM)
            node.process.wait(timeout=30)
    finally:
        await drop_postgres(url)
    output = node.output()
    assert node.process.returncode == 0, output
    assert f"running (store {scheme}://{user}@{place})" in output
    assert "s3cret" not in output


def test_a_node_started_before_its_nats_server_takes_work_then_delivers_it(tmp_path: Path):
    """The API answers from the start; a clerk's filing waits in the outbox, and is published
    once the server is up. The wait is one log line, not one a try."""
    server = single_region(tmp_path, started=False)
    config = node_config(tmp_path, server, free_port())
    with node_process(config) as node, running(server):
        wait_for_output(node, f"NATS at {server.url}: ConnectionRefusedError")
        not_ready = wait_for(f"{node.base_url}/readyz", node.process, node.log)
        assert (not_ready.status_code, not_ready.json()["detail"]) == (503, "nats: not connected")
        clerk = {"Authorization": f"Bearer {add_user(config, 'clerk.li', Role.WINDOW_CLERK)}"}
        filed = httpx.post(f"{node.base_url}/registry/requests", json=filing(), headers=clerk)
        assert filed.status_code == 201, filed.text
        assert _pending(node) == 1

        server.start()
        wait_ready(node)
        deadline = time.monotonic() + 30
        while _pending(node):
            assert time.monotonic() < deadline, node.output()
            time.sleep(0.1)
        node.process.send_signal(signal.SIGTERM)
        node.process.wait(timeout=30)
    output = node.output()
    assert node.process.returncode == 0, output
    assert "Traceback" not in output
    waited = [line for line in _log_lines(output) if "ConnectionRefusedError" in line["message"]]
    assert len(waited) == 1 and waited[0]["message"].endswith("; retrying")


def test_a_node_waiting_for_its_nats_server_stops_when_told(tmp_path: Path):
    server = single_region(tmp_path, started=False)  # never started
    config = node_config(tmp_path, server, free_port())
    with node_process(config) as node:
        wait_for_output(node, f"NATS at {server.url}: ConnectionRefusedError")
        node.process.send_signal(signal.SIGTERM)
        node.process.wait(timeout=30)
    output = node.output()
    assert node.process.returncode == 0, output
    assert _log_lines(output)[-1]["message"] == f"node {DALANG.id} stopped"


def _log_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines()]


def _pending(node: ServedNode) -> float:
    """Events in the node's outbox not yet published, from its metrics."""
    text = httpx.get(f"{node.base_url}/metrics").text
    return metric(text, "fengqiao_outbox_pending", partner=QIANFENG.id)


def test_streams_the_region_cannot_hold_stop_the_node_with_one_line(
    nats_single: NatsServer, tmp_path: Path
):
    """Replicas a single server cannot hold are a setting to change, not a JetStream to wait
    for: the node stops at once, saying which stream and why."""
    config = node_config(tmp_path, nats_single, free_port())
    text = config.read_text()
    config.write_text(text.replace("[[partners]]", "stream_replicas = 3\n[[partners]]", 1))
    with node_process(config) as node:
        node.process.wait(timeout=30)
    output = node.output()
    assert node.process.returncode == 2, output
    assert "Traceback" not in output
    assert output.strip().splitlines()[-1] == (
        f"error: OUT_{DALANG.id}: replicas > 1 not supported in non-clustered mode (error 10074)"
    )


def test_a_node_on_a_server_without_jetstream_waits_and_says_so(tmp_path: Path):
    """Nothing answers the JetStream API (a server started without it, or still starting): the
    node waits, naming the API it asks at, and /readyz says it is still starting."""
    port = free_port()
    bare = subprocess.Popen(
        [str(nats_server_binary()), "-a", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        server = single_region(tmp_path, started=False, client_port=str(port))
        with node_process(node_config(tmp_path, server, free_port())) as node:
            wait_for_output(
                node, "declaring the outbound stream: OUT_dongguan-dalang: no JetStream"
            )
            starting = wait_for(f"{node.base_url}/readyz", node.process, node.log)
    finally:
        bare.terminate()
        bare.wait(timeout=10)
    assert (starting.status_code, starting.json()["checks"]["nats"]) == (
        503,
        "connected; still starting (streams, catch-up, inbox consumer)",
    )
    assert "no JetStream answers at $JS.API" in node.output()
    assert "Traceback" not in node.output()
