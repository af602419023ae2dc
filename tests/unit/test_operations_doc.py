"""Every `fengqiao` command the operator's guide shows exists, with the options it shows, and
every deploy/ file it names is there."""

import re
import shlex
from pathlib import Path

import pytest

from tests.support.cli import option_names, resolve

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "operations.md"
FENGQIAO = re.compile(r"(?:^|[\s`]|bin/)fengqiao ([a-z][^`#\n>|]*)")


def _command_lines() -> list[str]:
    text = GUIDE.read_text(encoding="utf-8")
    return sorted({m.group(1).strip() for m in FENGQIAO.finditer(text)})


def test_the_guide_shows_the_commands_an_operator_needs():
    shown = {" ".join(line.split()[:2]) for line in _command_lines()}
    for needed in ("keys new", "agreement sign", "agreement amend", "agreement nats-permissions",
                   "doctor --config", "node migrate", "log verify"):  # fmt: skip
        assert needed in shown, needed


@pytest.mark.parametrize("line", _command_lines())
def test_each_command_in_the_guide_exists_with_its_options(line: str):
    command, words = resolve(shlex.split(line))
    unknown = {w for w in words if w.startswith("--")} - option_names(command)
    assert not unknown, f"`fengqiao {line}`: no option {sorted(unknown)}"


def test_each_deploy_file_the_guide_names_exists():
    names = set(re.findall(r"deploy/[\w./-]+\w", GUIDE.read_text(encoding="utf-8")))
    assert names
    for name in names:
        assert (ROOT / name).exists(), name
