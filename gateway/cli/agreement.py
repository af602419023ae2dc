"""`fengqiao agreement`: sign, verify, show and amend a cooperation agreement file."""

from pathlib import Path
from typing import Annotated

import typer

from contracts.agreement import (
    Agreement,
    AgreementFileError,
    LoadedAgreement,
    key_warnings,
    load_agreement,
    signed_only_with_new_keys,
)
from contracts.agreement_text import (
    amendment_path,
    amendment_text,
    sign_file,
    write_atomically,
)
from gateway.cli.agreement_show import render_agreement
from gateway.cli.console import (
    BadInput,
    parse_day,
    read_signing_key_file,
    reporting_input_errors,
    stdout_console,
)
from services.bus.permissions import NotAParty, authorization_block, node_permissions

app = typer.Typer(
    help="Sign, verify, show and amend a cooperation agreement.", no_args_is_help=True
)

FileArgument = Annotated[Path, typer.Argument(help="the agreement file (YAML)")]
OnOption = Annotated[
    str | None, typer.Option("--on", help="the day to check, YYYY-MM-DD (default: today, UTC)")
]
NOT_IN_FORCE = 1


@app.command("sign")
def sign(
    file: FileArgument,
    key: Annotated[Path, typer.Option("--key", help="the party's signing key (PKCS#8 PEM)")],
    party: Annotated[str, typer.Option("--party", help="the jurisdiction signing")],
) -> None:
    """Sign the agreement as PARTY; only the file's `signatures:` block is rewritten."""
    with reporting_input_errors():
        signing_key = read_signing_key_file(key)
        loaded = sign_file(file, party, signing_key)
    a = loaded.agreement
    waiting = [p.id for p in a.parties if p.id not in loaded.signed_by()]
    mine = next(s for s in a.signatures if s.party == party)
    typer.echo(f"signed {a.ref} as {party} with {mine.kid}")
    typer.echo(f"still to sign: {', '.join(waiting)}" if waiting else "signed by every party")


@app.command("verify")
def verify(file: FileArgument, on: OnOption = None) -> None:
    """Exit 0 if the agreement is in force on the day; else exit 1 and list every problem."""
    with reporting_input_errors():
        day = parse_day(on, "--on")
        loaded = load_agreement(file)
    a = loaded.agreement
    for warning in key_warnings(a, day) + _amendment_warnings(file, loaded):
        typer.echo(f"warning: {warning}", err=True)
    problems = loaded.problems(day)
    if problems:
        typer.echo(f"{a.ref} is NOT in force on {day}:")
        for problem in problems:
            typer.echo(f"  - {problem}")
        raise typer.Exit(NOT_IN_FORCE)
    typer.echo(
        f"{a.ref} is in force on {day}: signed by {', '.join(loaded.signed_by())}; "
        f"effective {a.effective_from} to {a.effective_until}"
    )


def _amendment_warnings(file: Path, loaded: LoadedAgreement) -> list[str]:
    """For an amendment: the parties that signed it only with a key new in it (to confirm with
    them), checked against the version it supersedes, found beside it."""
    a = loaded.agreement
    if a.supersedes is None:
        return []
    superseded = _version_beside(file, a.id, a.supersedes)
    if superseded is None:
        return [f"version {a.supersedes}, which it supersedes, is not beside it: keys not compared"]
    return [
        f"{party} signed {a.ref} only with a key version {a.supersedes} does not list: "
        f"confirm with {party} that the key is theirs before installing it"
        for party in signed_only_with_new_keys(loaded, superseded)
    ]


def _version_beside(file: Path, agreement_id: str, version: int) -> Agreement | None:
    for path in sorted(file.parent.glob("*.yaml")):
        try:
            other = load_agreement(path).agreement
        except (OSError, ValueError):  # not an agreement file: not the one looked for
            continue
        if (other.id, other.version) == (agreement_id, version):
            return other
    return None


@app.command("show")
def show(file: FileArgument, on: OnOption = None) -> None:
    """Print the agreement as tables: parties, keys, catalogue, flows, personal data, signatures."""
    with reporting_input_errors():
        day = parse_day(on, "--on")
        loaded = load_agreement(file)
    render_agreement(stdout_console(), loaded, day)


@app.command("amend")
def amend(
    file: FileArgument,
    out: Annotated[
        Path | None, typer.Option("--out", help="the new file (default: <id>.v<N>.yaml beside)")
    ] = None,
) -> None:
    """Start the next version: version + 1, `supersedes` the old one, no signatures yet."""
    with reporting_input_errors():
        old = load_agreement(file).agreement
        target = out or amendment_path(file, old.version + 1)
        if target.exists():
            raise AgreementFileError(f"refusing to overwrite {target}")
        write_atomically(target, amendment_text(file.read_text(encoding="utf-8")))
    typer.echo(f"wrote {target}: {old.id}@{old.version + 1}, supersedes version {old.version}")
    typer.echo("edit it (new keys, revoked_at, flows), then every party signs it again")


@app.command("nats-permissions")
def nats_permissions(
    file: FileArgument,
    jurisdiction: Annotated[str, typer.Option("--jurisdiction", help="the node's party id")],
    password_env: Annotated[
        str,
        typer.Option(
            "--password-env", help="environment variable nats-server reads the password from"
        ),
    ] = "FENGQIAO_NATS_PASSWORD",
) -> None:
    """Print a nats-server `authorization` block: the node's user may publish only what the
    agreement lets JURISDICTION send, and receive what it may receive."""
    with reporting_input_errors():
        agreement = load_agreement(file).agreement
        try:
            permissions = node_permissions(agreement, jurisdiction)
        except NotAParty as exc:
            raise BadInput(str(exc)) from None
    typer.echo(authorization_block(permissions, password_env), nl=False)
