"""The TLS example of deploy/nats/tls/: certificates made by its make-certs.sh link a hub and a
leaf region rendered from its templates; a leaf whose certificate another CA signed is refused."""

import json
import secrets
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.nats import HOST, TEMPLATES, NatsServer, free_port, running

MAKE_CERTS = TEMPLATES / "tls" / "make-certs.sh"


def _certs(directory: Path, *regions: str) -> Path:
    subprocess.run(["sh", str(MAKE_CERTS), str(directory), "ca"], check=True, capture_output=True)
    for name in regions:
        args = ["sh", str(MAKE_CERTS), str(directory), "region", name, HOST, "localhost"]
        subprocess.run(args, check=True, capture_output=True)
    return directory


def _server(root: Path, name: str, template: str, certs: Path, **values: str) -> NatsServer:
    workdir = root / name
    (workdir / "store").mkdir(parents=True)
    base = {
        "server_name": name, "host": HOST, "client_port": str(free_port()),
        "http_port": str(free_port()), "store_dir": str(workdir / "store"), "domain": name,
        "max_file_store": "1GB", "sync_interval": "2m", "tls_cert": str(certs / f"{name}.crt"),
        "tls_key": str(certs / f"{name}.key"), "tls_ca": str(certs / "ca.crt"),
    }  # fmt: skip
    return NatsServer(name, f"tls/{template}", workdir, base | values)


@pytest.fixture
def hub(tmp_path: Path):
    certs = _certs(tmp_path / "certs", "qianfeng", "dalang")
    server = _server(
        tmp_path, "qianfeng", "region-hub-tls.conf", certs, leaf_host=HOST,
        leaf_port=str(free_port()), leaf_user="leaf", leaf_password=secrets.token_hex(8),
    )  # fmt: skip
    with running(server):
        server.start()
        yield server, certs


def _leaf_url(hub: NatsServer) -> str:
    v = hub.values
    return f'"nats-leaf://{v["leaf_user"]}:{v["leaf_password"]}@{HOST}:{v["leaf_port"]}"'


def test_regions_with_certificates_from_the_partners_ca_link_over_tls(hub, tmp_path: Path):
    server, certs = hub
    leaf = _server(
        tmp_path, "dalang", "region-leaf-tls.conf", certs, hub_leaf_urls=_leaf_url(server)
    )
    with running(leaf):
        leaf.start()
        leaf.wait_linked()
        server.wait_linked()


def test_a_leaf_with_a_certificate_of_another_ca_is_refused(hub, tmp_path: Path):
    server, _ = hub
    strangers = _certs(tmp_path / "other-ca", "dalang")
    leaf = _server(
        tmp_path, "dalang", "region-leaf-tls.conf", strangers, hub_leaf_urls=_leaf_url(server)
    )
    with running(leaf):
        leaf.start()
        deadline = time.monotonic() + 10
        while "handshake error" not in server.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "handshake error" in server.log.read_text(), server.log_tail()
        with urllib.request.urlopen(f"{server.monitor}/leafz", timeout=2) as answer:
            assert json.loads(answer.read())["leafnodes"] == 0
