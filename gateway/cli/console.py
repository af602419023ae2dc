"""What every command group shares: reading the operator's input and reporting their mistakes.

A mistake in the input (a missing file, bad YAML, an invalid field, a wrong or missing key, a
store that cannot be opened) is printed as
`error: ...` on stderr and ends the command with exit code 2; it never shows a traceback.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import NoReturn

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from contracts.agreement import AgreementFileError, InvalidAgreement, SigningRefused
from contracts.keys import read_signing_key
from services.bus.catch_up import StoreBehindStream
from services.bus.transport import StreamConflict
from services.keyring import KeysMissing, KeysUnreadable, read_key_file
from services.store.database import StoreUnavailable

USAGE_ERROR = 2
"""Exit code for input the operator must fix (click uses the same for bad options)."""


class BadInput(ValueError):
    """An option or argument the command cannot use; the message says why in one line."""


@contextmanager
def reporting_input_errors(files: bool = True) -> Iterator[None]:
    """Turn the operator's mistakes into one `error:` line (plus the list of fields) and exit 2.
    With `files=False` an OSError is let through: around a running node it is not a file the
    operator named."""
    try:
        yield
    except InvalidAgreement as exc:
        fail(f"{exc.where}invalid agreement:", details=exc.problems)
    except (
        AgreementFileError,
        SigningRefused,
        BadInput,
        KeysMissing,
        KeysUnreadable,
        StoreUnavailable,
        StoreBehindStream,
        StreamConflict,
    ) as exc:
        fail(str(exc))
    except OSError as exc:  # a file the operator named cannot be read or written
        if not files:
            raise
        fail(f"{exc.filename or 'file'}: {exc.strerror or exc}")


def fail(message: str, details: list[str] | None = None) -> NoReturn:
    """Print `error: message` (and each detail on its own line) to stderr; exit 2."""
    typer.echo(f"error: {message}", err=True)
    for detail in details or []:
        typer.echo(f"  - {detail}", err=True)
    raise typer.Exit(USAGE_ERROR)


def today() -> date:
    """Today's date in UTC, the calendar agreements and keys are checked against."""
    return datetime.now(UTC).date()


def parse_day(text: str | None, option: str) -> date:
    """A `YYYY-MM-DD` option value (today when not given)."""
    if text is None:
        return today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadInput(f"{option} {text!r} is not a date (YYYY-MM-DD)") from None


def parse_moment(text: str, option: str) -> datetime:
    """A day (`YYYY-MM-DD`, midnight UTC) or an RFC 3339 time with an offset."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"{option} {text!r} is not a date (YYYY-MM-DD) or a time") from None
    if moment.tzinfo is None:
        if len(text) > len("YYYY-MM-DD"):
            raise BadInput(f"{option} {text!r} has no UTC offset (add Z or +08:00)")
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00:00-05:00 is in year 10000 in UTC
        raise BadInput(f"{option} {text!r} is out of range") from None


def read_signing_key_file(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in a PKCS#8 PEM file, or KeysUnreadable saying what is wrong."""
    return read_key_file(path, read_signing_key)


def progress_bar(console: Console) -> Progress:
    """A progress bar on `console` (stderr, so that stdout carries only the result), gone
    when done."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def stdout_console() -> Console:
    """A rich console on stdout; its width follows the terminal (or COLUMNS)."""
    return Console(highlight=False)
