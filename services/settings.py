"""Node settings: environment variables (FENGQIAO_*) over a TOML file over safe defaults."""

from pathlib import Path

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from contracts import AGREEMENTS_DIR
from services.logs import LogFormat, LogLevel

STORE_DRIVERS = {"sqlite://": "sqlite+aiosqlite://", "postgresql://": "postgresql+asyncpg://"}
"""The stores a node opens, SQLite (embedded) and PostgreSQL, and the async driver of each."""
STORE_SCHEMES = (*STORE_DRIVERS, *STORE_DRIVERS.values())


class Partner(BaseModel):
    """A partner jurisdiction and the JetStream domain its region runs."""

    jurisdiction: str = Field(pattern=r"^[a-z0-9-]+$")
    domain: str = Field(pattern=r"^[A-Za-z0-9_-]+$")


class NodeSettings(BaseSettings):
    """Everything a node needs to start; nothing else is read from the environment."""

    model_config = SettingsConfigDict(
        env_prefix="FENGQIAO_", env_nested_delimiter="__", extra="forbid"
    )

    jurisdiction: str = Field(pattern=r"^[a-z0-9-]+$")
    data_dir: Path = Path("var")
    database_url: str | None = Field(
        default=None, description="default: SQLite file <data_dir>/<jurisdiction>.db"
    )
    nats_url: str | None = Field(
        default=None,
        description="one URL, or several comma-separated (a cluster); "
        "default: start an embedded nats-server in <data_dir>",
    )
    js_domain: str = Field(default="", description="this region's JetStream domain")
    stream_replicas: int = Field(
        default=1, ge=1, le=5, description="3 where the region runs a 3-node JetStream cluster"
    )
    partners: list[Partner] = []
    agreements: list[Path] = Field(default_factory=lambda: sorted(AGREEMENTS_DIR.glob("*.yaml")))
    keys_dir: Path | None = Field(default=None, description="default: <data_dir>/keys")
    max_clock_skew_s: float = 300.0
    max_envelope_bytes: int = 512 * 1024
    relay_batch: int = Field(
        default=1024,
        ge=1,
        description="envelopes the relay publishes a round; under load a round must carry at "
        "least what one sending transaction adds, or the outbox grows behind the senders",
    )
    relay_batch_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1,
        description="bytes of envelopes a relay round reads and publishes at most (one larger "
        "envelope goes alone): material chunks are ~470 KB each",
    )
    verify_workers: int | None = Field(
        default=None,
        ge=0,
        description="processes checking fetched batches; default CPUs - 1",
    )
    receipt_interval_s: float = 1.0
    gap_repair_after_s: float = Field(
        default=5.0, description="how long a gap in a partner's stream may stay open"
    )
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    console_idle_minutes: int = Field(
        default=30, ge=1, le=24 * 60, description="a console session unused this long is signed out"
    )
    log_format: LogFormat = Field(
        default="json", description="json: one JSON object a line (for journald); or text"
    )
    log_level: LogLevel = "INFO"

    @field_validator("database_url")
    @classmethod
    def _store_url(cls, url: str | None) -> str | None:
        """A URL of a store the node opens, refused here rather than when it is first opened."""
        if url is None:
            return None
        if not url.startswith(STORE_SCHEMES):
            scheme = url.split("://", 1)[0] + "://" if "://" in url else url[:20]
            raise ValueError(
                f"{scheme} is not a store fengqiao opens: sqlite:///<file> or "
                "postgresql://<user>@<host>/<database>"
            )
        try:
            query = make_url(url).query
        except (ArgumentError, ValueError):
            raise ValueError("not a database URL (scheme://user@host:port/database)") from None
        if "sslmode" in query:
            raise ValueError("sslmode is libpq's: asyncpg takes ssl=require (or verify-full)")
        return url

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls)

    @property
    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / f'{self.jurisdiction}.db'}"

    @property
    def key_directory(self) -> Path:
        return self.keys_dir or self.data_dir / "keys"


def load_settings(config_file: Path | None = None, **overrides: object) -> NodeSettings:
    """Settings from `config_file` (TOML), the environment and `overrides`, in rising priority."""
    if config_file is None:
        return NodeSettings(**overrides)  # type: ignore[arg-type]

    class FromFile(NodeSettings):
        model_config = SettingsConfigDict(toml_file=config_file)

    return FromFile(**overrides)  # type: ignore[arg-type]


def without_password(url: str) -> str:
    """`url` fit to show: its password left out."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    return f"{scheme}://{credentials.split(':', 1)[0]}@{host}"
