"""`fengqiao keys`: a jurisdiction's private keys, created on the machine that will use them."""

import re
from datetime import MAXYEAR, UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from contracts.canonical import b64encode
from contracts.keys import KeyUse, key_id, public_raw, write_private_pem
from gateway.cli.console import BadInput, parse_moment, reporting_input_errors

app = typer.Typer(help="Create a jurisdiction's signing and encryption keys.", no_args_is_help=True)

DEFAULT_YEARS = 3
JURISDICTION = re.compile(r"^[a-z0-9-]{1,64}$")
PrivateKey = Ed25519PrivateKey | X25519PrivateKey


def key_file(directory: Path, jurisdiction: str, use: KeyUse) -> Path:
    """Where `keys new` puts a private key: `<dir>/<jurisdiction>.<sig|enc>.pem`."""
    return directory / f"{jurisdiction}.{use}.pem"


def format_moment(moment: datetime) -> str:
    """RFC 3339 UTC with `Z`, as agreement files write key validity."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def key_entry(
    jurisdiction: str, use: KeyUse, key: PrivateKey, window: tuple[datetime, datetime], indent: int
) -> list[str]:
    """The YAML lines of one key as it goes under `keys:` of its party in the agreement."""
    raw = public_raw(key)
    pad = " " * indent
    # Every value quoted: a YAML 1.1 reader elsewhere would otherwise turn times into dates.
    return [
        f'{pad}- kid: "{key_id(jurisdiction, use, raw)}"',
        f'{pad}  use: "{use}"',
        f'{pad}  public: "{b64encode(raw)}"',
        f'{pad}  valid_from: "{format_moment(window[0])}"',
        f'{pad}  valid_until: "{format_moment(window[1])}"',
    ]


def _window(valid_from: str | None, valid_until: str | None) -> tuple[datetime, datetime]:
    now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = parse_moment(valid_from, "--valid-from") if valid_from else now
    end = parse_moment(valid_until, "--valid-until") if valid_until else _years_later(start)
    if end <= start:
        raise BadInput("--valid-until must be after --valid-from")
    return start, end


def _years_later(start: datetime) -> datetime:
    if start.year + DEFAULT_YEARS > MAXYEAR:
        raise BadInput(f"--valid-from {start.date()} is too late for a default --valid-until")
    try:
        return start.replace(year=start.year + DEFAULT_YEARS)
    except ValueError:  # 29 February
        return start.replace(year=start.year + DEFAULT_YEARS, day=28)


def _write_new_keys(directory: Path, jurisdiction: str, keys: dict[KeyUse, PrivateKey]) -> None:
    paths = {use: key_file(directory, jurisdiction, use) for use in keys}
    existing = [str(p) for p in paths.values() if p.exists()]
    if existing:
        raise BadInput(f"refusing to overwrite {', '.join(existing)} (move old keys away first)")
    for use, key in keys.items():
        try:
            write_private_pem(paths[use], key)
        except FileExistsError:
            raise BadInput(f"refusing to overwrite {paths[use]}") from None
        except OSError as exc:
            raise BadInput(f"{paths[use]}: {exc.strerror or exc}") from None


@app.command("new")
def new(
    jurisdiction: Annotated[
        str, typer.Option("--jurisdiction", "-j", help="jurisdiction id, e.g. dongguan-dalang")
    ],
    directory: Annotated[
        Path, typer.Option("--dir", help="where the private keys are written")
    ] = Path("keys"),
    valid_from: Annotated[
        str | None, typer.Option(help="first day the keys may be used (default: today)")
    ] = None,
    valid_until: Annotated[
        str | None, typer.Option(help=f"day they stop (default: {DEFAULT_YEARS} years later)")
    ] = None,
    indent: Annotated[int, typer.Option(help="indentation of the printed YAML", min=0)] = 6,
) -> None:
    """Write an Ed25519 signing key and an X25519 encryption key; print their agreement entries."""
    with reporting_input_errors():
        if not JURISDICTION.match(jurisdiction):
            raise BadInput(f"jurisdiction {jurisdiction!r} must be lower-case letters, digits, -")
        window = _window(valid_from, valid_until)
        keys: dict[KeyUse, PrivateKey] = {
            "sig": Ed25519PrivateKey.generate(),
            "enc": X25519PrivateKey.generate(),
        }
        _write_new_keys(directory, jurisdiction, keys)
    for use in keys:
        typer.echo(
            f"wrote {key_file(directory, jurisdiction, use)} (private: keep it here)", err=True
        )
    typer.echo(f"# {jurisdiction}: paste under `keys:` of this party in the agreement")
    for use, key in keys.items():
        typer.echo("\n".join(key_entry(jurisdiction, use, key, window, indent)))
