"""The `--config` option every node command takes, and reading settings from it."""

import tomllib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from gateway.cli.console import BadInput
from services.settings import NodeSettings, load_settings
from services.store.database import Database

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
    except UnicodeDecodeError:  # TOML is UTF-8; a file saved as GBK, or not a text at all
        raise BadInput(f"{config}: not UTF-8 text") from None
    except ValidationError as exc:
        fields = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise BadInput(f"invalid node settings: {fields}") from None


@asynccontextmanager
async def migrated_store(settings: NodeSettings) -> AsyncIterator[Database]:
    """The node's store alone (no keys, no NATS), created or migrated if need be, closed after:
    what the commands that work on the store open, beside the running node or before it."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database.open(settings.store_url)
    try:
        await db.migrate()
        yield db
    finally:
        await db.close()
