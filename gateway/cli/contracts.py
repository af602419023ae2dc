"""`fengqiao contracts`: the published description of the wire (AsyncAPI for the NATS side)."""

from pathlib import Path
from typing import Annotated

import typer

from services.bus.asyncapi import ASYNCAPI_FILE, render_asyncapi

app = typer.Typer(help="Generate the published contract documents.", no_args_is_help=True)
DIFFERS = 1


@app.command("asyncapi")
def asyncapi(
    out: Annotated[Path, typer.Option("--out", help="where the document goes")] = ASYNCAPI_FILE,
    check: Annotated[
        bool, typer.Option("--check", help="write nothing; exit 1 if the file differs")
    ] = False,
) -> None:
    """Write the AsyncAPI 3.0 document of the NATS side (channels, messages, envelope)."""
    text = render_asyncapi(out.resolve())
    current = out.read_text(encoding="utf-8") if out.is_file() else None
    if check:
        if current != text:
            typer.echo(f"{out} differs from the contracts: run `fengqiao contracts asyncapi`")
            raise typer.Exit(DIFFERS)
        typer.echo(f"{out} is up to date")
        return
    if current != text:
        out.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {out}" if current != text else f"{out} is up to date")
