"""The `--config` option every node command takes, and reading settings from it."""

import tomllib
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from gateway.cli.console import BadInput
from services.settings import NodeSettings, load_settings

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="node settings (TOML); FENGQIAO_* environment variables override it",
        envvar="FENGQIAO_CONFIG",
    ),
]


def node_settings(config: Path | None) -> NodeSettings:
    """Settings from the file and the environment, or one clear error."""
    if config is not None and not config.is_file():
        raise BadInput(f"{config}: no such settings file")
    try:
        return load_settings(config)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{config}: not valid TOML: {exc}") from None
    except ValidationError as exc:
        fields = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise BadInput(f"invalid node settings: {fields}") from None
