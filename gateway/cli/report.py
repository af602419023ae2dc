"""`fengqiao report export`: this node's semiannual figures, counted from its own store."""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from contracts.agreement import AgreementBook
from gateway.cli.console import BadInput, progress_bar, reporting_input_errors
from gateway.cli.settings_option import ConfigOption, migrated_store, node_settings
from gateway.routes.reports_export import NoPartnerInForce, report_parties
from services.reports.counting import COUNTING_STEPS, count_figures
from services.reports.export import ExportFormat, ReportExport, render
from services.reports.export_file import render_bytes
from services.reports.model import TooManyOpenItems
from services.reports.period import Period, UnknownPeriod
from services.settings import NodeSettings

app = typer.Typer(help="The semiannual report (半年报).", no_args_is_help=True)


@app.command("export")
def export(
    period: Annotated[str, typer.Option(help="a half year: 2026-H1 or 2026-H2")],
    fmt: Annotated[
        ExportFormat, typer.Option("--format", help="json, csv, xlsx or pdf")
    ] = ExportFormat.JSON,
    out: Annotated[
        Path | None, typer.Option(help="write here instead of stdout (required for xlsx, pdf)")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Count this node's figures for the period (a draft: not cosigned) and write them."""
    with reporting_input_errors():
        settings = node_settings(config)
        try:
            half = Period.parse(period)
        except UnknownPeriod as exc:
            raise BadInput(str(exc)) from None
        if fmt.binary and out is None:
            raise BadInput(f"{fmt.value} is a binary file: name it with --out")
        if out is not None and not out.parent.is_dir():
            raise BadInput(f"{out}: no folder {out.parent} to write it in")  # before counting
    console = Console(stderr=True)
    steps = [*COUNTING_STEPS, "render", "write"]
    with reporting_input_errors(), progress_bar(console) as progress:
        task = progress.add_task(f"{settings.jurisdiction} {half.name}", total=len(steps))

        def done(step: str) -> None:
            progress.update(task, advance=1, description=f"{half.name}: {step} done")

        report = asyncio.run(_count(settings, half, done))
        content = render(report, fmt).encode() if out is None else render_bytes(report, fmt)
        done("render")
        if out is not None:
            out.write_bytes(content)
        done("write")
    if out is None:
        typer.echo(content.decode(), nl=False)
        return
    console.print(f"{half.name} figures of {settings.jurisdiction} written to {out}")


async def _count(
    settings: NodeSettings, period: Period, on_step: Callable[[str], None]
) -> ReportExport:
    book = AgreementBook.from_paths(settings.agreements)
    today = datetime.now(UTC).date()
    try:
        parties = report_parties(book, settings.jurisdiction, period, today)
    except NoPartnerInForce as exc:
        raise BadInput(str(exc)) from None
    async with migrated_store(settings) as db, db.snapshot() as conn:
        try:
            figures = await count_figures(
                conn, settings.jurisdiction, parties.partners, period, on_step=on_step
            )
        except TooManyOpenItems as exc:
            raise BadInput(str(exc)) from None
    return ReportExport(
        period.name, settings.jurisdiction, parties.partners, figures, names=parties.names
    )
