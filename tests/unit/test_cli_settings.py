"""The node settings every node command reads (`--config`): each mistake is one error line."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli import create_app

runner = CliRunner()


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ('jurisdiction = "dongguan-dalang\n', "not valid TOML: Illegal character"),
        ('jurisdiction = "dongguan-dalang"\nhttp_prot = 80\n', "http_prot: Extra inputs"),
        ('jurisdiction = "dongguan-dalang"\nhttp_port = "x"\n', "http_port: Input should be"),
    ],
    ids=["broken TOML", "a misspelt setting", "a setting of the wrong type"],
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


def test_a_settings_file_that_is_not_there(tmp_path: Path) -> None:
    result = runner.invoke(create_app(), ["node", "run", "--config", str(tmp_path / "no.toml")])

    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'no.toml'}: no such settings file"
