"""Resolving `fengqiao ...` command lines written in docs and deployment files against the CLI."""

from typing import Any

import typer.main

from gateway.cli import create_app


def resolve(argv: list[str]) -> tuple[Any, list[str]]:
    """The command `fengqiao ARGV...` names and the words after it; AssertionError if none."""
    command: Any = typer.main.get_command(create_app())
    words = list(argv)
    while hasattr(command, "get_command") and words and not words[0].startswith("-"):
        found = command.get_command(command.context_class(command), words[0])
        assert found is not None, f"no command `fengqiao {' '.join(argv)}`"
        command, words = found, words[1:]
    assert not hasattr(command, "get_command"), f"`fengqiao {' '.join(argv)}` names a group"
    return command, words


def option_names(command: Any) -> set[str]:
    """Every `--option` spelling the command accepts."""
    return {name for param in command.params for name in param.opts if name.startswith("-")}
