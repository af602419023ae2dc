"""The node settings every node command reads (`--config`): each mistake is one error line."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli import create_app
from services.embedded_nats import free_port
from tests.support.trust import SM2_KEY_PEM

runner = CliRunner()


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ('jurisdiction = "dongguan-dalang\n', "not valid TOML: Illegal character"),
        ('jurisdiction = "dongguan-dalang"\nhttp_prot = 80\n', "http_prot: Extra inputs"),
        ('jurisdiction = "dongguan-dalang"\nhttp_port = "x"\n', "http_port: Input should be"),
        (
            'jurisdiction = "dongguan-dalang"\ndatabase_url = "postgres://fengqiao@db/fengqiao"\n',
            "database_url: Value error, postgres:// is not a store fengqiao opens",
        ),
        (
            'jurisdiction = "dongguan-dalang"\ndatabase_url = "postgresql://fengqiao@db:pg/fq"\n',
            "database_url: Value error, not a database URL",
        ),
        (
            'jurisdiction = "dongguan-dalang"\n'
            'database_url = "postgresql://fengqiao@db/fengqiao?sslmode=require"\n',
            "database_url: Value error, sslmode is libpq's: asyncpg takes ssl=require",
        ),
        (
            'jurisdiction = "dongguan-dalang"\nconsole_idle_minutes = 0\n',
            "console_idle_minutes: Input should be greater than or equal to 1",
        ),
    ],
    ids=[
        "broken TOML",
        "a misspelt setting",
        "a setting of the wrong type",
        "a store of another scheme",
        "a store URL that does not parse",
        "a store URL with libpq's sslmode",
        "a console session that never lasts",
    ],
)
@pytest.mark.parametrize("command", [["node", "run"], ["doctor"], ["users", "list"]], ids=" ".join)
def test_a_settings_file_with_a_mistake(
    tmp_path: Path, content: str, error: str, command: list[str]
) -> None:
    config = tmp_path / "node.toml"
    config.write_text(content)

    result = runner.invoke(create_app(), [*command, "--config", str(config)])

    assert result.exit_code == 2, result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and error in line


@pytest.mark.parametrize("command", [["node", "run"], ["doctor"], ["users", "list"]], ids=" ".join)
def test_a_settings_file_that_is_not_utf_8(tmp_path: Path, command: list[str]) -> None:
    config = tmp_path / "node.toml"
    config.write_bytes('# 大朗分局\njurisdiction = "dongguan-dalang"\n'.encode("gbk"))

    result = runner.invoke(create_app(), [*command, "--config", str(config)])

    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == f"error: {config}: not UTF-8 text"


def test_a_settings_file_that_is_not_there(tmp_path: Path) -> None:
    result = runner.invoke(create_app(), ["node", "run", "--config", str(tmp_path / "no.toml")])

    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'no.toml'}: no such settings file"


@pytest.mark.parametrize(
    ("agreement", "error"),
    [
        (None, "No such file or directory"),
        ("foo: [\n", "not valid YAML"),
        ("{}\n", "invalid agreement:"),
    ],
    ids=["not there", "not YAML", "not an agreement"],
)
def test_node_run_with_an_agreement_it_cannot_read(
    tmp_path: Path, agreement: str | None, error: str
) -> None:
    path = tmp_path / "agreement.yaml"
    if agreement is not None:
        path.write_text(agreement)
    config = tmp_path / "node.toml"
    config.write_text(
        'jurisdiction = "dongguan-dalang"\n'
        f'data_dir = "{tmp_path / "var"}"\n'
        f"http_port = {free_port()}\n"
        f'agreements = ["{path}"]\n'
    )

    result = runner.invoke(create_app(), ["node", "run", "--config", str(config)])

    assert result.exit_code == 2, result.output
    first = result.stderr.strip().splitlines()[0]
    assert first.startswith("error: ") and error in first
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("not a key\n", "dongguan-dalang.sig.pem: not a PKCS#8 PEM private key"),
        (SM2_KEY_PEM, "dongguan-dalang.sig.pem does not hold an Ed25519 signing key"),
    ],
    ids=["not a key", "a key of another algorithm"],
)
def test_node_run_with_a_key_file_it_cannot_read(tmp_path: Path, content: str, error: str) -> None:
    keys = tmp_path / "var" / "keys"
    created = ["keys", "new", "--jurisdiction", "dongguan-dalang", "--dir", str(keys)]
    assert runner.invoke(create_app(), created).exit_code == 0
    (keys / "dongguan-dalang.sig.pem").write_text(content)
    config = tmp_path / "node.toml"
    config.write_text(
        'jurisdiction = "dongguan-dalang"\n'
        f'data_dir = "{tmp_path / "var"}"\n'
        f"http_port = {free_port()}\n"
    )

    result = runner.invoke(create_app(), ["node", "run", "--config", str(config)])

    assert result.exit_code == 2, result.output
    [line] = result.stderr.strip().splitlines()
    assert line == f"error: {keys / error}"
