"""`fengqiao node run` serves the HTTP API beside the node, in one process, and stops both on
SIGTERM; a user added with `fengqiao users add` is known to the running API at once."""

import signal
from pathlib import Path

import httpx

from services.users.model import Role
from tests.support.api import DALANG
from tests.support.databases import drop_postgres, fresh_postgres_url
from tests.support.nats import NatsServer, free_port, running, single_region
from tests.support.served import (
    add_user,
    node_config,
    node_process,
    served_node,
    wait_for,
    wait_for_output,
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
    assert f"API on http://127.0.0.1:{port}" in output
    assert f"node {DALANG.id} stopped" in output


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


def test_a_node_started_before_its_nats_server_waits_for_it_then_serves(tmp_path: Path):
    server = single_region(tmp_path, started=False)
    config = node_config(tmp_path, server, free_port())
    with node_process(config) as node, running(server):
        wait_for_output(node, f"NATS at {server.url}: ConnectionRefusedError")
        server.start()
        ready = wait_for(f"{node.base_url}/readyz", node.process, node.log)
        assert ready.status_code == 200, ready.text
        node.process.send_signal(signal.SIGTERM)
        node.process.wait(timeout=30)
    output = node.output()
    assert node.process.returncode == 0, output
    assert "Traceback" not in output
    waited = [line for line in output.splitlines() if "ConnectionRefusedError" in line]
    assert len(waited) == 1 and waited[0].endswith("; retrying")  # one line, not one a try


def test_a_node_waiting_for_its_nats_server_stops_when_told(tmp_path: Path):
    server = single_region(tmp_path, started=False)  # never started
    config = node_config(tmp_path, server, free_port())
    with node_process(config) as node:
        wait_for_output(node, f"NATS at {server.url}: ConnectionRefusedError")
        node.process.send_signal(signal.SIGTERM)
        node.process.wait(timeout=30)
    output = node.output()
    assert node.process.returncode == 0, output
    assert f"node {DALANG.id} stopped before it started" in output
