"""The deployment files parse and name what exists: systemd units run real `fengqiao` commands
with options those commands take, and are hardened; the compose file runs the node with its
settings, mounts files that exist and probes /readyz; its nats.conf is region.conf rendered."""

import configparser
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from services.embedded_nats import nats_server_binary
from services.settings import load_settings
from tests.support.cli import resolve
from tests.support.nats import render

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
COMPOSE = DEPLOY / "compose"
VENV_BIN = "/opt/fengqiao/.venv/bin/"


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path, encoding="utf-8")
    return parser


def _fengqiao_command(argv: list[str]) -> None:
    """`fengqiao ARGV...` parses: the command exists and takes these options and values."""
    command, words = resolve(argv)
    ctx = command.make_context("fengqiao", words)
    assert ctx.params and all(value is not None for value in ctx.params.values()), argv


def test_there_is_a_unit_for_nats_server_and_one_for_the_node():
    assert [u.name for u in UNITS] == ["fengqiao-node.service", "nats-server.service"]


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_each_unit_is_hardened_and_restarts_on_failure(path: Path):
    service = _unit(path)["Service"]
    assert service["User"] not in ("", "root")
    assert service["ProtectSystem"] == "strict"
    assert service["ReadWritePaths"].startswith("/var/lib/")
    assert service["Restart"] == "on-failure"
    assert service["NoNewPrivileges"] == "true"
    assert _unit(path)["Install"]["WantedBy"] == "multi-user.target"


def test_the_node_unit_runs_fengqiao_node_run_with_its_config(tmp_path: Path):
    argv = shlex.split(_unit(DEPLOY / "systemd" / "fengqiao-node.service")["Service"]["ExecStart"])
    assert argv[0] == VENV_BIN + "fengqiao"
    assert argv[1:3] == ["node", "run"]
    _fengqiao_command(argv[1:])
    assert argv[-1] == "/etc/fengqiao/node.toml"
    settings = load_settings(DEPLOY / "systemd" / "node.toml")
    read_write = _unit(DEPLOY / "systemd" / "fengqiao-node.service")["Service"]["ReadWritePaths"]
    assert settings.data_dir == Path(read_write)
    assert settings.key_directory.is_relative_to(read_write)


def test_the_nats_unit_runs_the_bundled_nats_server_on_a_valid_config(tmp_path: Path):
    service = _unit(DEPLOY / "systemd" / "nats-server.service")["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[0] == VENV_BIN + "nats-server"
    assert argv[1] == "-c"
    conf = tmp_path / "nats.conf"
    conf.write_text((COMPOSE / "nats.conf").read_text().replace("/data", str(tmp_path)))
    _config_is_valid(conf)


def _config_is_valid(conf: Path) -> None:
    checked = subprocess.run(
        [str(nats_server_binary()), "-t", "-c", str(conf)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


TEMPLATE_VALUES = {
    "server_name": "a", "host": "127.0.0.1", "client_port": "4222", "http_port": "8222",
    "domain": "dalang", "max_file_store": "1GB", "leaf_host": "127.0.0.1", "leaf_port": "7422",
    "leaf_user": "leaf", "leaf_password": "secret", "cluster_name": "c", "cluster_port": "6222",
    "route_user": "route", "route_password": "secret",
    "cluster_routes": '"nats-route://route:secret@127.0.0.1:6222"',
    "hub_leaf_urls": '"nats-leaf://leaf:secret@127.0.0.1:7422"',
}  # fmt: skip


@pytest.mark.parametrize("sync_interval", ["2m", "always"])
@pytest.mark.parametrize("template", sorted(p.name for p in (DEPLOY / "nats").glob("*.conf")))
def test_every_nats_template_renders_to_a_valid_config(template, sync_interval, tmp_path):
    values = TEMPLATE_VALUES | {"store_dir": str(tmp_path), "sync_interval": sync_interval}
    conf = tmp_path / template
    conf.write_text(render(template, values), encoding="utf-8")
    _config_is_valid(conf)


def test_compose_runs_the_node_with_its_settings_and_probes_readyz():
    compose = yaml.safe_load((COMPOSE / "compose.yaml").read_text(encoding="utf-8"))
    node, nats = compose["services"]["node"], compose["services"]["nats"]
    assert node["command"][:3] == ["fengqiao", "node", "run"]
    _fengqiao_command(node["command"][1:])
    assert any("/readyz" in part for part in node["healthcheck"]["test"])
    assert node["depends_on"]["nats"]["condition"] == "service_healthy"
    assert any("/healthz" in part for part in nats["healthcheck"]["test"])
    assert (COMPOSE / node["build"]["context"] / node["build"]["dockerfile"]).is_file()
    for service in (node, nats):
        for volume in service["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (COMPOSE / source).exists(), volume
            else:
                assert source in compose["volumes"], volume


def test_the_compose_node_settings_load_and_point_at_the_nats_service():
    settings = load_settings(COMPOSE / "node.toml")
    assert settings.nats_url == "nats://nats:4222"
    assert settings.js_domain == "dalang"
    assert settings.http_host == "0.0.0.0"


def test_the_compose_nats_conf_is_region_conf_rendered():
    values = {
        "server_name": "compose-dalang", "host": "0.0.0.0", "client_port": "4222",
        "http_port": "8222", "store_dir": "/data/jetstream", "domain": "dalang",
        "max_file_store": "10GB", "sync_interval": "2m",
    }  # fmt: skip
    text = (COMPOSE / "nats.conf").read_text(encoding="utf-8")
    assert text.endswith(render("region.conf", values))
    assert "{{" not in text
