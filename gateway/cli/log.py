"""`fengqiao log verify`: prove, offline, that the node's exchange log is whole and unaltered."""

import asyncio
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from contracts.agreement import AgreementBook
from gateway.cli.console import BadInput, progress_bar, reporting_input_errors
from gateway.cli.settings_option import ConfigOption, node_settings
from services.bus.audit import Progress, StreamAudit, audit_store
from services.doctor.findings import Verdict
from services.doctor.host import check_store
from services.settings import NodeSettings
from services.store.database import Database

app = typer.Typer(
    help="Verify the exchange log (hash chains and signatures).", no_args_is_help=True
)


@app.command("verify")
def verify(config: ConfigOption = None) -> None:
    """Re-check every stream's hash chain and every signature; exit 1 on any problem."""
    with reporting_input_errors():
        settings = node_settings(config)
        with progress_bar(Console(stderr=True)) as progress:
            task = progress.add_task("envelopes checked", total=None)

            def checked(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            audits = asyncio.run(_audit(settings, config, checked))
    table = Table("direction", "partner", "envelopes", "chain head", "verdict")
    for a in audits:
        verdict = "intact" if not a.problems else f"{len(a.problems)} problem(s)"
        table.add_row(a.direction, a.partner, str(a.envelopes), a.head[:16] + "…", verdict)
    Console().print(table)
    problems = [f"{a.direction} {a.partner}: {p}" for a in audits for p in a.problems]
    for problem in problems:
        typer.echo(problem, err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"{len(audits)} stream(s) intact")


async def _audit(
    settings: NodeSettings, config: Path | None, on_progress: Progress | None = None
) -> list[StreamAudit]:
    """The audit of every stream, read in a snapshot: it can run beside the running node."""
    migrate = "fengqiao node migrate" + (f" --config {config}" if config else "")
    store = await check_store(settings.store_url, migrate)
    if store.verdict is not Verdict.OK:
        raise BadInput(f"{store.detail}; {store.fix}")
    db = Database.open(settings.store_url)
    try:
        async with db.snapshot() as conn:
            book = AgreementBook.from_paths(settings.agreements)
            return await audit_store(conn, book, on_progress)
    finally:
        await db.close()
